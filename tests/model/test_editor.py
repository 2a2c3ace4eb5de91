"""ModelEditor: the Editor contract, progressive init + guided sampling, seeds, call counts."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.guidance.dscfg import GuidanceConfig
from omnisync_cli.model.audio import AudioFeatures
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor, SamplerConfig, crops_to_tensor, tensor_to_crops
from omnisync_cli.model.weights import save_model
from tests.model.test_dit import perturbed


class CountingModel(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.inner, self.config, self.batches = model, model.config, []

    def forward(self, x, sigma, *args, **kwargs):
        self.batches.append((x.shape[0], round(float(sigma.max()), 6)))
        return self.inner(x, sigma, *args, **kwargs)


def segment(editor, f=4, seed=0):
    rng = np.random.default_rng(seed)
    s = editor.region_size
    crops = rng.integers(0, 256, (f, s, s, 3), dtype=np.uint8)
    audio = editor.prepare_audio(rng.standard_normal(16000).astype(np.float32) * 0.1)
    return crops, np.arange(f) / 25.0, np.full((f, 2), 0.5), audio


@pytest.fixture
def model():
    torch.manual_seed(0)
    return perturbed(OmniSyncDiT(get_preset("tiny")), seed=1)


def test_editor_contract_and_uint8_round_trip(model):
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu"))
    assert (editor.segment_frames, editor.overlap_frames, editor.region_size) == (4, 1, 16)
    crops, times, mouth, audio = segment(editor)
    assert isinstance(audio, AudioFeatures)
    out = editor.edit(crops, times, mouth, audio)
    assert out.shape == crops.shape and out.dtype == np.uint8
    assert np.array_equal(tensor_to_crops(crops_to_tensor(crops)), crops)
    with pytest.raises(InputError):
        editor.edit(crops[:, :8], times, mouth, audio)


def test_same_seed_same_edit_other_seed_other_edit(model):
    editor = ModelEditor(model, SamplerConfig(steps=2, seed=7, device="cpu"))
    args = segment(editor)
    first = editor.edit(*args)
    assert np.array_equal(first, editor.edit(*args))
    other = ModelEditor(model, SamplerConfig(steps=2, seed=8, device="cpu")).edit(*args)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("mode,sampler,calls,batch", [
    ("ds", "euler", 3, 2), ("static", "euler", 3, 2), ("none", "euler", 3, 1), ("ds", "heun", 5, 2)])
def test_runs_only_the_steps_from_tau_with_batched_guidance(model, mode, sampler, calls, batch):
    counting = CountingModel(model)
    cfg = SamplerConfig(tau=0.6, steps=3, sampler=sampler, guidance=GuidanceConfig(mode), device="cpu")
    editor = ModelEditor(counting, cfg)
    editor.edit(*segment(editor))
    assert len(counting.batches) == calls
    assert all(b == batch for b, _ in counting.batches)
    assert counting.batches[0][1] == pytest.approx(0.6) and max(s for _, s in counting.batches) <= 0.6


@pytest.mark.parametrize("tau,mode", [(0.92, "ds"), (1.0, "none"), (0.5, "static")])
def test_untrained_network_is_a_no_op_editor(tau, mode):
    # The zeroed head predicts x_hat = source, so every Euler step heads straight for the
    # source and the last one lands on it: whatever tau, the crops come back unchanged.
    editor = ModelEditor(OmniSyncDiT(get_preset("tiny")),
                         SamplerConfig(tau=tau, steps=3, device="cpu", guidance=GuidanceConfig(mode)))
    crops, times, mouth, audio = segment(editor)
    out = editor.edit(crops, times, mouth, audio)
    assert np.abs(out.astype(int) - crops).max() <= 1


def test_from_dir_prompt_and_bf16(model, tmp_path):
    save_model(model, tmp_path)
    editor = ModelEditor.from_dir(tmp_path, SamplerConfig(steps=1, device="cpu", dtype="bf16"),
                                  prompt="speaking loudly")
    assert editor.text is not None and editor.text.shape == (model.config.text_dim,)
    out = editor.edit(*segment(editor))
    assert out.dtype == np.uint8
    with pytest.raises(ConfigError):
        replace(SamplerConfig(), tau=0.0)


@pytest.mark.parametrize("prompt", ["大声で話す、歯がはっきり見える", "говорит громко", "!!!"])
def test_a_prompt_the_model_reads_no_word_of_is_refused(model, prompt):
    with pytest.raises(ConfigError, match="English words"):
        ModelEditor(model, SamplerConfig(steps=1, device="cpu"), prompt=prompt)
    assert ModelEditor(model, SamplerConfig(steps=1, device="cpu"), prompt="  ").text is None  # blank: no prompt


def test_audio_gate_keeps_the_source_where_the_audio_changed_nothing(model):
    """With the gate, an edit lands only where the two guided passes differ: on a network
    whose audio path is cut (the null audio equals the audio), the crops come back as they were."""
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu", audio_gate=True))
    crops, times, mouth, audio = segment(editor)
    ungated = ModelEditor(model, SamplerConfig(steps=2, device="cpu", audio_gate=False))
    assert not np.array_equal(ungated.edit(crops, times, mouth, audio), crops)
    assert not np.array_equal(editor.edit(crops, times, mouth, audio), crops)  # the audio does act here

    deaf = CountingModel(model)
    deaf.forward = lambda x, sigma, source, audio, text, drop_audio=None, drop_text=None: model(x, sigma, source, audio, text)
    gated = ModelEditor(deaf, SamplerConfig(steps=2, device="cpu", audio_gate=True)).edit(crops, times, mouth, audio)
    assert np.array_equal(gated, crops)
    ungated = ModelEditor(deaf, SamplerConfig(steps=2, device="cpu", audio_gate=False)).edit(crops, times, mouth, audio)
    assert not np.array_equal(ungated, crops)


def test_the_same_speech_is_encoded_once_across_sampler_copies(model):
    """tune's cells and the benchmark's variants dub one track with several samplers."""
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu"))
    calls = []
    frontend = editor.audio_frontend

    class Counting:
        def features(self, waveform):
            calls.append(len(waveform))
            return frontend.features(waveform)

    editor.audio_frontend = Counting()
    speech = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    first = editor.prepare_audio(speech)
    again = editor.with_sampler(SamplerConfig(steps=1, device="cpu")).prepare_audio(speech.copy())
    assert again is first and calls == [16000]
    other = speech.copy()
    other[100] += 0.5
    assert editor.prepare_audio(other) is not first and calls == [16000, 16000]
    # the source's own track, read by the mouth bank's donors and its own test: once, apart
    source = editor.audio_features(speech)
    assert editor.audio_features(speech.copy()) is source and calls == [16000] * 3
    assert editor.prepare_audio(other) is not source and calls == [16000] * 3  # each cache keeps its own


def test_the_silence_peak_applies_to_silent_frames_only(model):
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu", silence_peak=6.0,
                                              guidance=GuidanceConfig(w_peak=2.0)))
    speech = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    speech[8000:12000] = 0.0  # silent over 0.5-0.75 s
    audio = editor.prepare_audio(speech)
    peaks = editor._silence_peaks(audio, np.array([0.2, 0.56, 0.64, 0.9]))
    assert peaks.tolist() == [[2.0, 6.0, 6.0, 2.0]]
    assert ModelEditor(model, SamplerConfig(steps=2, device="cpu"))._silence_peaks(audio, np.zeros(2)) is None
    crops, times, mouth, _ = segment(editor)
    plain = ModelEditor(model, SamplerConfig(steps=2, device="cpu")).edit(crops, times + 0.5, mouth, audio)
    raised = editor.edit(crops, times + 0.5, mouth, audio)  # frames at 0.5-0.62 s: silent
    assert not np.array_equal(plain, raised)


def test_an_editor_of_a_model_with_references_uses_them():
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny", reference_frames=2)), seed=1)
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu"))
    assert editor.reference_frames == 2
    crops, times, mouth, audio = segment(editor)
    refs = np.random.default_rng(3).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    with_refs = editor.edit(crops, times, mouth, audio, references=refs)
    assert not np.array_equal(with_refs, editor.edit(crops, times, mouth, audio, references=255 - refs))
    assert np.array_equal(with_refs, editor.edit(crops, times, mouth, audio, references=refs))
    with pytest.raises(InputError, match="reference crops"):
        editor.edit(crops, times, mouth, audio, references=refs[:1])
    assert ModelEditor(OmniSyncDiT(get_preset("tiny")), SamplerConfig(device="cpu")).reference_frames == 0


def test_hide_mouth_shows_the_model_nothing_of_the_sources_mouth(model):
    """Shuffling the pixels inside the mouth box (same frame mean) changes nothing the model
    sees with hide_mouth, and changes the edit without it."""
    crops, times, mouth, audio = segment(ModelEditor(model, SamplerConfig(device="cpu")))
    shuffled = crops.copy()
    box = shuffled[:, 6:10, 6:10]  # the 0.4 box around the centre of a 16 px crop: rows/cols 5-10
    shuffled[:, 6:10, 6:10] = box[:, ::-1, ::-1]
    for hide, same in ((0.4, True), (0.0, False)):
        editor = ModelEditor(model, SamplerConfig(device="cpu", hide_mouth=hide))
        a, b = editor.edit(crops, times, mouth, audio), editor.edit(shuffled, times, mouth, audio)
        assert np.array_equal(a, b) == same
    with pytest.raises(ConfigError):
        SamplerConfig(hide_mouth=1.5)


def test_sound_keys_are_the_networks_own_audio_embedding_at_each_time(model):
    """What the mouth bank matches sounds by (pipeline.mouth_bank): unit vectors, one per time."""
    from omnisync_cli.model.audio import windows_at
    editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu"))
    speech = np.random.default_rng(2).standard_normal(16000).astype(np.float32) * 0.1
    features = editor.audio_features(speech)
    times = np.arange(300) / 300.0  # more than one batch of 256
    keys = editor.sound_keys(features, times)
    assert keys.shape == (300, model.config.hidden_size) and keys.dtype == np.float32
    assert np.allclose(np.linalg.norm(keys, axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        direct = model.audio_embed(windows_at(features, times[[0, 299]], model.config.audio_window_s)[None])[0]
    assert np.allclose(keys[[0, 299]], torch.nn.functional.normalize(direct, dim=-1).numpy(), atol=1e-5)
    assert not np.allclose(keys[0], keys[150])  # the key follows the audio
    assert editor.sound_keys(features, np.zeros(0)).shape == (0, model.config.hidden_size)


def test_settings_name_the_weights_the_sampling_and_the_prompt(model):
    """What a dub's provenance hashes (pipeline.options.dub_settings): equal for the same model and
    settings, different for other weights, sampling or prompt."""
    base = ModelEditor(model, SamplerConfig())
    assert base.settings == ModelEditor(model, SamplerConfig()).settings
    assert base.settings != base.with_sampler(SamplerConfig(tau=0.5)).settings
    assert base.settings != ModelEditor(model, SamplerConfig(), prompt="speaking loudly").settings
    other = perturbed(OmniSyncDiT(get_preset("tiny")), seed=2)
    assert base.settings != ModelEditor(other, SamplerConfig()).settings
