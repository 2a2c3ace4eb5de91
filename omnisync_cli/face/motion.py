"""The camera's motion between frames, so that the track follows a shaking camera between looks.

The mouth is looked for only now and then (MediaPipe every 0.08 s, the localiser every 0.2 s),
and the track between looks is interpolated and smoothed over 0.1 s: right for a steady camera,
but a hand-held one shakes at 1-4 Hz and the region then lags the mouth (a user tour: 10 px under
strong shake; on benchmark clips shaken by 8 px at about 2 Hz, 5-7 px, up to a third of a face
width). So the tracking pass measures every frame's shift against the one before on a small grey
thumbnail (phase correlation, `frame_shift`); the track then fills and smooths the looks relative
to that camera path and adds the path back (face.mouth_track.build_track), following the shake while
the looks' own jitter is still smoothed away.

The path is trusted only where it explains the looks (`trusted_path`): where taking it out makes
the looked-at positions move less. A moving background in front of a still camera, or a
character that moves while the background stays, leaves the track exactly as it was.
"""

from functools import lru_cache

import numpy as np
import cv2

THUMBNAIL_SIDE = 128  # longer side of the grey thumbnails the shifts are measured on, pixels
MIN_RESPONSE = 0.1    # a phase-correlation peak below this measures nothing (a cut, a flat frame)
TRUST_RATIO = 0.7     # the path is used where it brings the looks' roughness below this share
TRUST_WINDOW_S = 2.0  # ... judged over windows this long
# A camera whose median shift between frames is below this (frame pixels) stands still: a
# still shot measures 0.1-0.4 px of noise, hand-held shake of 8 px around 2 Hz 2.7-4 px.
MIN_STEP_PX = 1.0


def frame_shift(previous: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(dx, dy), thumbnail pixels: how far the picture moved from `previous` to `current` (two
    grey thumbnails of one size, media.video.Picture.grey), by phase correlation under a Hann
    window; (0, 0) where the peak is too weak to mean anything. OpenCV's peak centroid is off
    by 0.1-0.4 thumbnail pixels (measured on shifted textures); the looks correct what that
    adds up to between them."""
    return measured_shift(*phase_correlation(previous, current))


def measured_shift(shift: tuple[float, float], response: float) -> tuple[float, float]:
    """A `phase_correlation`'s shift, or (0, 0) where its peak is too weak to mean anything."""
    return shift if response >= MIN_RESPONSE else (0.0, 0.0)


def phase_correlation(previous: np.ndarray, current: np.ndarray) -> tuple[tuple[float, float], float]:
    """((dx, dy), peak): OpenCV's phase correlation of two grey thumbnails of one size under a
    Hann window; the peak is near 1 where one is the other shifted, low across a cut. A thumbnail
    one pixel across (a frame over 85 times longer than wide, a user tour: 16x2000) measures
    nothing: (0, 0), peak 0."""
    if min(current.shape[:2]) < 2:
        return (0.0, 0.0), 0.0
    window = hann_window(current.shape[1], current.shape[0])
    # copies: OpenCV's phaseCorrelate applies the window to its inputs in place
    (dx, dy), response = cv2.phaseCorrelate(np.array(previous, np.float32), np.array(current, np.float32), window)
    return (float(dx), float(dy)), float(response)


@lru_cache(maxsize=8)
def hann_window(width: int, height: int) -> np.ndarray:
    """(height, width) float32 Hann window for phase correlation, made once per size."""
    return cv2.createHanningWindow((width, height), cv2.CV_32F)


def roughness(values: np.ndarray, valid: np.ndarray) -> float:
    """Mean absolute second difference of the valid entries, in order (0 for fewer than 3)."""
    looked = np.asarray(values, np.float64)[valid]
    return float(np.abs(np.diff(looked, 2)).mean()) if len(looked) > 2 else 0.0


def trusted_path(steps_x: np.ndarray, steps_y: np.ndarray, looks_x: np.ndarray, looks_y: np.ndarray,
                 valid: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(path_x, path_y), frame pixels: the camera's position at every frame, summed from the
    per-frame shifts (`steps_*`, step k is frame k's shift from frame k - 1) inside the windows of
    `window` frames where taking the path out of the looks (`looks_*` at the `valid` frames)
    brings their roughness below TRUST_RATIO of its value; elsewhere the path stands still."""
    steps_x, steps_y = np.asarray(steps_x, np.float64), np.asarray(steps_y, np.float64)
    path_x, path_y = np.cumsum(steps_x), np.cumsum(steps_y)
    trusted = np.zeros(len(steps_x), bool)
    for start in range(0, len(steps_x), max(1, window)):
        span = slice(start, start + window)
        looked = valid[span]
        before = roughness(looks_x[span], looked) + roughness(looks_y[span], looked)
        after = roughness(looks_x[span] - path_x[span], looked) + roughness(looks_y[span] - path_y[span], looked)
        trusted[span] = after < TRUST_RATIO * before
    return np.cumsum(np.where(trusted, steps_x, 0.0)), np.cumsum(np.where(trusted, steps_y, 0.0))


def moving_camera_path(steps_x: np.ndarray, steps_y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(path_x, path_y), frame pixels: where a moving camera has carried the picture by each
    frame (the shifts summed), for comparing looks taken apart in time (face.speaker.link_tracks);
    None where the camera stands still (median shift below MIN_STEP_PX), so still shots are
    compared as they are."""
    steps_x, steps_y = np.asarray(steps_x, np.float64), np.asarray(steps_y, np.float64)
    if len(steps_x) == 0 or np.median(np.hypot(steps_x, steps_y)) < MIN_STEP_PX:
        return None
    return np.cumsum(steps_x), np.cumsum(steps_y)
