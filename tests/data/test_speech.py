import numpy as np

from omnisync_cli.data.speech import SAMPLE_RATE, SILENCE, is_heldout_text, random_sentence, random_utterance, synthesize


def test_synthesize_gives_16k_audio_and_contiguous_phonemes():
    utt = synthesize("hello world", "en", rate=170)
    assert utt.waveform.dtype == np.float32 and utt.waveform.ndim == 1
    assert 0.4 < utt.seconds < 2.5 and np.abs(utt.waveform).max() > 0.05
    names = [p for p, _, _ in utt.phonemes]
    assert "h" in names and "l" in names
    for (_, s0, e0), (_, s1, _) in zip(utt.phonemes, utt.phonemes[1:]):
        assert e0 == s1 and e0 > s0
    assert abs(utt.phonemes[-1][2] - utt.seconds) < 1 / SAMPLE_RATE * 2


def test_same_seed_same_speech_bit_exact():
    a = random_utterance(np.random.default_rng(4), 2.0)
    synthesize("something else first", "de+f2")  # espeak's history must not matter
    b = random_utterance(np.random.default_rng(4), 2.0)
    assert a.text == b.text and a.voice == b.voice and a.phonemes == b.phonemes
    assert np.array_equal(a.waveform, b.waveform)
    assert len(a.waveform) == 2 * SAMPLE_RATE
    assert a.phonemes[0][0] == SILENCE and a.phonemes[-1][0] == SILENCE


def test_heldout_texts_are_disjoint_from_training_texts():
    rng = np.random.default_rng(0)
    train = {random_sentence(rng, "en", 4) for _ in range(200)}
    bench = {random_sentence(rng, "en", 4, heldout=True) for _ in range(50)}
    assert not train & bench
    assert all(is_heldout_text(t) for t in bench) and not any(is_heldout_text(t) for t in train)


def test_language_is_the_iso_code_of_the_voice():
    assert synthesize("hello", "en-gb-scotland+f2").language == "en"
    assert synthesize("hola", "es-419").language == "es"
    assert synthesize("hallo", "de").language == "de"
