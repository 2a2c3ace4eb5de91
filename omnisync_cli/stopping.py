"""Stopping on SIGTERM and SIGHUP exactly as on Ctrl-C: unwind, remove the partial output, exit.

Python turns SIGINT into KeyboardInterrupt, which runs every `with` block's exit on the way
out, so `VideoWriter` deletes its partial file. SIGTERM (what `timeout`, batch schedulers and
`kill` send) and SIGHUP (a closed terminal, a dropped SSH session) would end the process on
the spot and leave the partial file beside the output. Inside `stop_on_signals()` all three
raise `Stopped`, which unwinds the same way.

SIGKILL cannot be caught. What it leaves is the writer's hidden partial file
(`.<name>.<random>.partial.mp4`), never a file at the output path; the next run that
finishes the same output removes it, and `batch-dub` redoes the item because its output
does not exist.
"""

import signal
from contextlib import contextmanager
from typing import Iterator


class Stopped(SystemExit):
    """Raised by the handler of a stop signal; exits with the shell's code, 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP (where there is one) raise `Stopped` in the main thread while
    inside the block."""
    def handler(signum: int, frame) -> None:
        raise Stopped(signum)

    stops = (signal.SIGTERM, signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))
    previous = {sig: signal.signal(sig, handler) for sig in stops}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
