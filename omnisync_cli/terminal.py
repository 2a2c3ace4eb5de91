"""Progress and warnings on stderr: rich bars at a terminal, steady plain lines in a log.

A bar redrawn in place means nothing in a log file, CI output or a scheduler's capture (rich
prints it once, when it ends: a 10-minute dub shows nothing for 10 minutes). There each
stage prints one line every `interval_s` seconds and one when it ends, never wrapped.
"""

import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Callable, Iterator, Optional

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

LOG_INTERVAL_S = 10.0  # seconds between progress lines when stderr is not a terminal


def _clock_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class TerminalProgress:
    """The CLI's `pipeline.progress.Progress`."""

    def __init__(self, console: Console, quiet: bool = False, interval_s: float = LOG_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.quiet = quiet
        self.interval_s = interval_s
        self.clock = clock

    def line(self, text: str) -> None:
        """One unwrapped line on stderr (log lines are read by people and by grep alike)."""
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def warn(self, message: str) -> None:
        """Printed even when quiet: a warning is not progress."""
        self.line(f"warning: {message}")

    @contextmanager
    def stage(self, name: str, total: Optional[int]) -> Iterator[Callable[[int], None]]:
        if self.quiet:
            yield lambda steps=1: None
        elif self.console.is_terminal:
            with self._bar(name, total) as advance:
                yield advance
        else:
            with self._log_lines(name, total) as advance:
                yield advance

    @contextmanager
    def _bar(self, name: str, total: Optional[int]) -> Iterator[Callable[[int], None]]:
        columns = [TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
        with Progress(*columns, console=self.console, transient=False) as bar:
            task = bar.add_task(name, total=total)
            done = 0

            def advance(steps: int = 1) -> None:
                nonlocal done
                done += steps
                bar.advance(task, steps)
                if total and done > total:  # more than the header counted (joined recordings): never over 100 %
                    bar.update(task, total=done)

            yield advance

    @contextmanager
    def _log_lines(self, name: str, total: Optional[int]) -> Iterator[Callable[[int], None]]:
        start = self.clock()
        done = 0
        next_line = start + self.interval_s

        def status() -> str:
            elapsed = self.clock() - start
            if not total:
                return f"{name}: {done} done, {_clock_text(elapsed)} elapsed"
            whole = max(total, done)  # more than the header counted (joined recordings): never over 100 %
            eta = elapsed / done * (whole - done) if done else None
            return (f"{name}: {done}/{whole} ({100 * done // whole}%), {_clock_text(elapsed)} "
                    f"elapsed, eta {_clock_text(eta) if eta is not None else '?'}")

        def advance(steps: int = 1) -> None:
            nonlocal done, next_line
            done += steps
            now = self.clock()
            if now >= next_line and done != total:  # the last step gets the closing line
                self.line(status())
                next_line = now + self.interval_s

        yield advance
        self.line(status())
