"""Wall time per named stage of a dub, for the --json summary."""

import time
from contextlib import contextmanager
from typing import Iterator


class StageClock:
    """`with clock("track"): ...` adds the block's wall seconds to `clock.seconds["track"]`."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 3)
