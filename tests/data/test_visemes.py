import numpy as np

from omnisync_cli.data.speech import SILENCE
from omnisync_cli.data.visemes import ARTICULATION_LEVELS, REST, articulation_prompt, phoneme_classes, viseme_track

OPEN, WIDTH, ROUND = 0, 1, 2


def test_silence_gives_a_closed_still_mouth():
    phonemes = [(SILENCE, 0.0, 0.5), ("m", 0.5, 0.6), ("a", 0.6, 0.8), (SILENCE, 0.8, 2.0)]
    track = viseme_track(phonemes, np.arange(50) / 25, amplitude=1.2)
    assert np.array_equal(track[:8], np.tile(REST, (8, 1)))   # lead-in silence
    assert np.array_equal(track[30:], np.tile(REST, (20, 1)))  # long pause: exactly rest
    assert track[:, OPEN].max() > 0.5


def test_open_vowels_open_and_bilabials_close():
    phonemes = [(SILENCE, 0.0, 0.3), ("a", 0.3, 0.6), ("m", 0.6, 0.75), ("a", 0.75, 1.05), (SILENCE, 1.05, 1.5)]
    t = np.array([0.45, 0.675, 0.9]) - 0.03  # mid-phoneme, minus the anticipation lead
    open_a, closed_m, open_a2 = viseme_track(phonemes, t)[:, OPEN]
    assert open_a > 0.8 and open_a2 > 0.8 and closed_m < 0.2


def test_rounded_and_spread_vowels_differ_in_width():
    def shape(p):
        return viseme_track([(SILENCE, 0, 0.2), (p, 0.2, 0.6), (SILENCE, 0.6, 1.0)], np.array([0.37]))[0]
    assert shape("uː")[ROUND] > 0.8 > shape("iː")[ROUND]
    assert shape("iː")[WIDTH] > shape("uː")[WIDTH] + 0.4


def test_diphthongs_split_and_unknown_symbols_are_tolerated():
    assert phoneme_classes("aɪ") == ["open", "close_front"]
    assert phoneme_classes("ɐ̃ʊ̃") == ["open", "close_back"]
    assert phoneme_classes("tʃ") == ["postalveolar"]
    assert phoneme_classes("?") == ["schwa"]


def test_amplitude_scales_motion_and_prompts_follow_levels():
    phonemes = [(SILENCE, 0, 0.2), ("a", 0.2, 0.5), ("t", 0.5, 0.6), ("o", 0.6, 0.9), (SILENCE, 0.9, 1.2)]
    t = np.arange(30) / 25
    rng = np.random.default_rng(0)
    motions = []
    for level in range(len(ARTICULATION_LEVELS)):
        lvl, amp, prompt = articulation_prompt(rng, level)
        assert lvl == level and prompt in ARTICULATION_LEVELS[level][1]
        motions.append(np.abs(viseme_track(phonemes, t, amp) - REST).sum())
    assert all(a < b for a, b in zip(motions, motions[1:]))
    prompts = {articulation_prompt(rng, 4)[2] for _ in range(40)}
    assert len(prompts) > 1  # not one fixed string per level


def test_a_lowest_level_draws_nothing_quieter_and_zero_draws_as_before():
    draws = lambda lowest: [articulation_prompt(np.random.default_rng(k), None, lowest)[0] for k in range(60)]  # noqa: E731
    assert min(draws(2)) == 2 and max(draws(2)) == len(ARTICULATION_LEVELS) - 1
    # lowest 0 is the draw corpora were made with before the option
    assert draws(0) == [int(np.random.default_rng(k).integers(len(ARTICULATION_LEVELS))) for k in range(60)]
    assert min(draws(0)) == 0
