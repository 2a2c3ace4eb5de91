"""The network: shapes, adaLN-Zero start, what each input changes, presets, precision."""

import pytest
import torch

from omnisync_cli.errors import ConfigError
from omnisync_cli.model.config import PRESETS, ModelConfig, get_preset
from omnisync_cli.model.device import autocast, cpu_has_native_bf16, resolve_device
from omnisync_cli.model.dit import OmniSyncDiT


def inputs(model, b=2, seed=0):
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    shape = (b, cfg.segment_frames, 3, cfg.region_size, cfg.region_size)
    return dict(x=torch.randn(shape, generator=g), sigma=torch.rand(b, generator=g),
                source=torch.rand(shape, generator=g) * 2 - 1,
                audio=torch.randn(b, cfg.segment_frames, model.audio_window, model.audio_channels, generator=g),
                text=torch.randn(b, cfg.text_dim, generator=g))


def perturbed(model, seed=0):
    """The zero-initialised layers given random values, so every input can show its effect."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


@pytest.mark.parametrize("attention", ["joint", "factorized"])
def test_forward_shape_and_the_untrained_network_predicts_the_source(attention):
    torch.manual_seed(0)
    model = OmniSyncDiT(get_preset("tiny", attention=attention))
    kw = inputs(model)
    v = model(**kw)
    assert v.shape == kw["x"].shape
    # adaLN-Zero zeroes the head, so x_hat = source: v = (x - source) / sigma
    sigma = kw["sigma"].view(-1, 1, 1, 1, 1)
    assert torch.allclose(v, (kw["x"] - kw["source"]) / sigma, atol=1e-5)
    raw = OmniSyncDiT(get_preset("tiny", attention=attention, prediction="v"))
    assert torch.count_nonzero(raw(**kw)) == 0


def test_x_prediction_is_converted_to_the_velocity():
    torch.manual_seed(0)
    v_model = perturbed(OmniSyncDiT(get_preset("tiny", prediction="v")))
    torch.manual_seed(0)
    x_model = perturbed(OmniSyncDiT(get_preset("tiny", prediction="x", source_skip=False)))
    kw = inputs(v_model)
    kw["sigma"] = torch.tensor([0.5, 0.01])  # the second is below the 0.05 floor
    head = v_model(**kw)  # same weights: the raw head output is x_hat for the x model
    expected = (kw["x"] - head) / torch.tensor([0.5, 0.05]).view(-1, 1, 1, 1, 1)
    assert torch.allclose(x_model(**kw), expected, atol=1e-5)


def test_every_condition_reaches_the_output():
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny")))
    kw = inputs(model)
    base = model(**kw)
    assert not torch.allclose(base, model(**{**kw, "source": -kw["source"]}))  # mask-free V_cd
    assert not torch.allclose(base, model(**{**kw, "audio": kw["audio"] + 1}))
    assert not torch.allclose(base, model(**{**kw, "text": None}))
    assert not torch.allclose(base, model(**{**kw, "sigma": kw["sigma"] * 0.5}))
    # dropping the audio of clip 0 only changes clip 0, and equals the null-audio embedding
    dropped = model(**kw, drop_audio=torch.tensor([True, False]))
    assert not torch.allclose(base[0], dropped[0]) and torch.allclose(base[1], dropped[1])
    other_audio = model(**{**kw, "audio": kw["audio"] * 3}, drop_audio=torch.tensor([True, False]))
    assert torch.allclose(dropped[0], other_audio[0], atol=1e-6)
    no_text = model(**kw, drop_text=torch.tensor([True, True]))
    assert torch.allclose(no_text, model(**{**kw, "text": None}), atol=1e-6)


def test_frame_audio_modulates_its_own_frame_most():
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny", attention="factorized")))
    kw = inputs(model, b=1)
    audio = kw["audio"].clone()
    audio[:, 2] += 2.0
    diff = (model(**kw) - model(**{**kw, "audio": audio})).abs().mean(dim=(0, 2, 3, 4))  # (F,)
    assert diff.argmax().item() == 2


def test_audio_attention_starts_as_a_no_op_and_is_silent_when_the_audio_is_dropped():
    torch.manual_seed(0)
    plain = perturbed(OmniSyncDiT(get_preset("tiny")))
    attending = OmniSyncDiT(get_preset("tiny", audio_attention=True))
    missing, unexpected = attending.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".audio_attn." in k or k.startswith("audio_tokens.") for k in missing)
    kw = inputs(plain)
    # zero-initialised output projections: the block gains audio attention as the identity
    assert torch.allclose(attending(**kw), plain(**kw), atol=1e-6)
    perturbed(attending, seed=1)
    base = attending(**kw)
    assert not torch.allclose(base, attending(**{**kw, "audio": kw["audio"] + 1}))
    # CFG's unconditional pass: with the audio dropped, no audio reaches the output at all
    drop = torch.tensor([True, False])
    dropped = attending(**kw, drop_audio=drop)
    other = attending(**{**kw, "audio": kw["audio"] * 3 + 1}, drop_audio=drop)
    assert torch.allclose(dropped[0], other[0], atol=1e-6) and not torch.allclose(dropped[1], other[1])
    assert torch.allclose(dropped[1], base[1], atol=1e-6)


def test_mouth_hint_is_a_seventh_channel_that_starts_unheard():
    torch.manual_seed(0)
    plain = perturbed(OmniSyncDiT(get_preset("tiny")))
    hinted = OmniSyncDiT(get_preset("tiny", mouth_hint=True))
    assert hinted.patch_embed.proj.weight.shape[1] == 7
    assert torch.count_nonzero(hinted.patch_embed.proj.weight[:, 6]) == 0
    state = plain.state_dict()
    w = state["patch_embed.proj.weight"]
    state["patch_embed.proj.weight"] = torch.cat([w, torch.zeros_like(w[:, :1])], dim=1)
    hinted.load_state_dict(state)
    kw = inputs(plain)
    mouth = torch.full((2, hinted.config.segment_frames, 2), 0.5)
    assert torch.allclose(hinted(**kw, mouth_xy=mouth), plain(**kw), atol=1e-6)
    perturbed(hinted, seed=1)
    moved = mouth.clone()
    moved[1, :, 1] = 0.8  # clip 1's mouth lower in the crop
    a, b = hinted(**kw, mouth_xy=mouth), hinted(**kw, mouth_xy=moved)
    assert torch.allclose(a[0], b[0]) and not torch.allclose(a[1], b[1])
    with pytest.raises(ValueError, match="mouth"):
        hinted(**kw)


def test_gaussian_bump_peaks_at_the_point_and_falls_by_the_radius():
    from omnisync_cli.model.layers import gaussian_bump
    bump = gaussian_bump(torch.tensor([[0.25, 0.75]]), 8, 0.125)[0]  # pixel centres at (k + 0.5) / 8
    assert bump.shape == (8, 8)
    assert bump[5:7, 1:3].min() > bump.max() * 0.6  # the four pixels around (x 0.25, y 0.75)
    # one radius (one pixel) from a pixel centre at d = 1/16: exp(-(1/16^2 + 1/16^2 + ...) ...)
    d2 = (0.0625 ** 2 + 0.0625 ** 2)
    assert torch.isclose(bump[5, 1], torch.exp(torch.tensor(-d2 / (2 * 0.125 ** 2))))


def test_scalar_sigma_and_seeded_init_are_reproducible():
    torch.manual_seed(5)
    a = perturbed(OmniSyncDiT(get_preset("tiny")))
    torch.manual_seed(5)
    b = perturbed(OmniSyncDiT(get_preset("tiny")))
    kw = inputs(a)
    assert torch.equal(a(**kw), b(**kw))
    kw["sigma"] = torch.tensor(0.3)
    assert torch.equal(a(**kw), a(**{**kw, "sigma": torch.tensor([0.3, 0.3])}))


def test_presets_build_and_cpu_small_is_a_few_million_parameters():
    assert {"tiny", "cpu-small", "paper"} <= set(PRESETS)
    n = OmniSyncDiT(get_preset("cpu-small")).num_parameters()
    assert 2_000_000 < n < 6_000_000
    paper = get_preset("paper")
    assert paper.region_size > 64 and paper.depth > 6
    assert paper.audio_frontend == "whisper" and paper.text_encoder == "t5"


def test_config_validation_and_dict_round_trip():
    cfg = get_preset("cpu-small")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="Unknown model config keys"):
        ModelConfig.from_dict({**cfg.to_dict(), "dropout": 0.1})
    with pytest.raises(ConfigError, match="patch_size"):
        ModelConfig(region_size=60, patch_size=8)
    with pytest.raises(ConfigError, match="Unknown model preset"):
        get_preset("huge")


def test_device_resolution():
    dev, dtype = resolve_device("auto", "auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    cpu_dtype = torch.bfloat16 if cpu_has_native_bf16() else None
    assert dev.type == expected and dtype == (torch.float16 if expected == "cuda" else cpu_dtype)
    assert resolve_device("cpu", "auto") == (torch.device("cpu"), cpu_dtype)
    assert resolve_device("cpu", "bf16") == (torch.device("cpu"), torch.bfloat16)
    with pytest.raises(ConfigError, match="fp16"):
        resolve_device("cpu", "fp16")
    with pytest.raises(ConfigError):
        resolve_device("cpu", "fp8")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            resolve_device("cuda")


def test_auto_precision_on_the_cpu_follows_its_bf16_instructions(monkeypatch):
    """auto is bf16 only where the CPU computes it natively (emulated bf16 is slower than fp32)."""
    for amx, avx512_bf16, expected in ((True, False, torch.bfloat16), (False, True, torch.bfloat16),
                                       (False, False, None)):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        assert resolve_device("cpu", "auto") == (torch.device("cpu"), expected)
        assert resolve_device("cpu", "fp32") == (torch.device("cpu"), None)  # asked for: kept
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert not cpu_has_native_bf16()  # a torch without the probe: fp32


def test_bf16_autocast_forward_on_cpu_is_close_to_fp32():
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny")))
    kw = inputs(model)
    ref = model(**kw)
    seen = []
    model.blocks[0].attn.qkv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with autocast(torch.device("cpu"), torch.bfloat16):
        low = model(**kw)
    assert seen == [torch.bfloat16]  # the transformer ran in bf16 ...
    assert low.dtype == torch.float32  # ... and the velocity comes out in fp32 for the sampler
    assert (low - ref).abs().mean() < 0.02 * ref.abs().mean()
