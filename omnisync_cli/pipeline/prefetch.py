"""Run a producer a few items ahead of its consumer, in a background thread.

Decoding (and colour conversion) and encoding release Python's lock inside FFmpeg, so on two
cores the next frames can be decoded while the face landmarker or the network works on the
current ones, and the finished frames encoded meanwhile. At most `depth` items wait in
between, so memory stays bounded whatever the video's length.

    for frame in prefetched(reader.iter_frames(), depth=8):   # decode ahead
        ...
    with Drain(writer.write_planes, depth=8) as write:         # encode behind
        write(planes)

An exception in the background thread is raised in the consumer at the point it would
have arisen without the thread; a consumer that stops early stops the producer.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def _put(items: queue.Queue, item, stop: threading.Event) -> bool:
    """Put `item` unless told to stop meanwhile; False if stopped."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def prefetched(source: Iterable[T], depth: int = 8) -> Iterator[T]:
    """The items of `source`, produced up to `depth` ahead in a background thread."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if not _put(items, item, stop):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            _put(items, _Failed(error), stop)
            return
        _put(items, _DONE, stop)

    worker = threading.Thread(target=produce, name="omnisync-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


class Drain:
    """Calls `consume(item)` for every item given, in order, in a background thread; at most
    `depth` items wait. Leaving the `with` block waits for the last one; an exception in
    `consume` is raised by the next call, or on leaving."""

    def __init__(self, consume: Callable[[T], object], depth: int = 8):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._consume = consume
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="omnisync-drain", daemon=True)

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is _DONE:
                return
            if self._error is None and not self._stop.is_set():
                try:
                    self._consume(item)
                except BaseException as error:
                    self._error = error

    def __enter__(self) -> "Drain":
        self._worker.start()
        return self

    def __call__(self, item: T) -> None:
        self._raise_failure()
        self._items.put(item)

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self._stop.set()  # the consumer failed: drop what waits, do not encode it
        self._items.put(_DONE)
        self._worker.join()
        if kind is None:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
