"""Quiet stretches of a speech track: the audio's level against the track's own loud level.

A stretch is quiet when its RMS lies QUIET_DB or more below the track's loud level (the 95th
percentile over the stretches asked about). A track without any level above SPEECH_FLOOR (no
speech at all: a muted or empty track) has no quiet stretches: silence tells nothing there.

A track the speech gate has muted (media.speech_gate: everything its voice detector does not
call speech is zero) is read by the detector's word instead of by level: quiet where muted,
whatever the level of the speech it kept. By level, a whispered line 30 dB under the loud ones
read as a pause, and the dub kept the source's mouth there (bench/results/speech-levels/).
"""

import numpy as np

QUIET_DB = -30.0         # below the track's loud level: quiet
SPEECH_FLOOR = 1e-3      # a loud level below this RMS is no speech at all
LOUD_PERCENTILE = 95.0
MUTED_RMS = 1e-6         # a gated track's windows at or below this hold only what the gate muted


CHUNK = 1 << 16  # samples squared and summed at a time (memory stays flat in the track's length)


def window_rms(waveform: np.ndarray, rate: int, times: np.ndarray, span_s: float) -> np.ndarray:
    """(len(times),) RMS of the audio over [t, t + span_s) for each t (0 where that lies
    outside the track). Exact sums of squares, taken chunk by chunk: an hour of 16 kHz audio
    never makes a float64 copy of itself."""
    starts, ends = _bounds(len(waveform), rate, times, span_s)
    power = _power_before(waveform, np.concatenate([starts, ends]))
    sums = power[len(times):] - power[:len(times)]
    return np.sqrt(np.maximum(sums, 0.0) / np.maximum(ends - starts, 1))


def _bounds(n: int, rate: int, times: np.ndarray, span_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices [start, end) of each window, clipped to the track."""
    times = np.asarray(times, dtype=np.float64)
    starts = np.clip(np.round(times * rate).astype(np.int64), 0, n)
    return starts, np.clip(np.round((times + span_s) * rate).astype(np.int64), 0, n)


def _power_before(waveform: np.ndarray, at: np.ndarray) -> np.ndarray:
    """sum(waveform[:k] ** 2) in float64 for every k in `at` (0 <= k <= len(waveform))."""
    out = np.zeros(len(at), dtype=np.float64)
    order = np.argsort(at, kind="stable")
    sorted_at = at[order]
    total, lo = 0.0, 0
    for begin in range(0, len(waveform), CHUNK):
        chunk = np.asarray(waveform[begin:begin + CHUNK], dtype=np.float64)
        running = np.concatenate([[0.0], np.cumsum(chunk * chunk)])
        hi = np.searchsorted(sorted_at, begin + len(chunk), side="right")
        if hi > lo:
            out[order[lo:hi]] = total + running[sorted_at[lo:hi] - begin]
        total += running[-1]
        lo = hi
    return out


def quiet_at(waveform: np.ndarray, rate: int, times: np.ndarray, span_s: float, gated: bool = False) -> np.ndarray:
    """(len(times),) bool: the audio over [t, t + span_s) is quiet (see the module's rule);
    `gated`: the track is the speech gate's (`speech_only`), so quiet means muted there."""
    starts, ends = _bounds(len(waveform), rate, times, span_s)
    inside = ends > starts
    if not inside.any():
        return np.zeros(len(times), dtype=bool)
    rms = window_rms(waveform, rate, times, span_s)
    if gated:  # a track the gate muted whole holds no speech: nothing is quiet, as below
        muted = rms <= MUTED_RMS
        return inside & muted if not muted[inside].all() else np.zeros(len(times), dtype=bool)
    loud = float(np.percentile(rms[inside], LOUD_PERCENTILE))
    if loud < SPEECH_FLOOR:
        return np.zeros(len(times), dtype=bool)
    return inside & (rms < loud * 10 ** (QUIET_DB / 20))
