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

The same activity also bounds how far the edit may go (`edit_reach`): a character that barely
moves its mouth when it speaks (a whisper, a stiff beak) is not given a wide-open mouth by a
model trained on bigger talkers. At each pixel the edit's size (RMS over the colour channels)
is held to `factor` x the source's activity there, and never below `factor` x `REACH_FLOOR` of
its peak (so a pixel the source moves little can still change somewhat):

    reach = edit_reach(crops, factor)              # (S, S) grey levels, or None: no cap
    edited = hold_edit(shown, edited, reach)       # from the crop the network was shown

The map is the per-pixel RMS of the crops' luma after a temporal high-pass (a running mean of
`MEAN_FRAMES` taken out, so that slow light and pose changes do not count), blurred and divided
by `FULL` x its own `PEAK_PERCENTILE`-th percentile. Where the source barely moves (a still, a silent
character, a video whose motion is spread evenly), the map is flat and none is returned: the
whole edit stays, as before.
"""

from dataclasses import dataclass

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
REACH_FLOOR = 0.25  # edit_reach never below this share of the activity's peak


@dataclass(frozen=True)
class SourceMotion:
    """What the source's own speaking mouth tells its edit, per working-region pixel; either
    part None where it does not apply."""
    weight: np.ndarray | None  # articulation_map: the share of the edit kept
    reach: np.ndarray | None  # edit_reach: the largest change allowed, grey levels


def source_motion(crops: np.ndarray, floor: float, reach_factor: float) -> SourceMotion | None:
    """Both maps from the same source crops; None where neither applies."""
    motion = SourceMotion(articulation_map(crops, floor), edit_reach(crops, reach_factor))
    return None if motion.weight is None and motion.reach is None else motion


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


def edit_reach(crops: np.ndarray, factor: float) -> np.ndarray | None:
    """(N, S, S, 3) uint8 source crops in time order -> (S, S) float32: the largest change (grey
    levels, RMS over the channels) the edit may make at each pixel, `factor` x the source's own
    activity there and at least `factor` x REACH_FLOOR x its peak; None where `factor` is 0
    (off), the crops are too few, or the source barely moves (its peak below MIN_PEAK: a
    still or unanimated character says nothing about how far its mouth goes). Unlike the
    articulation map it needs no contrast: motion spread over the whole crop (a whisper lost
    in codec noise, a moving camera) gives an even, generous reach."""
    if factor <= 0 or len(crops) < MIN_FRAMES:
        return None
    activity = moving_activity(crops)
    peak, _ = _peak_and_contrast(activity)
    if peak < MIN_PEAK:
        return None
    return (factor * np.maximum(activity, REACH_FLOOR * peak)).astype(np.float32)


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


def hold_edit(source: np.ndarray, edited: np.ndarray, reach: np.ndarray | None) -> np.ndarray:
    """(..., S, S, 3) uint8: the edit from `source` to `edited`, shrunk at each pixel where its
    size (RMS over the channels) exceeds `reach` ((S, S) grey levels) to that size, its
    direction kept."""
    if reach is None:
        return edited
    src = source.astype(np.float32)
    change = edited.astype(np.float32) - src
    size = np.sqrt((change ** 2).mean(axis=-1))
    change *= np.minimum(1.0, reach / np.maximum(size, 1e-6))[..., None]
    return np.rint(src + change).clip(0, 255).astype(np.uint8)
