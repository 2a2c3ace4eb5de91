"""Reference frames for a model that takes them (model.config.reference_frames): crops of the
source video's working region at K moments spread over the frames the dub edits, so that the
network sees how this character's mouth looks at other moments than the segment it edits.

    indices = reference_indices(track, count)            # pure: which source frames
    crops = reference_crops(video, track, size, count)   # (K, S, S, 3) uint8, or None

Training draws its references the same way in distribution (train.data: frames of the
condition's rendering at random moments).
"""

from pathlib import Path

import numpy as np

from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.window import crop_from_window, window_of


def spread(n: int, count: int) -> np.ndarray:
    """(count,) positions in range(n) at the middles of `count` equal shares (repeats when n <
    count); empty when n or count is 0."""
    if n <= 0 or count <= 0:
        return np.zeros(0, dtype=int)
    return ((np.arange(count) + 0.5) * n / count).astype(int)


def reference_indices(track: MouthTrack, count: int) -> np.ndarray:
    """(count,) source frame indices spread over the frames the track edits; empty when it
    edits none."""
    editable = np.arange(len(track)) if track.edit is None else np.flatnonzero(track.edit)
    return editable[spread(len(editable), count)]


def reference_crops(video: Path, track: MouthTrack, size: int, count: int) -> np.ndarray | None:
    """(count, size, size, 3) uint8 working-region crops of the source at `reference_indices`,
    cut as the dub cuts its segments; None when the track edits no frame."""
    indices = reference_indices(track, count)
    if len(indices) == 0:
        return None
    crops = []
    with VideoReader(video) as reader:
        for k in indices:
            frame = reader.read_frames(int(k), int(k) + 1)[0]
            box = track.box(int(k))
            crops.append(crop_from_window(window_of(frame.planes, box, size), box, size))
    return np.stack(crops)
