"""How much the source's own mouth moves while its own speech speaks: one number per video.

Characters speak with their own amplitude: a whispering stitched muzzle barely parts, a loud
cartoon mouth opens to the chin. The audio alone does not say which, and the network sees only
0.3 s of the source at a time, so it opened quiet characters as wide as loud ones (on the quarter
of benchmark clips whose source moves least, the dub opened 1.52x as wide as the truth;
bench/results/edit-reach/source-amplitude.md). A model with `config.source_motion` reads this
level (model.dit) and can scale its mouths to the character.

    level = motion_level(crops[speaking_frames(waveform, times, fps)])   # grey levels, or NaN

The level is the `PEAK_PERCENTILE`-th percentile over working-region pixels of the luma's
temporal RMS after a high-pass (a running mean of `MEAN_FRAMES` taken out, so slow light and pose
changes do not count), blurred (`moving_activity`). Training reads it from the condition
rendering's crops at the model's region size, a dub from the source video's crops at the same
size, both on the frames where that track's own speech speaks.
"""

import cv2
import numpy as np

from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.media.loudness import SPEECH_FLOOR, quiet_at, window_rms

MEAN_FRAMES = 9  # the running mean taken out of the crops (0.3 s at 30 fps)
PEAK_PERCENTILE = 95.0
BLUR = 0.06  # the activity's blur, a fraction of the crop side
MIN_FRAMES = 16  # fewer speaking crops than this tell nothing about how the source moves


def speaking_frames(waveform: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """(len(times),) bool: the track speaks over each frame [t, t + 1 / fps): not quiet
    (media.loudness) and at least SPEECH_FLOOR loud."""
    times = np.asarray(times, dtype=np.float64)
    quiet = quiet_at(waveform, SAMPLE_RATE, times, 1.0 / fps)
    return ~quiet & (window_rms(waveform, SAMPLE_RATE, times, 1.0 / fps) >= SPEECH_FLOOR)


def motion_level(crops: np.ndarray) -> float:
    """(N, S, S, 3) uint8 crops in time order -> the motion level in grey levels; NaN where
    fewer than MIN_FRAMES crops are given (unknown)."""
    if len(crops) < MIN_FRAMES:
        return float("nan")
    return float(np.percentile(moving_activity(crops), PEAK_PERCENTILE))


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
