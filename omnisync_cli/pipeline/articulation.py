"""Where the source's own mouth moves: the edit is kept there and faded elsewhere.

A character speaking in the source video moves only some of the working region's pixels: lips,
jaw, teeth, a beak's hinge. The default model's edit also reaches pixels that the character
never moves (the face around the mouth, an outline, eyes near a beak) and changes their steady
look, which no speech asks for (bench/steady_error.py on the tuning split: the error of the
time-averaged mouth above the no-op's on 17 of 21 clips, the moving error below it on 17). The
articulation map, read from the source's own working-region crops on the frames where the
source's own speech speaks (the caller picks them: a silent character's still mouth says
nothing about where its mouth moves), weighs the edit: 1 where the source moves the most, down
to `floor` where it never moves.

    weight = articulation_map(crops, floor)        # (S, S) or None: no map, the whole edit
    edited = crop + weight[..., None] * (edited - crop)

The map is the per-pixel RMS of the crops' luma after a temporal high-pass (a running mean of
`MEAN_FRAMES` taken out, so that slow light and pose changes do not count), blurred and divided
by `FULL` x its own `PEAK_PERCENTILE`-th percentile. Where the source barely moves (a still, a silent
character, a video whose motion is spread evenly), the map is flat and none is returned: the
whole edit stays, as before.
"""

import cv2
import numpy as np

MEAN_FRAMES = 9  # the running mean taken out of the crops (0.3 s at 30 fps)
PEAK_PERCENTILE = 95.0
FULL = 0.5  # pixels moving at least this share of the peak keep their whole edit
BLUR = 0.06  # the map's blur, a fraction of the crop side
# A map is kept only where its peak moves at least MIN_PEAK grey levels and stands MIN_CONTRAST
# times above its median (moving lips in a still face). Measured (bench/articulation_contrast.py):
# stills of benchmark frames peak at 0.1-0.3 levels, the quietest speaking clip at 2.6.
MIN_PEAK = 1.0
MIN_CONTRAST = 2.0
MIN_FRAMES = 16  # fewer source crops than this tell nothing about how the source moves


def articulation_map(crops: np.ndarray, floor: float) -> np.ndarray | None:
    """(N, S, S, 3) uint8 source crops in time order -> (S, S) float32 weights in [floor, 1],
    or None where no articulation stands out (the whole edit is kept)."""
    if floor >= 1.0 or len(crops) < MIN_FRAMES:
        return None
    activity = moving_activity(crops)
    peak, contrast = _peak_and_contrast(activity)
    if peak < MIN_PEAK or contrast <= MIN_CONTRAST:
        return None
    return np.clip(activity / (FULL * peak), floor, 1.0).astype(np.float32)


def moving_activity(crops: np.ndarray) -> np.ndarray:
    """(S, S): per pixel, the RMS of the crops' luma after a temporal high-pass, blurred."""
    luma = crops.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    moving = luma - running_mean(luma, MEAN_FRAMES)
    activity = np.sqrt((moving ** 2).mean(axis=0))
    return cv2.GaussianBlur(activity, (0, 0), BLUR * activity.shape[0])


def running_mean(frames: np.ndarray, width: int) -> np.ndarray:
    """The mean of each frame's `width` neighbours in time (centred; the first and last frames
    repeated past the ends)."""
    half = width // 2
    padded = np.concatenate([np.repeat(frames[:1], half, 0), frames, np.repeat(frames[-1:], width - 1 - half, 0)])
    sums = np.cumsum(padded, axis=0, dtype=np.float64)
    sums = np.concatenate([np.zeros_like(sums[:1]), sums])
    return ((sums[width:] - sums[:-width]) / width).astype(np.float32)


def map_peak(crops: np.ndarray) -> tuple[float, float]:
    """The activity's peak (grey levels) and how far it stands above the median (a ratio): what
    MIN_PEAK and MIN_CONTRAST are compared with."""
    return _peak_and_contrast(moving_activity(crops))


def _peak_and_contrast(activity: np.ndarray) -> tuple[float, float]:
    peak = float(np.percentile(activity, PEAK_PERCENTILE))
    return peak, peak / max(float(np.median(activity)), 1e-6)


def weigh_edit(source: np.ndarray, edited: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """(S, S, 3) uint8: the source crop plus the edit scaled by `weight` per pixel."""
    if weight is None:
        return edited
    src = source.astype(np.float32)
    return np.rint(src + weight[..., None] * (edited.astype(np.float32) - src)).clip(0, 255).astype(np.uint8)
