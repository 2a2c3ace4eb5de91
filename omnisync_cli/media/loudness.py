"""Quiet stretches of a speech track: the audio's level against the track's own loud level.

A stretch is quiet when its RMS lies QUIET_DB or more below the track's loud level (the 95th
percentile over the stretches asked about). A track without any level above SPEECH_FLOOR (no
speech at all: a muted or empty track) has no quiet stretches: silence tells nothing there.
"""

import numpy as np

QUIET_DB = -30.0         # below the track's loud level: quiet
SPEECH_FLOOR = 1e-3      # a loud level below this RMS is no speech at all
LOUD_PERCENTILE = 95.0


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
