"""How the pipeline reports progress and warnings, without knowing who listens (the CLI
draws rich bars, or steady log lines when stderr is not a terminal)."""

from contextlib import contextmanager
from typing import Callable, Iterator, Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def stage(self, name: str, total: int | None) -> "contextmanager[Advance]":
        """Context for one stage of `total` steps; the yielded function advances it."""

    def warn(self, message: str) -> None:
        """One line about something the user should know but that does not stop the dub."""


class SilentProgress:
    """Reports nothing: the default for library use and tests."""

    @contextmanager
    def stage(self, name: str, total: int | None) -> Iterator[Advance]:
        yield lambda steps=1: None

    def warn(self, message: str) -> None:
        pass


class Labelled:
    """Another Progress with `label` in front of every stage name and warning, so a batch or
    a tune grid says which item or cell each bar and line belongs to."""

    def __init__(self, progress: Progress, label: str):
        self.progress = progress
        self.label = label

    def stage(self, name: str, total: int | None) -> "contextmanager[Advance]":
        return self.progress.stage(f"{self.label}: {name}", total)

    def warn(self, message: str) -> None:
        self.progress.warn(f"{self.label}: {message}")
