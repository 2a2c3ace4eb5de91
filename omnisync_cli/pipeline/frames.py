"""Source frames by index, for output plans that run forward and, in ping-pong, backward.

Forward runs decode sequentially; a jump (backward, or far ahead) decodes a small block of
frames from the nearest keyframe and serves the following requests from it. At most one
block of frames is ever held: 16 frames, fewer for large pictures so that a block stays
within BLOCK_BYTES (a 4K frame, RGB and YUV, is 36 MiB: 7 of them).
"""

from pathlib import Path
from typing import Any, Protocol

from omnisync_cli.errors import InputError
from omnisync_cli.media.video import VideoInfo


class RandomAccessVideo(Protocol):
    info: Any  # a media.video.VideoInfo; only its width and height are read
    path: Path

    def iter_frames(self): ...

    def read_frames(self, start: int, stop: int) -> list: ...


BLOCK_FRAMES = 16
BLOCK_BYTES = 256 * 2**20


def block_frames(width: int, height: int) -> int:
    """Frames per block for pictures of this size: 16, or as many as fit BLOCK_BYTES (>= 2)."""
    frame_bytes = width * height * 9 // 2  # RGB (3 bytes a pixel) + YUV 4:2:0 (1.5)
    return max(2, min(BLOCK_FRAMES, BLOCK_BYTES // frame_bytes))


class SourceFrames:
    def __init__(self, reader: RandomAccessVideo, frame_count: int, block: int | None = None):
        """`block` frames are decoded per jump; None: `block_frames` of the reader's size."""
        self._reader = reader
        self._count = frame_count
        self._block = block or block_frames(reader.info.width, reader.info.height)
        self._sequential = None  # open sequential decode, or None after a jump
        self._next = 0  # index the sequential decode yields next
        self._cache: dict = {}  # index -> media.video.Frame
        self._last = -1

    def get(self, index: int):
        """Decoded source frame `index` (a media.video.Frame: RGB image and YUV planes)."""
        backward = index < self._last
        self._last = index
        if index in self._cache:
            return self._cache[index]
        if not backward and self._sequential is not None and index >= self._next \
                and index - self._next < self._block:
            return self._decode_forward_to(index)
        self._cache = {}  # let the old block go before the new one is decoded
        if backward:
            start = max(0, index - self._block + 1)
            frames = self._reader.read_frames(start, index + 1)
        else:
            frames = self._reader.read_frames(index, min(self._count, index + self._block))
        self._cache = {f.index: f for f in frames}
        self._sequential = None
        if index not in self._cache:
            # The seek landed elsewhere: timestamps that repeat or jump back (recordings joined
            # end to end). Decoding from the first frame counts the frames right.
            self.start()
            self._last = index
            return self._decode_forward_to(index)
        return self._cache[index]

    def _decode_forward_to(self, index: int):
        while True:
            frame = next(self._sequential, None)
            if frame is None:
                raise InputError(f"{self._reader.path}: source frame {index} cannot be decoded again; the video's "
                                 "timestamps are damaged, re-encode it")
            self._next = frame.index + 1
            if frame.index == index:
                self._cache = {index: frame}
                return frame

    def start(self) -> None:
        """Begin sequential decoding from the first frame."""
        self._sequential = iter(self._reader.iter_frames())
        self._next = 0
        self._cache = {}
        self._last = -1


# Frames decoded ahead of (or waiting to be encoded behind) the stage that uses them: enough
# to cover one segment of the editor; fewer for large pictures (pipeline.frames.block_frames).
PREFETCH_FRAMES = 8


def prefetch_depth(info: VideoInfo) -> int:
    return min(PREFETCH_FRAMES, block_frames(info.width, info.height))
