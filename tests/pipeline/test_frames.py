"""SourceFrames serves any output plan with the very frames sequential decoding gives, and
takes the cheap path for each kind of request: sequential for small steps forward, one block
read for a jump ahead (longer than a block) or back."""

import numpy as np
import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.frames import SourceFrames, block_frames
from tests.media.clips import write_clip


class CountingReader:
    """A 100-frame video of integers that records how it is read."""

    def __init__(self, count=100):
        self.count = count
        self.calls = []
        self.sequential_reads = 0

    def iter_frames(self):
        self.calls.append(("iter",))
        for index in range(self.count):
            self.sequential_reads += 1
            yield FakeFrame(index)

    def read_frames(self, start, stop):
        self.calls.append(("read", start, stop))
        return [FakeFrame(i) for i in range(start, min(stop, self.count))]


class FakeFrame:
    def __init__(self, index):
        self.index = index


def test_small_steps_forward_decode_sequentially():
    reader = CountingReader()
    source = SourceFrames(reader, frame_count=100, block=16)
    source.start()
    assert [source.get(i).index for i in (0, 1, 2, 5, 20)] == [0, 1, 2, 5, 20]
    assert reader.calls == [("iter",)] and reader.sequential_reads == 21


def test_a_jump_ahead_longer_than_a_block_reads_one_block_from_there():
    reader = CountingReader()
    source = SourceFrames(reader, frame_count=100, block=16)
    source.start()
    source.get(0)
    assert source.get(60).index == 60  # 59 frames ahead: no decoding of the 59 in between
    assert reader.calls == [("iter",), ("read", 60, 76)] and reader.sequential_reads == 1
    assert [source.get(i).index for i in (61, 75)] == [61, 75]  # served from the block
    assert source.get(90).index == 90 and reader.calls[-1] == ("read", 90, 100)  # clipped at the end


def test_a_step_back_reads_the_block_ending_there():
    reader = CountingReader()
    source = SourceFrames(reader, frame_count=100, block=16)
    source.start()
    for i in range(31):
        source.get(i)
    assert [source.get(i).index for i in (29, 28, 14)] == [29, 28, 14]
    assert reader.calls[1:] == [("read", 14, 30)]  # 29 and 28 from one block; 14 too
    assert source.get(3).index == 3 and reader.calls[-1] == ("read", 0, 4)


@pytest.mark.parametrize("plan", [[0, 1, 2, 30, 31, 45, 44, 43, 10, 11, 47],  # jumps both ways
                                  list(range(48)) + list(range(46, -1, -1))])  # ping-pong
def test_a_real_video_gives_the_sequential_pixels_for_any_plan(tmp_path, plan):
    write_clip(tmp_path / "in.mp4", n_frames=48, width=32, height=32,
               options={"preset": "ultrafast", "crf": "20", "g": "12", "bf": "2"})
    with VideoReader(tmp_path / "in.mp4") as reader:
        truth = [f.image for f in reader.iter_frames()]
        source = SourceFrames(reader, frame_count=len(truth), block=8)
        source.start()
        for k in plan:
            frame = source.get(k)
            assert frame.index == k and np.array_equal(frame.image, truth[k]), k


def test_blocks_of_large_pictures_stay_within_the_memory_budget():
    assert block_frames(640, 480) == 16
    assert block_frames(1920, 1080) == 16  # 8.9 MiB a frame: 16 fit in 256 MiB
    assert block_frames(3840, 2160) == 7  # 36 MiB a frame
    assert block_frames(16384, 16384) == 2  # never fewer than two


class MisseekingReader(CountingReader):
    """Its seeks land elsewhere (timestamps that repeat: recordings joined end to end)."""

    path = "joined.ts"

    def read_frames(self, start, stop):
        self.calls.append(("read", start, stop))
        return [FakeFrame(i) for i in range(0, min(stop - start, self.count))]


def test_a_seek_that_lands_elsewhere_decodes_from_the_first_frame_instead():
    reader = MisseekingReader(count=50)
    source = SourceFrames(reader, frame_count=50, block=8)
    source.start()
    assert [source.get(i).index for i in range(30)] == list(range(30))
    assert source.get(25).index == 25  # ping-pong's step back: the block read misses it
    assert reader.calls[-2:] == [("read", 18, 26), ("iter",)]
    assert source.get(26).index == 26 and source.get(10).index == 10
    with pytest.raises(InputError, match="joined.ts: source frame 70 cannot be decoded again"):
        source.get(70)  # beyond what decodes at all: one line, not a KeyError
