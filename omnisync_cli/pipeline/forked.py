"""A call run in a forked child process while this process does other work: a dub's tracking
pass runs there while the model loads (pipeline.dub.dub). Both mostly hold Python's GIL
(PyTorch's import, MediaPipe's calls), so two threads would take turns; two processes use
two cores.

The call forks only on Linux, from a process that runs no other thread yet (forking one that
does can deadlock the child) and whose stdout and stderr are real files (the child's
warnings and progress lines must reach the same place as the parent's). Elsewhere the call
runs in this process when its result is first asked for. Its value and any exception it
raises come back through a pipe, pickled.
"""

import io
import multiprocessing
import sys
import threading
from typing import Any, Callable


def can_fork() -> bool:
    """Whether a call may run in a forked child here (see the module's note)."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return False
    try:
        sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # captured in memory (a test runner)
        return False
    return True


class ForkedCall:
    """`function(*args)` started in a forked child (where `can_fork`), or kept to run here."""

    def __init__(self, function: Callable[..., Any], *args: Any):
        self._function, self._args = function, args
        self._process = self._receive = None
        if not can_fork():
            return
        sys.stdout.flush()  # what waits in the buffers would otherwise be written twice
        sys.stderr.flush()
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_send_result, args=(send, function, args), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> Any:
        """The call's value, or its exception raised here. A child that died without an answer
        (killed, out of memory, a value that would not pickle) is not the call's fault: the
        call then runs here."""
        if self._process is None:
            return self._function(*self._args)
        try:
            answer = self._receive.recv()
        except EOFError:
            answer = None
        finally:
            self.cancel()
        if answer is None:
            return self._function(*self._args)
        ok, value = answer
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child if it still runs; nothing is left of it afterwards."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
        self._process = None


def _send_result(send, function: Callable[..., Any], args: tuple) -> None:
    try:
        answer = (True, function(*args))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        answer = (False, error)
    send.send(answer)
    send.close()
