"""Stopping on SIGTERM and SIGHUP exactly as on Ctrl-C: unwind, remove the partial output, exit.

Python turns SIGINT into KeyboardInterrupt, which runs every `with` block's exit on the way
out, so `VideoWriter` deletes its partial file. SIGTERM (what `timeout`, batch schedulers and
`kill` send) and SIGHUP (a closed terminal, a dropped SSH session) would end the process on
the spot and leave the partial file beside the output. Inside `stop_on_signals()` all three
raise `Stopped`, which unwinds the same way.

A long loop (training) asks instead to be told: inside `stop_requested()` the first signal is
only recorded, the loop stops at its next step as a time budget would stop it (checkpoint and
weights written) and then raises `Stopped` itself; a second signal raises at once.

SIGKILL cannot be caught. What it leaves is the writer's hidden partial file
(`.<name>.<random>.partial.mp4`), never a file at the output path; the next run that
finishes the same output removes it, and `batch-dub` redoes the item because its output
does not exist.
"""

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


class Stopped(SystemExit):
    """Raised by the handler of a stop signal; exits with the shell's code, 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name


def _stop_signals() -> tuple[signal.Signals, ...]:
    return (signal.SIGTERM, signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))


@dataclass
class StopRequest:
    signal: int | None = None  # the first stop signal received inside `stop_requested`

    def raise_if_asked(self) -> None:
        if self.signal is not None:
            raise Stopped(self.signal)


@contextmanager
def _handling(handler) -> Iterator[None]:
    """`handler` for every stop signal inside the block, the previous handlers after it."""
    previous = {sig: signal.signal(sig, handler) for sig in _stop_signals()}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def stop_requested() -> Iterator[StopRequest]:
    """Inside the block, a stop signal is recorded in the yielded request (a second one raises
    `Stopped` at once); outside the main thread, where handlers cannot be set, nothing is."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame) -> None:
        if request.signal is not None:
            raise Stopped(signum)
        request.signal = signum

    with _handling(handler):
        yield request


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP (where there is one) raise `Stopped` in the main thread while
    inside the block."""
    def handler(signum: int, frame) -> None:
        raise Stopped(signum)

    with _handling(handler):
        yield
