"""The voice detector's gate: speech kept as it is, music and noise between the words muted."""

import sys

import numpy as np
import pytest

from omnisync_cli.data.speech import synthesize
from omnisync_cli.media.speech_gate import (GateConfig, SAMPLE_RATE, at_listening_level, gate_mask, listening_gains,
                                           speech_only, speech_spans)

RATE = SAMPLE_RATE


def music_bed(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Soft chords with a beat and a little hiss: what sits under a video's dialogue."""
    t = np.arange(round(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    chords = [(220, 277, 330), (196, 247, 294), (175, 220, 262)]
    bed = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * (np.floor(t) % 3 == k)
              for k, chord in enumerate(chords) for f in chord)
    bed = bed + 2 * np.exp(-(t % 0.5) / 0.03) * np.sin(2 * np.pi * 60 * t) + 0.05 * rng.standard_normal(len(t))
    return (level * bed / np.sqrt(np.mean(bed ** 2))).astype(np.float32)


@pytest.fixture(scope="module")
def dialogue():
    """0.6 s of music, a sentence, 1.2 s of music, a sentence, 0.6 s of music; the bed 18 dB
    under the speech throughout. Returns the track and the (start, end) samples of the words."""
    first = synthesize("hello there, how are you today", "en", rate=170).waveform
    second = synthesize("I am quite well, thank you", "en", rate=170).waveform
    gap, pause = np.zeros(round(0.6 * RATE), np.float32), np.zeros(round(1.2 * RATE), np.float32)
    speech = np.concatenate([gap, first, pause, second, gap])
    level = float(np.sqrt(np.mean(first[np.abs(first) > 1e-3] ** 2)))
    words = [(len(gap), len(gap) + len(first)),
             (len(gap) + len(first) + len(pause), len(gap) + len(first) + len(pause) + len(second))]
    return speech + music_bed(len(speech) / RATE, level * 10 ** (-18 / 20)), words


def test_the_mask_is_one_on_the_spans_zero_away_from_them_and_ramps_between():
    mask = gate_mask(100, [(20, 40), (95, 120)], fade=5)
    assert mask.shape == (100,) and mask.dtype == np.float32
    assert np.all(mask[20:40] == 1) and np.all(mask[95:] == 1)
    assert np.all(mask[:15] == 0) and np.all(mask[45:90] == 0)
    assert np.all(np.diff(mask[14:21]) > 0) and np.all(np.diff(mask[39:46]) < 0)


def test_the_words_pass_and_the_music_between_them_is_muted(dialogue):
    track, words = dialogue
    gated = speech_only(track)
    assert gated.shape == track.shape and gated.dtype == np.float32
    margin = round(0.3 * RATE)  # beyond the gate's padding, the detector's hangover and the ramps
    between = slice(words[0][1] + margin, words[1][0] - margin)
    assert np.all(gated[between] == 0) and np.abs(track[between]).max() > 0.01
    assert np.all(gated[:words[0][0] - margin] == 0) and np.all(gated[words[1][1] + margin:] == 0)
    inside = slice(words[0][0] + margin, words[0][1] - margin)  # the first sentence, unchanged
    assert np.array_equal(gated[inside], track[inside])
    assert np.array_equal(speech_only(track, spans=speech_spans(track)), gated)  # spans given: the same
    assert not speech_only(track, spans=[]).any()


def test_a_quiet_recording_is_speech_all_the_same(dialogue):
    """46 dB down (a voice far from the microphone) the words are still found: the detector
    hears the track at a set level."""
    track, words = dialogue
    loud, quiet = speech_spans(track), speech_spans(track * 0.005)
    assert len(quiet) == len(loud) == 2
    assert all(abs(a - c) < 0.05 * RATE and abs(b - d) < 0.05 * RATE for (a, b), (c, d) in zip(loud, quiet))


def test_a_lone_quick_word_is_speech():
    """A single short word between pauses ("oh", "no": about 0.1 s at a quick rate) opens the
    gate; the detector's own 250 ms minimum muted it."""
    for word in ("oh", "no"):
        spoken = synthesize(word, "en", rate=400).waveform
        assert len(spoken) < 0.2 * RATE
        pause = np.zeros(RATE, np.float32)
        spans = speech_spans(np.concatenate([pause, spoken, pause]))
        assert len(spans) == 1
        start, end = spans[0]
        assert start <= len(pause) + 0.05 * RATE and end >= len(pause) + len(spoken) - 0.05 * RATE


def test_music_alone_is_not_speech():
    for level in (0.1, 0.001):  # loud or faint: the detector hears it at the same level
        bed = music_bed(3.0, level)
        assert speech_spans(bed) == [] and not speech_only(bed).any()
    hiss = np.random.default_rng(1).normal(0, 1e-4, 3 * RATE).astype(np.float32)
    assert speech_spans(hiss) == []


def test_a_track_shorter_than_one_detector_window_holds_no_speech():
    assert speech_spans(np.ones(100, np.float32)) == []
    assert speech_only(np.ones(100, np.float32), GateConfig()).shape == (100,)


def test_a_track_shorter_than_one_detector_window_is_heard_as_it_is():
    short = np.full(160, 0.2, np.float32)  # 0.01 s: nothing to judge it by
    assert speech_only(short) is short


def test_the_detector_leaves_torchs_thread_count_as_it_was(monkeypatch):
    # silero_vad sets PyTorch to one thread when imported: the network run after it would use one core
    import torch

    for name in [name for name in sys.modules if name.split(".")[0] == "silero_vad"]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh, as in a new process
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        speech_spans(np.zeros(16000, np.float32))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def three_lines(quieter_db: float, pause_s: float = 1.2) -> tuple[np.ndarray, tuple[int, int]]:
    """A line, a pause, a line `quieter_db` under it (an aside), a pause, a line, over a faint
    noise floor; returns the track and the (start, end) samples of the quieter line's voice
    (from its first to its last sample above a tenth of its peak)."""
    loud = synthesize("hello there, how are you today", "en", rate=170).waveform
    aside = synthesize("I am quite well, thank you", "en", rate=170).waveform * 10 ** (quieter_db / 20)
    pause = np.zeros(round(pause_s * RATE), np.float32)
    track = np.concatenate([pause[:RATE // 2], loud, pause, aside, pause, loud, pause[:RATE // 2]])
    start = RATE // 2 + len(loud) + len(pause)
    voiced = np.flatnonzero(np.abs(aside) > 0.1 * np.abs(aside).max())
    noise = np.random.default_rng(3).normal(0, 1e-4, len(track)).astype(np.float32)
    return track + noise, (start + voiced[0], start + voiced[-1])


def test_a_line_spoken_far_under_the_loud_ones_is_speech():
    """An aside 40 dB under the lines around it is heard at a speaking level of its own (the
    loudest sound near it sets the detector's level); at the whole track's one level it was missed."""
    track, (start, end) = three_lines(-40.0)

    def covered(spans):
        inside = np.zeros(len(track), bool)
        for a, b in spans:
            inside[a:b] = True
        return inside[start:end].mean()

    assert covered(speech_spans(track)) > 0.9
    assert covered(speech_spans(track, GateConfig(max_boost_db=0.0))) < 0.5  # one level for the whole track


def test_the_listening_level_follows_the_loudest_sound_nearby_within_its_bounds():
    config = GateConfig()
    track = np.zeros(8 * RATE, np.float32)
    track[:RATE] = 0.5 * np.sin(np.arange(RATE) / 5.0)        # loud for a second
    track[5 * RATE:] = 0.001 * np.sin(np.arange(3 * RATE) / 5.0)  # faint after a silence
    gains = listening_gains(track, config)
    block = round(config.block_s * RATE)
    whole = config.detect_peak / np.percentile(np.abs(track), 99.9)
    assert gains[0] == pytest.approx(whole, rel=0.01)  # the loud second: the whole track's level
    faint = gains[6 * RATE // block]
    assert faint == pytest.approx(whole * 10 ** (config.max_boost_db / 20), rel=0.01)  # raised, at most the boost
    assert gains.min() >= whole * 0.999 and gains.max() <= config.max_gain
    heard = at_listening_level(track, config)
    assert heard.dtype == np.float32 and heard.shape == track.shape
    assert np.abs(np.diff(heard[RATE:5 * RATE])).max() < 1e-6  # the silence stays silence
    assert np.abs(heard[6 * RATE:7 * RATE]).max() == pytest.approx(0.001 * faint, rel=0.02)


def test_a_music_bed_through_a_long_pause_stays_muted():
    """The level rises in a pause only so far (GateConfig.max_boost_db): a bed 18 dB under the
    voice through 4 s between two lines is not taken for speech."""
    track, _ = three_lines(0.0, pause_s=4.0)
    loud = synthesize("hello there, how are you today", "en", rate=170).waveform
    level = float(np.sqrt(np.mean(loud[np.abs(loud) > 1e-3] ** 2)))
    track = track + music_bed(len(track) / RATE, level * 10 ** (-18 / 20))
    gated = speech_only(track)
    first_pause = slice(RATE // 2 + len(loud) + round(0.4 * RATE), RATE // 2 + len(loud) + round(3.6 * RATE))
    assert not gated[first_pause].any()
