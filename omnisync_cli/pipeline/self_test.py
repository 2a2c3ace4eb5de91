"""The model's own test on the character being dubbed: do its mouths beat leaving the source?

A video to be dubbed nearly always carries its own speech, so it already holds the answer to a
small dub: the picture of one moment where the character speaks, given the sound of another
moment at least a second away, should come out as the mouth the video shows at that other
moment. The model dubs a few such pairs from the mouth bank's crops, exactly as a dub runs it
(same sampler, guidance and prompt), and its mouths are compared with the true ones in the
mouth ellipse; so is the picture left as it was. The gain (dB) says whether the model brings
this character's mouth nearer its speech than leaving it does.

Where it does not (the gain is below `SelfTestConfig.floor_db`), the network is not used: the
mouth stays the source's, with the character's own mouths the bank lends (in the new speech's
pauses, or everywhere where the source's sounds pick them: `MouthBank.sound_gain`). This is the
design's "do no harm": a character whose mouth the model draws wrongly (a beak it opens like
lips, a whisperer it makes shout) keeps its own.

    gain = model_gain(editor, bank, editor.audio_features(source_speech), speaking, times, config)
"""

from dataclasses import dataclass

import numpy as np

from omnisync_cli.data.mouth_swap import mouth_mask, shifted
from omnisync_cli.pipeline.mouth_bank import MouthBank, registration


@dataclass(frozen=True)
class SelfTestConfig:
    pairs: int = 6  # segment pairs dubbed (each one network run of the dub's sampler)
    min_gap_s: float = 1.0  # the sound comes from at least this far from the picture
    # Below this gain the dub leaves the network out. Chosen on the tuning and held-out splits'
    # 48 clips against each clip's benchmark gain over the no-op (bench/results/self-test/):
    # the clips below -0.5 dB lost 0.9-7.1 dB to the no-op in the benchmark but one (+0.2).
    floor_db: float = -0.5
    max_shift: float = 0.1  # the registration's reach, a fraction of the crop side


def segment_starts(speaking: np.ndarray, follows: np.ndarray, length: int) -> np.ndarray:
    """Bank frames that start `length` consecutive bank frames (each the one after the last:
    `MouthBank.follows`) on all of which the source speaks."""
    n = len(speaking)
    if n < length:
        return np.zeros(0, int)
    ok = speaking.astype(bool) & np.concatenate([[True], follows[1:].astype(bool)])
    # a run starting at i needs speaking[i .. i+length-1] and follows[i+1 .. i+length-1]
    starts = [i for i in range(n - length + 1) if speaking[i] and ok[i + 1:i + length].all()]
    return np.array(starts, int)


def pair_moments(starts: np.ndarray, times: np.ndarray, pairs: int, min_gap_s: float) -> list[tuple[int, int]]:
    """Up to `pairs` (picture, sound) segment starts: the sound's starts spread evenly over the
    candidates; each picture the middle candidate at least `min_gap_s` from its sound (the
    farthest one where fewer than three are that far)."""
    if len(starts) < 2 or pairs < 1:
        return []
    chosen = []
    for u in starts[np.unique(np.linspace(0, len(starts) - 1, min(pairs, len(starts))).round().astype(int))]:
        far = starts[np.abs(times[starts] - times[u]) >= min_gap_s]
        if len(far) == 0:
            continue
        s = far[len(far) // 2] if len(far) >= 3 else far[np.argmax(np.abs(times[far] - times[u]))]
        chosen.append((int(s), int(u)))
    return chosen


def mouth_errors(picture: np.ndarray, edited: np.ndarray, truth: np.ndarray, truth_mouth_xy: np.ndarray,
                 max_shift: float) -> tuple[float, float]:
    """Summed squared error in the truth's mouth ellipse of the picture left as it was and of
    the model's edit of it, each frame after moving both by the whole-pixel shift that fits the
    picture onto the truth outside the mouth (the two moments' crops err apart by the track's
    error, which is not the model's). Crops (F, S, S, 3) uint8."""
    size = truth.shape[1]
    outside = 1.0 - mouth_mask(size, (0.5, 0.5))
    limit = max(1, round(max_shift * size))
    left = made = 0.0
    for p, e, t, xy in zip(picture, edited, truth, truth_mouth_xy):
        dx, dy = registration(t, p, outside, limit)
        inside = mouth_mask(size, (float(xy[0]), float(xy[1])))[..., None]
        t = t.astype(np.float32)
        left += float((((shifted(p, dx, dy).astype(np.float32) - t) ** 2) * inside).sum())
        made += float((((shifted(e, dx, dy).astype(np.float32) - t) ** 2) * inside).sum())
    return left, made


def model_gain(editor, bank: MouthBank, features, speaking: np.ndarray, times: np.ndarray,
               config: SelfTestConfig = SelfTestConfig()) -> float | None:
    """How much nearer (dB) the model's mouths come to the source's true ones than the source's
    picture left as it was, on pairs of bank segments where the source speaks (`speaking`, per
    bank frame; `times`: the bank frames' times on the source speech's clock, whose `features`
    the model hears). None where the source speaks too little for two segments far enough apart."""
    length = editor.segment_frames
    moments = pair_moments(segment_starts(speaking, bank.follows(), length), times, config.pairs, config.min_gap_s)
    if not moments:
        return None
    left = made = 0.0
    for s, u in moments:
        picture, truth = bank.crops[s:s + length], bank.crops[u:u + length]
        edited = editor.edit(picture, times[u:u + length], bank.mouth_xy[s:s + length], features)
        a, b = mouth_errors(picture, edited, truth, bank.mouth_xy[u:u + length], config.max_shift)
        left, made = left + a, made + b
    return float(10.0 * np.log10((left + 1e-6) / (made + 1e-6)))
