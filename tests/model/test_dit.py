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


@pytest.mark.parametrize("grown", [{}, {"output_flow": True}])
def test_every_condition_reaches_the_output(grown):
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny", **grown)))
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


def test_warp_moves_pixels_by_the_flow_and_a_zero_flow_is_exact():
    from omnisync_cli.model.dit import warp
    frames = torch.rand(1, 2, 3, 8, 8)
    still = torch.zeros(1, 2, 2, 8, 8)
    assert torch.equal(warp(frames, still), frames)
    down = still.clone()
    down[:, :, 1] = -2.0  # out[y] = in[y - 2]: the picture moves 2 px down
    moved = warp(frames, down)
    assert torch.allclose(moved[..., 2:, :], frames[..., :-2, :], atol=1e-6)
    assert torch.allclose(moved[..., :2, :], frames[..., :1, :].expand(-1, -1, -1, 2, -1), atol=1e-6)  # border
    right = still.clone()
    right[:, :, 0] = -0.5  # half a pixel: the mean of the two neighbours
    half = warp(frames, right)
    assert torch.allclose(half[..., 1:], (frames[..., 1:] + frames[..., :-1]) / 2, atol=1e-6)


def test_displacement_head_starts_as_a_no_op_and_then_moves_the_source():
    from omnisync_cli.train.loop import init_from_trained
    torch.manual_seed(0)
    plain = perturbed(OmniSyncDiT(get_preset("tiny")))
    grown = OmniSyncDiT(get_preset("tiny", output_flow=True))
    fresh = init_from_trained(grown, plain, "plain/")
    assert fresh and all(k.startswith("flow_head.") for k in fresh)
    kw = inputs(plain)
    assert torch.allclose(grown(**kw), plain(**kw), atol=1e-6)  # zero-initialised head
    # trained (perturbed) with the residual head cut: the output is the source, moved
    perturbed(grown, seed=1)
    with torch.no_grad():
        grown.final_layer.linear.weight.zero_()
        grown.final_layer.linear.bias.zero_()
    kw["sigma"] = torch.tensor([0.5, 0.5])
    x_hat = kw["x"] - 0.5 * grown(**kw)
    assert not torch.allclose(x_hat, kw["source"], atol=1e-3)
    # a flat source stays flat however it is moved: the head moves pixels, it does not paint
    flat = torch.full_like(kw["source"], 0.3)
    x_flat = kw["x"] - 0.5 * grown(**{**kw, "source": flat})
    assert torch.allclose(x_flat, flat, atol=1e-5)
    with pytest.raises(ConfigError, match="output_flow"):
        get_preset("tiny", output_flow=True, prediction="v")


def test_reference_attention_starts_as_a_no_op_then_reads_the_references():
    from omnisync_cli.train.loop import init_from_trained
    torch.manual_seed(0)
    plain = perturbed(OmniSyncDiT(get_preset("tiny")))
    grown = OmniSyncDiT(get_preset("tiny", reference_frames=2))
    fresh = init_from_trained(grown, plain, "plain/")
    assert fresh and all(k.startswith("reference_") or ".ref_attn." in k for k in fresh)
    kw = inputs(plain)
    refs = torch.rand(2, 2, 3, 16, 16) * 2 - 1
    assert torch.allclose(grown(**kw, references=refs), plain(**kw), atol=1e-6)  # zeroed output projections
    perturbed(grown, seed=1)
    with_refs = grown(**kw, references=refs)
    assert not torch.allclose(with_refs, grown(**kw, references=-refs))
    # clip 0's references change clip 0 only; no references at all is the plain network's path
    other = refs.clone()
    other[0] = -other[0]
    moved = grown(**kw, references=other)
    assert not torch.allclose(moved[0], with_refs[0]) and torch.allclose(moved[1], with_refs[1], atol=1e-6)
    without = grown(**kw)
    for block in grown.blocks:
        block.ref_attn = None
    assert torch.allclose(without, grown(**kw, references=refs), atol=1e-6)
    with pytest.raises(ValueError, match="2 reference frames"):
        OmniSyncDiT(get_preset("tiny", reference_frames=2))(**kw, references=refs[:, :1])
    with pytest.raises(ConfigError, match="reference_frames"):
        get_preset("tiny", reference_frames=-1)


def test_a_model_with_references_is_fine_tuned_only_with_as_many():
    from omnisync_cli.train.loop import init_from_trained
    with_refs = OmniSyncDiT(get_preset("tiny", reference_frames=2))
    with pytest.raises(ConfigError, match="--reference-frames 2"):
        init_from_trained(OmniSyncDiT(get_preset("tiny")), with_refs, "refs/")
    with pytest.raises(ConfigError, match="--reference-frames 2"):
        init_from_trained(OmniSyncDiT(get_preset("tiny", reference_frames=3)), with_refs, "refs/")
    again = OmniSyncDiT(get_preset("tiny", reference_frames=2))
    assert init_from_trained(again, with_refs, "refs/") == []


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
