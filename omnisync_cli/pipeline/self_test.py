"""The model's own test on the character being dubbed: how much of its edit does no harm here?

A video to be dubbed nearly always carries its own speech, so it already holds the answer to a
small dub: the picture of one moment where the character speaks, given the sound of another
moment at least a second away, should come out as the mouth the video shows at that other
moment. The model dubs a few such pairs from the mouth bank's crops, exactly as a dub runs it
(same sampler, guidance and prompt), and its mouths are compared with the true ones in the
mouth ellipse; so is the picture left as it was. Three sums of that comparison
(`edit_error_terms`) give the error of the picture changed by any share s of the model's edit,
so the gain (`gain_db`, dB) of the whole edit and of any share of it need no second run.

The dub then shows the largest share of the model's edit that does no harm on this test
(`trusted_scale`): the whole edit where the model's mouths come out nearer the truth than the
picture left as it was; less where the model draws this character's mouth too wide or wrong (a
beak it opens like lips, a whisperer it makes shout); none where any share of it harms (the
mouth then stays the character's own, with what the mouth bank lends). This is the design's
"do no harm", measured on each video.

    terms = own_test_terms(editor, bank, editor.audio_features(source_speech), speaking, times)
    gain_db(terms), trusted_scale(terms)
"""

from dataclasses import dataclass

import numpy as np

from omnisync_cli.data.mouth_swap import mouth_mask, shifted
from omnisync_cli.pipeline.mouth_bank import MouthBank, registration


@dataclass(frozen=True)
class SelfTestConfig:
    # Segment pairs dubbed (each one network run of the dub's sampler). With 4 the test's gain
    # followed the benchmark's a little less (r 0.64 against 0.67 over 82 clips) and called two
    # clips that gained 0.7 and 2.2 dB harmful (bench/results/self-test/own-test-vs-benchmark.md).
    pairs: int = 6
    min_gap_s: float = 1.0  # the sound comes from at least this far from the picture
    # Where the source speaks too little for two of the dub's segments a gap apart (a word or
    # two), the test dubs halves of them, down to this many frames. Untested, four beaks of the
    # benchmark splits lost 2.3-6.9 dB to the whole edit; with 4-frame segments their tests
    # gave -0.4 to -1.1 dB and a pixel-art clip that gained 3.3 dB +2.1 dB (stop 44).
    shortest_segment: int = 4
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


def edit_error_terms(picture: np.ndarray, edited: np.ndarray, truth: np.ndarray, truth_mouth_xy: np.ndarray,
                     max_shift: float) -> np.ndarray:
    """(3,) sums over the truth's mouth ellipse, e = picture - truth and d = edited - picture:
    [sum e^2, sum e d, sum d^2], so that the picture changed by s times the edit errs by
    sum (e + s d)^2 = A + 2 s B + s^2 C (`gain_db`). Each frame's picture and edit are first moved
    by the whole-pixel shift that fits the picture onto the truth outside the mouth (the two
    moments' crops err apart by the track's error, which is not the model's). Crops (F, S, S, 3)
    uint8."""
    size = truth.shape[1]
    outside = 1.0 - mouth_mask(size, (0.5, 0.5))
    limit = max(1, round(max_shift * size))
    terms = np.zeros(3)
    for p, o, t, xy in zip(picture, edited, truth, truth_mouth_xy):
        dx, dy = registration(t, p, outside, limit)
        inside = mouth_mask(size, (float(xy[0]), float(xy[1])))[..., None]
        p = shifted(p, dx, dy).astype(np.float32)
        e, d = p - t.astype(np.float32), shifted(o, dx, dy).astype(np.float32) - p
        terms += [float((inside * e * e).sum()), float((inside * e * d).sum()), float((inside * d * d).sum())]
    return terms


def gain_db(terms: np.ndarray, scale: float = 1.0) -> float:
    """How much nearer (dB) the picture changed by `scale` times the model's edit comes to the
    truth than the picture left as it was: 10 log10(A / (A + 2 s B + s^2 C)) (`edit_error_terms`)."""
    a, b, c = terms
    return float(10.0 * np.log10((a + 1e-6) / (a + 2.0 * scale * b + scale ** 2 * c + 1e-6)))


def own_test_terms(editor, bank: MouthBank, features, speaking: np.ndarray, times: np.ndarray,
                   config: SelfTestConfig = SelfTestConfig()) -> np.ndarray | None:
    """`edit_error_terms` summed over pairs of bank segments where the source speaks (`speaking`,
    per bank frame; `times`: the bank frames' times on the source speech's clock, whose `features`
    the model hears), each segment's picture edited by the model with the sound of the other. The
    segments are the dub's, or shorter where the source speaks too little for those
    (`own_test_segments`). None where it speaks too little for two of the shortest far enough apart."""
    found = own_test_segments(bank, speaking, times, editor.segment_frames, config)
    if found is None:
        return None
    length, moments = found
    terms = np.zeros(3)
    for s, u in moments:
        picture, truth = bank.crops[s:s + length], bank.crops[u:u + length]
        edited = editor.edit(picture, times[u:u + length], bank.mouth_xy[s:s + length], features)
        terms += edit_error_terms(picture, edited, truth, bank.mouth_xy[u:u + length], config.max_shift)
    return terms


def own_test_segments(bank: MouthBank, speaking: np.ndarray, times: np.ndarray, segment_frames: int,
                  config: SelfTestConfig = SelfTestConfig()) -> tuple[int, list[tuple[int, int]]] | None:
    """The own test's segment length and (picture, sound) segment starts (`pair_moments`): the
    dub's `segment_frames`, else the longest of its halves (down to `config.shortest_segment`)
    that still finds a pair where the source speaks; None where none does."""
    length = segment_frames
    while True:
        moments = pair_moments(segment_starts(speaking, bank.follows(), length), times, config.pairs, config.min_gap_s)
        if moments:
            return length, moments
        if length // 2 < config.shortest_segment:
            return None
        length //= 2


def trusted_scale(terms: np.ndarray) -> float:
    """The largest share s in [0, 1] of the model's edit that does no harm on the own test
    (`gain_db(terms, s) >= 0`): 1 where the whole edit does none; else, as A + 2 s B + s^2 C <= A
    holds for 0 <= s <= -2 B / C, that bound (twice the share that errs least); 0 where any
    share errs more than the picture left as it was (B >= 0)."""
    a, b, c = terms
    if 2.0 * b + c <= 0.0:
        return 1.0
    if b >= 0.0 or c <= 0.0:
        return 0.0
    return float(min(1.0, -2.0 * b / c))


def least_error_scale(terms: np.ndarray) -> float:
    """The share s in [0, 1] of the model's edit whose own-test error A + 2 s B + s^2 C is least:
    -B / C (0 where the edit only harms, B >= 0)."""
    _, b, c = terms
    if b >= 0.0 or c <= 0.0:
        return 0.0
    return float(min(1.0, -b / c))
