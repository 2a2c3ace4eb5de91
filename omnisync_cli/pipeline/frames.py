"""Source frames by index, for output plans that run forward and, in ping-pong, backward.

Forward runs decode sequentially; a jump (backward, or far ahead) decodes a small block of
frames from the nearest keyframe and serves the following requests from it. At most one
block of frames is ever held.
"""

from typing import Protocol


class RandomAccessVideo(Protocol):
    def iter_frames(self): ...

    def read_frames(self, start: int, stop: int) -> list: ...


class SourceFrames:
    def __init__(self, reader: RandomAccessVideo, frame_count: int, block: int = 16):
        self._reader = reader
        self._count = frame_count
        self._block = block
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
        if backward:
            start = max(0, index - self._block + 1)
            frames = self._reader.read_frames(start, index + 1)
        else:
            frames = self._reader.read_frames(index, min(self._count, index + self._block))
        self._cache = {f.index: f for f in frames}
        self._sequential = None
        return self._cache[index]

    def _decode_forward_to(self, index: int):
        while True:
            frame = next(self._sequential)
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
