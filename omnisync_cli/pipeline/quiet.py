"""Where nobody speaks: output frames whose new speech and source speech are both silent.

There the character's own mouth is at rest and so should the dub's be, so the source frame
is kept as it was instead of re-rendered (do no harm: the model's re-rendering of a closed
mouth only adds blur and drift). The edit fades out into such a pause and back in after it,
within the pause, so no frame with speech loses any of its edit.

A frame is quiet by `media.loudness.quiet_at` over the frame's interval: for the new speech
heard through the speech gate (the dub's default), where the gate muted it; else, and for the
source's own speech always, 30 dB below the track's loud level. A source track
without speech has no quiet frames: a source whose character talks without sound must not keep
its moving mouth in the new pauses.
"""

import numpy as np

MIN_QUIET_S = 0.3        # shorter common pauses are left to the model
FADE_S = 0.12            # the edit fades out and in over this much of each pause's ends


def keep_source_weights(new_quiet: np.ndarray, source_quiet: np.ndarray, fps: float) -> np.ndarray:
    """(F,) float32 in [0, 1]: how much of each output frame is the source rather than the edit.

    1 inside runs of frames where both tracks are quiet lasting at least MIN_QUIET_S, rising
    linearly from the run's first frame over FADE_S and falling likewise to its last; 0 elsewhere.
    A run at the video's start or end has nothing to fade from or to there: it is 1 up to that
    edge (a pause ending the dub faded its last frames back towards the talking mouth).
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
            rise = steps + 1 if i > 0 else np.inf
            fall = (j - i) - steps if j < len(both) else np.inf
            ramp = np.minimum(rise, fall) / (fade + 1)
            weights[i:j] = np.minimum(ramp, 1.0)
        i = j
    return weights


def pause_weights(new_quiet: np.ndarray, fps: float) -> np.ndarray:
    """(F,) float32 in [0, 1]: the new speech's own pauses (runs of quiet frames lasting at least
    MIN_QUIET_S), ramped in and out over FADE_S like `keep_source_weights`, whatever the source does."""
    return keep_source_weights(new_quiet, np.ones(len(new_quiet), dtype=bool), fps)
