"""Overlapping fixed-length segments over a stream of any length, cross-faded without seams.

The editor sees `segment_frames` frames at a time. Consecutive segments share
`overlap_frames` frames; in the shared frames the output fades linearly from the earlier
segment's edit to the later one's, so a change in the model's output between segments never
shows as a jump. Only one segment (plus its overlap) is held at a time, whatever the length
of the video.
"""

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from omnisync_cli.errors import ConfigError


@dataclass
class SegmentItem:
    """One output frame on its way through the editor."""

    crop: np.ndarray  # (S, S, 3) uint8 working region of the source frame
    time: float  # seconds on the audio's clock
    mouth_xy: np.ndarray  # (2,) mouth centre inside the crop, in [0, 1]
    payload: Any = None  # whatever the caller needs back with the edit (frame, box, ...)


def crossfade_weights(overlap: int) -> np.ndarray:
    """Weight of the later segment on each shared frame: (1 .. overlap) / (overlap + 1)."""
    return np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1)


# edit(crops (K, F, S, S, 3), times (K, F), mouth_xy (K, F, 2)) -> (K, F, S, S, 3) uint8:
# K segments of F frames at once.
EditFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def one_at_a_time(edit: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> EditFn:
    """An EditFn from a function that edits one segment (crops (F, S, S, 3), ...)."""
    def edit_each(crops, times, mouth_xy):
        return np.stack([edit(c, t, m) for c, t, m in zip(crops, times, mouth_xy)])
    return edit_each


def edit_in_segments(items: Iterable[SegmentItem], edit: EditFn, segment_frames: int,
                     overlap_frames: int, batch: int = 1) -> Iterator[tuple[SegmentItem, np.ndarray]]:
    """Yield (item, edited crop) in input order.

    `edit` gets up to `batch` consecutive segments at a time (EditFn), each of
    `segment_frames` frames: a last segment that is short is padded by repeating its final
    frame, and the padding is edited with the rest and dropped.
    """
    if segment_frames < 1 or not 0 <= overlap_frames < segment_frames:
        raise ConfigError(f"segments need 0 <= overlap ({overlap_frames}) < length ({segment_frames})")
    if batch < 1:
        raise ConfigError(f"segments per call must be at least 1, got {batch}")
    fade = crossfade_weights(overlap_frames)
    step = segment_frames - overlap_frames
    pending: list[SegmentItem] = []
    carried: np.ndarray | None = None  # earlier segment's edits of the first pending frames

    def run(starts: list[int]) -> list[np.ndarray]:
        """Edit the segments of `pending` beginning at `starts`, cross-faded in turn with
        what the segment before each left (float32, unpadded)."""
        nonlocal carried
        segments = [pending[a:a + segment_frames] for a in starts]
        padded = [seg + [seg[-1]] * (segment_frames - len(seg)) for seg in segments]
        out = edit(np.stack([[i.crop for i in seg] for seg in padded]),
                   np.array([[i.time for i in seg] for seg in padded]),
                   np.stack([[i.mouth_xy for i in seg] for seg in padded]))
        edits = []
        for seg, edited in zip(segments, out):
            edited = edited[: len(seg)].astype(np.float32)
            if carried is not None:
                shared = min(len(carried), len(edited))
                w = fade[:shared, None, None, None]
                edited[:shared] = (1 - w) * carried[:shared] + w * edited[:shared]
            edits.append(edited)
            carried = edited[step:]
        return edits

    full = segment_frames + (batch - 1) * step  # frames that make `batch` whole segments
    for item in items:
        pending.append(item)
        if len(pending) == full:
            edits = run([k * step for k in range(batch)])
            for k, edited in enumerate(edits):
                for it, crop in zip(pending[k * step:(k + 1) * step], edited[:step]):
                    yield it, _to_uint8(crop)
            pending = pending[batch * step:]
            if not pending:
                carried = None
    if not pending:
        return
    if carried is not None and len(pending) <= len(carried):
        tail = carried  # only already-edited overlap frames remain: their last edit is final
    else:
        count = 1 + -(-max(0, len(pending) - segment_frames) // step)  # segments to cover the rest
        edits = run([k * step for k in range(count)])
        for k, edited in enumerate(edits[:-1]):
            for it, crop in zip(pending[k * step:(k + 1) * step], edited[:step]):
                yield it, _to_uint8(crop)
        pending, tail = pending[(count - 1) * step:], edits[-1]
    for it, crop in zip(pending, tail):
        yield it, _to_uint8(crop)


def _to_uint8(crop: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(crop), 0, 255).astype(np.uint8)
