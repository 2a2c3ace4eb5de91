import numpy as np
import pytest

from omnisync_cli.data import recorded
from omnisync_cli.data.speech import SAMPLE_RATE, SILENCE
from omnisync_cli.data.visemes import _SYMBOLS, phoneme_classes, viseme_track
from omnisync_cli.errors import InputError


def test_every_arpabet_phone_maps_to_a_known_viseme():
    assert len(recorded.ARPABET_TO_IPA) == 39
    for ipa in recorded.ARPABET_TO_IPA.values():
        # every character that carries a shape is in the viseme table (no schwa fallback)
        assert all(ch in _SYMBOLS for ch in ipa), ipa
        assert 1 <= len(phoneme_classes(ipa)) <= 2


def test_spoken_text_spells_numbers_and_drops_stage_directions():
    assert recorded.spoken_text("Press 1, or 42 for help.") == "press one or forty two for help"
    assert recorded.spoken_text("followed by # or *") == "followed by pound or star"
    assert recorded.spoken_text("A.M.") == "a m"
    assert recorded.spoken_text("press the pound key. (simple tone sound plays)") == \
        "press the pound key"
    assert recorded.spoken_text("[ascending tones]") is None
    assert recorded.spoken_text("H.323") is None


def test_append_closes_gaps_and_merges_silence():
    out = []
    for seg in [(SILENCE, 0.0, 0.2), (SILENCE, 0.2, 0.3), ("a", 0.35, 0.5), ("b", 0.5, 0.5)]:
        recorded._append(out, *seg)
    assert out == [(SILENCE, 0.0, 0.35), ("a", 0.35, 0.5)]


def test_read_transcripts_skips_comments(tmp_path):
    path = tmp_path / "sounds.txt"
    path.write_text("; header\n\ndigits/7: seven\nvm-intro: Please leave: a message\n")
    assert recorded.read_transcripts(path) == {"digits/7": "seven",
                                               "vm-intro": "Please leave: a message"}


@pytest.fixture(scope="module")
def aligner():
    pytest.importorskip("pocketsphinx")
    if not recorded.SOUNDS_DIR.is_dir() or not recorded.TRANSCRIPTS.is_file():
        pytest.skip("asterisk-core-sounds-en(-wav) not installed")
    return recorded.Aligner()


@pytest.fixture(scope="module")
def prompts(aligner):
    return {p.name: p for p in recorded.load_prompts()}


def test_recorded_prompt_aligns_to_contiguous_phonemes(aligner, prompts):
    assert len(prompts) > 400
    utt = aligner.utterance(prompts["agent-loggedoff"], pad_s=0.3)  # "agent logged off"
    assert utt.waveform.dtype == np.float32 and utt.waveform.ndim == 1
    assert abs(utt.seconds - (recorded.load_waveform(prompts["agent-loggedoff"].path).size
                              / SAMPLE_RATE + 0.6)) < 1e-3
    phones = utt.phonemes
    assert phones[0][0] == SILENCE and phones[0][2] >= 0.25  # the padding is silence
    assert phones[-1][0] == SILENCE and phones[-1][2] == pytest.approx(utt.seconds)
    assert all(a[2] == pytest.approx(b[1]) for a, b in zip(phones, phones[1:]))
    spoken = [p for p, _, _ in phones if p != SILENCE]
    assert spoken[:2] == ["eɪ", "dʒ"] and spoken[-2:] == ["ɔ", "f"]
    track = viseme_track(phones, np.arange(0, utt.seconds, 0.04))
    assert track[:5, 0].max() == 0.0 and track[:, 0].max() > 0.5  # closed, then speaking


def test_unknown_word_is_a_clear_error(aligner):
    with pytest.raises(InputError, match="dictionary"):
        aligner.align(np.zeros(SAMPLE_RATE, np.float32), "qzxv")


def test_alignment_does_not_depend_on_what_was_aligned_before(aligner, prompts):
    first = aligner.utterance(prompts["agent-loggedoff"]).phonemes
    aligner.utterance(prompts["agent-pass"])
    assert aligner.utterance(prompts["agent-loggedoff"]).phonemes == first


def test_a_recorded_utterance_fills_the_clip_with_a_person_speaking(aligner):
    utt = recorded.recorded_utterance(np.random.default_rng(3), 3.0)
    assert utt.voice == recorded.VOICE and utt.waveform.size == 3 * SAMPLE_RATE
    phones = utt.phonemes
    assert phones[0] == (SILENCE, 0.0, phones[0][2]) and phones[0][2] >= 0.2  # the lead is silent
    assert phones[-1][0] == SILENCE and phones[-1][2] == pytest.approx(3.0)
    assert all(a[2] == pytest.approx(b[1]) for a, b in zip(phones, phones[1:]))
    assert np.abs(utt.waveform[: int(0.19 * SAMPLE_RATE)]).max() == 0.0
    assert np.abs(utt.waveform[-int(0.29 * SAMPLE_RATE):]).max() == 0.0
    assert utt.waveform.nonzero()[0].ptp() >= 0.35 * 3 * SAMPLE_RATE  # not a lone word


def test_a_recorded_benchmark_keeps_the_espeak_benchmarks_source(aligner):
    """`synth --bench-speech recorded`: the same source clip, a person's speech as the new one."""
    import dataclasses

    from omnisync_cli.data.corpus import PRESETS, ClipJob, make_clip
    config = dataclasses.replace(PRESETS["tiny"], clip_seconds=3.0, frame_size=80, crop_size=24)
    job = ClipJob("bench", "heldout-head", 0, 0, config)
    espeak = make_clip(job)
    person = make_clip(dataclasses.replace(job, config=dataclasses.replace(config, bench_speech="recorded")))
    assert np.array_equal(espeak["clips"][0].frames, person["clips"][0].frames)
    assert espeak["utterances"][0]["voice"] == person["utterances"][0]["voice"] != recorded.VOICE
    assert person["utterances"][1]["voice"] == recorded.VOICE
    assert person["utterances"][1]["waveform"].size == 3 * SAMPLE_RATE
    assert not np.array_equal(espeak["clips"][1].mouth_shapes, person["clips"][1].mouth_shapes)
