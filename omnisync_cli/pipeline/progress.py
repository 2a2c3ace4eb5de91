"""How the pipeline reports progress, without knowing who listens (the CLI draws rich bars)."""

from contextlib import contextmanager
from typing import Callable, Iterator, Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def stage(self, name: str, total: int | None) -> "contextmanager[Advance]":
        """Context for one stage of `total` steps; the yielded function advances it."""


class SilentProgress:
    """Reports nothing: the default for library use and tests."""

    @contextmanager
    def stage(self, name: str, total: int | None) -> Iterator[Advance]:
        yield lambda steps=1: None
