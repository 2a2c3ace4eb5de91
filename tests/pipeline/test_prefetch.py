"""Decoding ahead and encoding behind in background threads: same items, same order, bounded
memory, errors where they would have been."""

import threading
import time

import pytest

from omnisync_cli.pipeline.prefetch import Drain, prefetched


def test_prefetched_yields_every_item_in_order():
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))
    assert list(prefetched([], depth=1)) == []


def test_prefetched_runs_at_most_depth_items_ahead():
    produced = []

    def source():
        for i in range(50):
            produced.append(i)
            yield i

    items = prefetched(source(), depth=4)
    assert next(items) == 0
    time.sleep(0.3)  # let the producer run as far as it may
    # queued (4) + the one it holds waiting for room + the one taken
    assert len(produced) <= 6
    items.close()


def test_an_error_in_the_producer_is_raised_in_the_consumer_after_the_good_items():
    def source():
        yield 1
        yield 2
        raise ValueError("damaged frame")

    seen = []
    with pytest.raises(ValueError, match="damaged frame"):
        for item in prefetched(source(), depth=8):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer():
    stopped = threading.Event()

    def source():
        try:
            for i in range(10**9):
                yield i
        finally:
            stopped.set()

    items = prefetched(source(), depth=2)
    for item in items:
        if item == 3:
            break
    items.close()
    assert stopped.wait(2.0)
    assert not any(t.name == "omnisync-prefetch" and t.is_alive() for t in threading.enumerate())


def test_drain_consumes_every_item_in_order_before_the_block_ends():
    out = []
    with Drain(lambda x: (time.sleep(0.001), out.append(x)), depth=2) as write:
        for i in range(30):
            write(i)
    assert out == list(range(30))


def test_drain_raises_the_consumers_error():
    def consume(x):
        if x == 5:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with Drain(consume, depth=2) as write:
            for i in range(10):
                write(i)
                time.sleep(0.01)  # the error surfaces at a later call or on leaving


def test_drain_drops_the_waiting_items_when_the_block_fails():
    out = []
    with pytest.raises(RuntimeError):
        with Drain(lambda x: (time.sleep(0.02), out.append(x)), depth=8) as write:
            for i in range(8):
                write(i)
            raise RuntimeError("the editor failed")
    assert len(out) < 8  # not every queued frame was encoded after the failure
