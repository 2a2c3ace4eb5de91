"""Overlapping fixed-length segments over a stream of any length, cross-faded without seams.

The editor sees `segment_frames` frames at a time. Consecutive segments share
`overlap_frames` frames; in the shared frames the output fades linearly from the earlier
segment's edit to the later one's, so a change in the model's output between segments never
shows as a jump. Only one segment (plus its overlap) is held at a time, whatever the length
of the video. An item that starts a new shot (`SegmentItem.new_shot`, after a cut) starts a
new segment: no segment holds two shots, and nothing is faded across a cut.
"""

from collections import deque
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
    new_shot: bool = False  # the first frame after a cut: starts a segment of its own


def crossfade_weights(overlap: int) -> np.ndarray:
    """Weight of the later segment on each shared frame: (1 .. overlap) / (overlap + 1)."""
    return np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1)


EditFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def edit_in_segments(items: Iterable[SegmentItem], edit: EditFn, segment_frames: int,
                     overlap_frames: int) -> Iterator[tuple[SegmentItem, np.ndarray]]:
    """Yield (item, edited crop) in input order.

    edit(crops (F,S,S,3), times (F,), mouth_xy (F,2)) -> (F,S,S,3) uint8 with F = segment_frames.
    A last segment that is short is padded by repeating its final frame; the padding is
    edited with the rest and dropped.
    """
    if segment_frames < 1 or not 0 <= overlap_frames < segment_frames:
        raise ConfigError(f"segments need 0 <= overlap ({overlap_frames}) < length ({segment_frames})")
    fade = crossfade_weights(overlap_frames)
    pending: list[SegmentItem] = []
    carried: np.ndarray | None = None  # earlier segment's edits of the first pending frames

    def run(batch: list[SegmentItem]) -> np.ndarray:
        padded = batch + [batch[-1]] * (segment_frames - len(batch))
        out = edit(np.stack([i.crop for i in padded]), np.array([i.time for i in padded]),
                   np.stack([i.mouth_xy for i in padded]))
        out = out[: len(batch)].astype(np.float32)
        if carried is not None:
            shared = len(carried)
            w = fade[:shared, None, None, None]
            out[:shared] = (1 - w) * carried + w * out[:shared]
        return out

    def finished() -> Iterator[tuple[SegmentItem, np.ndarray]]:
        """The pending items' final edits, at the end of the stream or of a shot."""
        if pending and (carried is None or len(pending) > len(carried)):
            out = run(pending)
        else:
            out = carried  # only already-edited overlap frames remain: their last edit is final
        for it, crop in zip(pending, out if pending else ()):
            yield it, _to_uint8(crop)

    for item in items:
        if item.new_shot and pending:
            yield from finished()
            pending, carried = [], None
        pending.append(item)
        if len(pending) == segment_frames:
            out = run(pending)
            keep = segment_frames - overlap_frames
            for it, crop in zip(pending[:keep], out[:keep]):
                yield it, _to_uint8(crop)
            pending, carried = pending[keep:], out[keep:]
            if not pending:
                carried = None
    yield from finished()


def edit_at_cadence(items: Iterable[SegmentItem], edit: EditFn, segment_frames: int, overlap_frames: int,
                    every: int) -> Iterator[tuple[SegmentItem, np.ndarray]]:
    """`edit_in_segments` over every `every`-th item of each shot (the key items, the shot's
    first one included); yields (item, edited crop) for every item in input order. An item
    between two keys of its shot gets the keys' edits (edited - crop) blended by its place
    between them, added to its own crop; items after the last key of a shot take its edit.
    every = 1: every item is edited."""
    if every <= 1:
        yield from edit_in_segments(items, edit, segment_frames, overlap_frames)
        return
    key_places: deque[int] = deque()  # places of the key items fed to the editor, in order
    between: deque[tuple[int, SegmentItem]] = deque()  # (place, item) of the others, in order

    def keys() -> Iterator[SegmentItem]:
        shot_start = 0
        for place, item in enumerate(items):
            if item.new_shot:
                shot_start = place
            if (place - shot_start) % every == 0:
                key_places.append(place)
                yield item
            else:
                between.append((place, item))

    last_place, last_edit = 0, None
    for item, edited in edit_in_segments(keys(), edit, segment_frames, overlap_frames):
        place = key_places.popleft()
        change = edited.astype(np.float32) - item.crop
        while between and between[0][0] < place:
            other_place, other = between.popleft()
            if item.new_shot:  # the last items of the shot before: its last key's edit
                yield other, _to_uint8(other.crop + last_edit)
                continue
            w = (other_place - last_place) / (place - last_place)
            yield other, _to_uint8(other.crop + (1 - w) * last_edit + w * change)
        yield item, edited
        last_place, last_edit = place, change
    while between:
        _, other = between.popleft()
        yield other, _to_uint8(other.crop + last_edit)


def _to_uint8(crop: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(crop), 0, 255).astype(np.uint8)
