"""Which source frame shows at each output frame: the length rules of a dub.

The output keeps the source's frame rate and lasts as long as the new audio. A source that
is too long is cut; one that is too short is extended by playing it back and forth
(ping-pong, the default: no jump cut), looping, or freezing its last frame.
Variable-frame-rate sources are put on a constant grid by picking, for each grid time, the
source frame shown at that time: the grid of the rate the video plays at (`playback_rate`).
"""

from enum import Enum
from fractions import Fraction

import numpy as np

from omnisync_cli.errors import ConfigError


class Extend(str, Enum):
    pingpong = "pingpong"
    loop = "loop"
    freeze = "freeze"


def output_frame_count(audio_seconds: float, fps: Fraction) -> int:
    """Frames needed to cover the audio, at least one."""
    return max(1, round(audio_seconds * float(fps)))


def continuous_times(frame_times: np.ndarray, fps: float) -> tuple[np.ndarray, bool]:
    """Frame times that never go back, and whether any did: where a time falls to or below the
    one before it (recordings joined end to end, each part's clock starting again at 0), it
    and the frames after it are moved on to one frame after the one before. Without it the
    second part's frames were mapped onto the first's times and never shown (a user tour)."""
    times = np.asarray(frame_times, dtype=np.float64).copy()
    backwards = np.flatnonzero(np.diff(times) <= 0) + 1
    for i in backwards:  # each shift moves all later frames alike, so their steps stay as found
        times[i:] += times[i - 1] + 1.0 / fps - times[i]
    return times, bool(len(backwards))


# A variable-frame-rate video (a phone that slows down in the dark, a screen recording) whose
# fastest stretch of at least FAST_STRETCH_S runs more than FASTER_BY times faster than its
# average plays at that stretch's rate: on the average's grid the fast stretch lost frames (a
# user tour: a clip at 12 then 24 fps was written at 18, a quarter of its 24 fps frames gone).
FAST_STRETCH_S = 1.0
FASTER_BY = 1.3
MAX_PLAYBACK_RATE = 120
# Rates a measured one is snapped to when it lies within SNAP of one (timestamps in whole
# milliseconds put a 60 fps stretch at 58.8 or 62.5 fps).
COMMON_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60), Fraction(90), Fraction(100),
                Fraction(120000, 1001), Fraction(120))
SNAP = 0.03
# A one-frame video is a still picture: held at a still image's rate (FFmpeg's 25 fps) at least,
# not at its header's (a user tour: a photo exported at 1 fps made a dub whose mouth moved once
# a second over 30 s of speech).
STILL_RATE = Fraction(25)


def playback_rate(frame_times: np.ndarray, fps: Fraction) -> Fraction:
    """The rate a dub writes a video at: `fps` (the rate its header gives, media.video), or for a
    variable-frame-rate video whose fastest FAST_STRETCH_S (by its median frame step) runs more
    than FASTER_BY x faster, the rate of that stretch (the mean of its steps near that median;
    snapped to a COMMON_RATES within SNAP; at most MAX_PLAYBACK_RATE), so that all of its frames
    are shown and the slower ones held. A burst shorter than FAST_STRETCH_S (a few quick frames
    of an animated GIF) does not count. A video of one frame plays at STILL_RATE at least."""
    if len(frame_times) == 1:  # one picture (a photo exported as a video): held like a still image
        return max(fps, STILL_RATE)
    steps = np.diff(np.asarray(frame_times, dtype=np.float64))
    window = max(3, round(FAST_STRETCH_S * float(fps)))
    for _ in range(2):  # a stretch's length in steps depends on its rate: measured again at the rate found
        if fps <= 0 or len(steps) < window:
            return fps
        stretch = _fastest_stretch(steps, window)
        step = float(np.median(stretch))
        if not 1.0 / step > FASTER_BY * float(fps):
            return fps
        window = max(3, round(FAST_STRETCH_S / step))
    rate = min(1.0 / float(stretch[np.abs(stretch - step) <= 0.25 * step].mean()), MAX_PLAYBACK_RATE)
    near = min(COMMON_RATES, key=lambda common: abs(float(common) - rate))
    return near if abs(float(near) - rate) <= SNAP * rate else Fraction(rate).limit_denominator(1001)


def _fastest_stretch(steps: np.ndarray, window: int) -> np.ndarray:
    """The `window` consecutive frame steps whose median is least."""
    windows = np.lib.stride_tricks.sliding_window_view(steps, window)
    return windows[np.argmin(np.median(windows, axis=1))]


def grid_source_indices(frame_times: np.ndarray, fps: Fraction, duration: float) -> np.ndarray:
    """Index of the source frame on screen at each time m / fps of a constant-rate grid.

    frame_times are the presentation times (seconds, increasing) of the decoded frames and
    duration the time the last one stops showing. A constant-rate source maps to 0, 1, 2, ...
    """
    times = np.asarray(frame_times, dtype=np.float64)
    count = max(1, round(duration * float(fps)))
    grid = np.arange(count) / float(fps)
    # A frame is on screen from its own time until the next frame's time; a quarter grid step
    # of tolerance keeps rounding and jitter in the container's time base from skipping one.
    shown = np.searchsorted(times, grid + 0.25 / float(fps), side="right") - 1
    return np.clip(shown, 0, len(times) - 1)


def extend_indices(n_source: int, n_output: int, mode: Extend) -> np.ndarray:
    """Positions into a sequence of n_source frames for n_output frames, per `mode`."""
    if n_source < 1 or n_output < 1:
        raise ConfigError("a dub needs at least one source frame and one output frame")
    j = np.arange(n_output)
    if n_output <= n_source:
        return j
    mode = Extend(mode)
    if mode is Extend.loop:
        return j % n_source
    if mode is Extend.freeze:
        return np.minimum(j, n_source - 1)
    if n_source == 1:
        return np.zeros(n_output, dtype=np.int64)
    period = 2 * (n_source - 1)  # forward then back, without repeating the turning frames
    phase = j % period
    return np.where(phase < n_source, phase, period - phase)


def plan_source_frames(frame_times: np.ndarray, fps: Fraction, duration: float,
                       audio_seconds: float, mode: Extend) -> np.ndarray:
    """Source frame index for every output frame of a dub (the whole length rule)."""
    grid = grid_source_indices(frame_times, fps, duration)
    positions = extend_indices(len(grid), output_frame_count(audio_seconds, fps), mode)
    return grid[positions]
