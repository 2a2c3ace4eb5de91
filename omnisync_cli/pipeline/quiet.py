"""Where nobody speaks: output frames whose new speech and source speech are both silent.

There the character's own mouth is at rest and so should the dub's be, so the source frame
is kept as it was instead of re-rendered (do no harm: the model's re-rendering of a closed
mouth only adds blur and drift). The edit fades out into such a pause and back in after it,
within the pause, so no frame with speech loses any of its edit.

A frame is quiet when the audio's RMS over the frame's interval lies QUIET_DB or more below
the track's loud level (its 95th percentile frame RMS). A track without any level above
SPEECH_FLOOR (no speech at all: a muted or empty source track) has no quiet frames: a source
whose character talks without sound must not keep its moving mouth in the new pauses.
"""

import numpy as np

QUIET_DB = -30.0         # below the track's loud level: quiet
SPEECH_FLOOR = 1e-3      # a loud level below this RMS is no speech at all
LOUD_PERCENTILE = 95.0
MIN_QUIET_S = 0.3        # shorter common pauses are left to the model
FADE_S = 0.12            # the edit fades out and in over this much of each pause's ends


def quiet_at(waveform: np.ndarray, rate: int, times: np.ndarray, span_s: float) -> np.ndarray:
    """(len(times),) bool: the audio over [t, t + span_s) is quiet (see the module's rule)."""
    waveform = np.asarray(waveform, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    starts = np.clip(np.round(times * rate).astype(np.int64), 0, len(waveform))
    ends = np.clip(np.round((times + span_s) * rate).astype(np.int64), 0, len(waveform))
    power = np.concatenate([[0.0], np.cumsum(waveform ** 2)])
    rms = np.sqrt((power[ends] - power[starts]) / np.maximum(ends - starts, 1))
    inside = ends > starts
    if not inside.any():
        return np.zeros(len(times), dtype=bool)
    loud = float(np.percentile(rms[inside], LOUD_PERCENTILE))
    if loud < SPEECH_FLOOR:
        return np.zeros(len(times), dtype=bool)
    return inside & (rms < loud * 10 ** (QUIET_DB / 20))


def keep_source_weights(new_quiet: np.ndarray, source_quiet: np.ndarray, fps: float) -> np.ndarray:
    """(F,) float32 in [0, 1]: how much of each output frame is the source rather than the edit.

    1 inside runs of frames where both tracks are quiet lasting at least MIN_QUIET_S, rising
    linearly from the run's first frame over FADE_S and falling likewise to its last; 0 elsewhere.
    """
    both = np.asarray(new_quiet, dtype=bool) & np.asarray(source_quiet, dtype=bool)
    weights = np.zeros(len(both), dtype=np.float32)
    fade = max(1, round(FADE_S * fps))
    i = 0
    while i < len(both):
        if not both[i]:
            i += 1
            continue
        j = i
        while j < len(both) and both[j]:
            j += 1
        if (j - i) >= MIN_QUIET_S * fps:
            steps = np.arange(j - i, dtype=np.float32)
            ramp = np.minimum(steps + 1, (j - i) - steps) / (fade + 1)
            weights[i:j] = np.minimum(ramp, 1.0)
        i = j
    return weights
