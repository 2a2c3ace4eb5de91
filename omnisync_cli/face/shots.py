"""Where an edited video cuts from one shot to the next, read from the tracking pass's thumbnails.

Real footage is cut: an interview goes from one camera to the other, an advert or a generated
montage changes shot every few seconds. The track is smoothed over time and filled between
looks, so without knowing the cuts it slid from one shot's mouth to the next one's over the
frames around each cut (measured on two benchmark characters joined by a hard cut: the region up
to 1.04 face widths off on 11 frames, one frame's edit off the mouth, and the first 6 frames of
the new shot not edited at all). A cut is a frame whose picture changes far more than
the frames around it (`CUT_RATIO`, also than the frame before alone), by a lot (`CUT_LEVELS`),
in a way no shift of the picture explains (a pan correlates, `CUT_RESPONSE`), and that stays
changed (a flash or a single odd frame returns to the picture before it: `changed_after`).

PySceneDetect's AdaptiveDetector does the same on HSV frames, but cannot be installed beside this
project's pins: 0.7 requires opencv-python (mediapipe needs the contrib build, and the two
overwrite each other's cv2), 0.6 requires click < 8.3 (typer's is newer). The tracking pass
already makes a grey thumbnail of every frame, so this reads the cuts from those.
"""

import numpy as np

CUT_LEVELS = 10.0    # mean absolute change of the thumbnail's grey levels from the frame before
CUT_RATIO = 3.0      # ... at least this many times the mean change of the NEIGHBOURS frames either side
CUT_RESPONSE = 0.5   # ... and the phase correlation with the frame before peaks below this (no shift)
NEIGHBOURS = 2


def picture_change(previous: np.ndarray, current: np.ndarray) -> float:
    """Mean absolute difference of two grey thumbnails of one size, in grey levels."""
    return float(np.abs(current.astype(np.int16) - previous.astype(np.int16)).mean())


def is_cut(change: np.ndarray, response: np.ndarray, changed_after: np.ndarray, k: int,
           causal: bool = False) -> bool:
    """Whether frame `k` starts a new shot. `change[k]`: `picture_change` from frame k - 1;
    `response[k]`: the phase correlation peak between them (face.motion); `changed_after[k]`:
    `picture_change` from frame k - 1 to frame k + 1 (NaN where unknown). `causal`: judge from
    the frames before k only (the tracking pass, as it goes: a look is due after a cut)."""
    if k < 1 or change[k] < CUT_LEVELS or response[k] >= CUT_RESPONSE or change[k] < CUT_RATIO * change[k - 1]:
        return False  # (the last test: the way back from a flash is no cut)
    before = change[max(1, k - NEIGHBOURS):k]
    after = change[k + 1:k + 1 + NEIGHBOURS] if not causal else change[:0]
    around = np.concatenate([before, after])
    if len(around) and change[k] < CUT_RATIO * float(around.mean()):
        return False
    return causal or not changed_after[k] < CUT_LEVELS


def cut_frames(change: np.ndarray, response: np.ndarray, changed_after: np.ndarray) -> np.ndarray:
    """(C,) int: the frames that start a new shot (`is_cut`, seeing the frames either side)."""
    change, response = np.asarray(change, np.float64), np.asarray(response, np.float64)
    changed_after = np.asarray(changed_after, np.float64)
    # is_cut's first tests, on every frame at once: only these few frames are judged one by one
    candidates = np.flatnonzero((change >= CUT_LEVELS) & (response < CUT_RESPONSE))
    return np.array([k for k in candidates if is_cut(change, response, changed_after, int(k))], dtype=int)


def shot_slices(n: int, cuts: np.ndarray) -> list[slice]:
    """The shots of `n` frames cut at `cuts` (frames that start a shot), in order."""
    starts = [0, *sorted(int(c) for c in cuts if 0 < c < n), n]
    return [slice(a, b) for a, b in zip(starts[:-1], starts[1:]) if b > a]


def same_shot(cuts: np.ndarray, a: int, b: int) -> bool:
    """Whether frames `a` and `b` lie in one shot: no cut in (min(a, b), max(a, b)]."""
    lo, hi = min(a, b), max(a, b)
    cuts = np.asarray(cuts)
    return not len(cuts) or not np.any((cuts > lo) & (cuts <= hi))
