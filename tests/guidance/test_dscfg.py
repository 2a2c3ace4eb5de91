"""DS-CFG (paper Eq. 7-9), static CFG and none, checked against hand-computed values."""

import math

import pytest
import torch

from omnisync_cli.errors import ConfigError
from omnisync_cli.guidance.dscfg import (GuidanceConfig, guidance_weight, guided_model, guided_velocity,
                                         spatial_guidance_map, temporal_guidance_scale)


def test_spatial_map_peaks_at_the_mouth_and_falls_to_base():
    # 10 x 10 crop: pixel (row 4, col 5) has its centre at (x, y) = (0.55, 0.45).
    g = spatial_guidance_map(torch.tensor([0.55, 0.45]), 10, w_peak=4.0, w_base=1.0, s=0.1)
    assert g.shape == (10, 10)
    assert g[4, 5].item() == pytest.approx(4.0)
    assert g.argmax().item() == 4 * 10 + 5
    # one pixel right: d^2 = 0.01 -> 1 + 3 exp(-0.01 / 0.02) = 1 + 3 exp(-0.5)
    assert g[4, 6].item() == pytest.approx(1 + 3 * math.exp(-0.5), rel=1e-5)
    # corner: d^2 = 0.5^2 + 0.4^2 = 0.41 -> 1 + 3 exp(-20.5) ~ base
    assert g[9, 0].item() == pytest.approx(1.0, abs=1e-7)


def test_spatial_map_follows_each_frames_mouth():
    mouth = torch.tensor([[[0.25, 0.25], [0.75, 0.75]]])  # (B=1, F=2, 2)
    g = spatial_guidance_map(mouth, 8, 3.0, 0.5, 0.05)
    assert g.shape == (1, 2, 8, 8)
    assert g[0, 0].argmax().item() in {1 * 8 + 1, 1 * 8 + 2, 2 * 8 + 1, 2 * 8 + 2}
    assert g[0, 1, 6, 6] > g[0, 1, 1, 1]


def test_temporal_scale_decays_from_one_at_tau():
    tau = 0.92
    assert temporal_guidance_scale(torch.tensor(0.92), tau, 1.5).item() == pytest.approx(1.0)
    assert temporal_guidance_scale(torch.tensor(0.23), tau, 1.5).item() == pytest.approx(0.125)  # (1/4)^1.5
    assert temporal_guidance_scale(torch.tensor(0.0), tau, 1.5).item() == 0.0
    assert temporal_guidance_scale(torch.tensor(0.5), 1.0, 1.5).item() == pytest.approx(0.5 ** 1.5)
    sigmas = torch.linspace(tau, 0, 9)
    w = temporal_guidance_scale(sigmas, tau, 1.5)
    assert torch.all(w[1:] < w[:-1])


def test_guided_velocity_is_eq9():
    vc, vu = torch.tensor([3.0]), torch.tensor([1.0])
    assert guided_velocity(vc, vu, 2.5).item() == 6.0  # 1 + 2.5 * (3 - 1)
    assert guided_velocity(vc, vu, 1.0).item() == 3.0  # w = 1: conditional
    assert guided_velocity(vc, vu, 0.0).item() == 1.0  # w = 0: unconditional


def test_guidance_weight_per_mode():
    mouth = torch.full((2, 3, 2), 0.5)
    sigma = torch.tensor([0.46, 0.46])
    ds = guidance_weight(GuidanceConfig("ds", w_peak=4, w_base=1, s=0.1), mouth, 8, sigma, 0.92)
    assert ds.shape == (2, 3, 1, 8, 8)
    # the mouth sits on a pixel corner, d^2 = 2 * (1/16)^2 at the four middle pixels
    peak = 1 + 3 * math.exp(-2 / 256 / 0.02)
    assert ds.max().item() == pytest.approx(peak * 0.5 ** 1.5, rel=1e-5)
    static = guidance_weight(GuidanceConfig("static", w_peak=2.5), mouth, 8, sigma, 0.92)
    assert torch.all(static == 2.5)
    none = guidance_weight(GuidanceConfig("none"), mouth, 8, sigma, 0.92)
    assert torch.all(none == 1.0)
    with pytest.raises(ConfigError):
        GuidanceConfig("sometimes")


class RecordingModel:
    """v = 1 for conditional rows, 0 for rows with the null audio; records each call."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, sigma, source, audio, text=None, drop_audio=None, drop_text=None, references=None):
        self.calls.append(dict(batch=x.shape[0], drop_audio=drop_audio, drop_text=drop_text, text=text,
                               references=references))
        v = torch.ones_like(x)
        if drop_audio is not None:
            v[drop_audio] = 0.0
        return v


def _inputs(b=2, f=3, s=8):
    return dict(source=torch.zeros(b, f, 3, s, s), audio=torch.zeros(b, f, 4, 5),
                text=torch.ones(b, 6)), torch.full((b, f, 2), 0.5)


def test_wrapper_runs_cond_and_uncond_as_one_batched_forward():
    cond, mouth = _inputs()
    model = RecordingModel()
    cfg = GuidanceConfig("static", w_peak=3.0)
    v = guided_model(model, cfg, 0.92, mouth, **cond)(torch.zeros(2, 3, 3, 8, 8), torch.full((2,), 0.5))
    assert len(model.calls) == 1 and model.calls[0]["batch"] == 4
    assert model.calls[0]["drop_audio"].tolist() == [False, False, True, True]
    assert model.calls[0]["drop_text"] is None  # the prompt stays in the unconditional pass
    assert torch.allclose(v, torch.full_like(v, 3.0))  # 0 + 3 * (1 - 0)


def test_wrapper_gives_the_reference_frames_to_both_passes():
    cond, mouth = _inputs()
    refs = torch.arange(2.0).view(2, 1, 1, 1, 1).expand(2, 2, 3, 8, 8)  # one value per clip
    model = RecordingModel()
    guided_model(model, GuidanceConfig("ds"), 0.92, mouth, references=refs, **cond)(
        torch.zeros(2, 3, 3, 8, 8), torch.full((2,), 0.5))
    given = model.calls[0]["references"]
    assert given.shape == (4, 2, 3, 8, 8)  # conditional rows, then unconditional ones
    assert torch.equal(given[:2], refs) and torch.equal(given[2:], refs)
    model = RecordingModel()
    guided_model(model, GuidanceConfig("none"), 0.92, mouth, references=refs, **cond)(
        torch.zeros(2, 3, 3, 8, 8), torch.full((2,), 0.5))
    assert torch.equal(model.calls[0]["references"], refs)


def test_wrapper_ds_applies_map_times_decay_and_none_is_one_forward():
    cond, mouth = _inputs()
    model = RecordingModel()
    cfg = GuidanceConfig("ds", w_peak=4.0, w_base=1.0, s=0.1)
    v = guided_model(model, cfg, 0.92, mouth, **cond)(torch.zeros(2, 3, 3, 8, 8), torch.full((2,), 0.46))
    expected = guidance_weight(cfg, mouth, 8, torch.full((2,), 0.46), 0.92).expand_as(v)
    assert torch.allclose(v, expected)
    model.calls.clear()
    v = guided_model(model, GuidanceConfig("none"), 0.92, mouth, **cond)(torch.zeros(2, 3, 3, 8, 8),
                                                                         torch.full((2,), 0.46))
    assert len(model.calls) == 1 and model.calls[0]["batch"] == 2 and model.calls[0]["drop_audio"] is None
    assert torch.all(v == 1.0)


def test_wrapper_can_drop_the_prompt_too():
    cond, mouth = _inputs()
    model = RecordingModel()
    cfg = GuidanceConfig("static", drop_text_in_uncond=True)
    guided_model(model, cfg, 0.92, mouth, **cond)(torch.zeros(2, 3, 3, 8, 8), torch.full((2,), 0.5))
    assert model.calls[0]["drop_text"].tolist() == [False, False, True, True]


def test_decay_to_cond_ends_at_the_conditional_prediction():
    from omnisync_cli.guidance.dscfg import GuidanceConfig, guidance_weight
    mouth = torch.full((1, 1, 2), 0.5)
    cfg = GuidanceConfig(w_peak=3.0, w_base=1.0, decay_to="cond")
    start = guidance_weight(cfg, mouth, 8, torch.tensor([0.92]), 0.92)
    end = guidance_weight(cfg, mouth, 8, torch.tensor([0.0]), 0.92)
    paper = guidance_weight(GuidanceConfig(w_peak=3.0, w_base=1.0), mouth, 8, torch.tensor([0.92]), 0.92)
    assert torch.allclose(start, paper)  # the first step is Eq. 7's map either way
    assert torch.allclose(end, torch.ones_like(end))  # the last: conditional, not unconditional
    assert torch.allclose(guidance_weight(GuidanceConfig(), mouth, 8, torch.tensor([0.0]), 0.92),
                          torch.zeros_like(end))  # the paper's Eq. 9 ends unconditional


def test_the_cli_checks_the_same_guidance_modes_the_config_accepts():
    """flags.CFG_MODES repeats GUIDANCE_MODES so that a pass-through dub need not import torch."""
    from omnisync_cli.flags import CFG_MODES, check_cfg_mode
    from omnisync_cli.guidance.dscfg import GUIDANCE_MODES
    assert CFG_MODES == GUIDANCE_MODES
    for mode in CFG_MODES:
        check_cfg_mode(mode)
    with pytest.raises(ConfigError, match="guidance mode"):
        check_cfg_mode("loud")


def test_per_frame_peaks_raise_only_their_frames():
    """Eq. 7 with each frame's own w_peak: a frame given 6 peaks at 1 + 5 g, the others at
    the config's 1 + 3 g; far from the mouth every frame is at w_base."""
    mouth = torch.full((1, 3, 2), 0.5)
    sigma = torch.tensor([0.46])
    cfg = GuidanceConfig("ds", w_peak=4, w_base=1, s=0.1)
    w = guidance_weight(cfg, mouth, 8, sigma, 0.92, frame_peak=torch.tensor([[4.0, 6.0, 4.0]]))
    g = math.exp(-2 / 256 / 0.02)
    decay = 0.5 ** 1.5
    assert w[0, 1].max().item() == pytest.approx((1 + 5 * g) * decay, rel=1e-5)
    assert w[0, 0].max().item() == pytest.approx((1 + 3 * g) * decay, rel=1e-5)
    assert torch.allclose(w[0, [0, 2]], guidance_weight(cfg, mouth, 8, sigma, 0.92)[0, [0, 2]])
    assert w[0, :, 0, 0, 0].max().item() < 1.01 * decay  # the corners: w_base


class CleanEstimateModel:
    """An x-predicting stand-in whose clean estimates do not depend on x or sigma: `cond`
    with the audio, `uncond` with the null audio; returns v = (x - x_hat) / sigma as the
    DiT does. Records each call's batch."""

    def __init__(self, cond, uncond):
        self.cond, self.uncond, self.batches = cond, uncond, []

    def __call__(self, x, sigma, source, audio, text=None, drop_audio=None, drop_text=None):
        self.batches.append(x.shape[0])
        x_hat = self.cond.expand_as(x).clone()
        if drop_audio is not None:
            x_hat[drop_audio] = self.uncond
        return (x - x_hat) / sigma.view(-1, 1, 1, 1, 1)


def test_reused_direction_runs_one_pass_after_the_first_and_matches_eq9_when_it_holds():
    """With reuse, a 2-step run makes one batched (cond + uncond) forward and then one
    conditional; where the audio's effect on the clean estimate is the same at both noise
    levels (this model), the result equals full Eq. 9 guidance at every step."""
    from omnisync_cli.diffusion.sampling import sample_euler, sigma_schedule
    from omnisync_cli.guidance.dscfg import guidance_direction, uncond_from_direction
    cond, mouth = _inputs()
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 8, 8, generator=gen), torch.randn(3, 8, 8, generator=gen)
    x0 = torch.randn(2, 3, 3, 8, 8, generator=gen)
    sigmas = sigma_schedule(2, 0.92)
    results = {}
    for reuse in (False, True):
        model = CleanEstimateModel(a, b)
        cfg = GuidanceConfig("ds", w_peak=3.0, reuse_direction=reuse)
        results[reuse] = sample_euler(guided_model(model, cfg, 0.92, mouth, **cond), x0, sigmas)
        assert model.batches == ([4, 2] if reuse else [4, 4])
    assert torch.allclose(results[True], results[False], atol=1e-5)
    # the direction and its inverse, on their own
    v_c, v_u, sigma = torch.randn(2, 3), torch.randn(2, 3), torch.tensor([0.3, 0.7])
    assert torch.allclose(uncond_from_direction(v_c, guidance_direction(v_c, v_u, sigma), sigma), v_u, atol=1e-6)


def test_reused_direction_differs_when_the_audios_effect_changes_with_x():
    """The reuse is an approximation: a model whose audio effect depends on x gives another
    second step (so the benchmark, not this test, decides whether it is good enough)."""
    from omnisync_cli.diffusion.sampling import sample_euler, sigma_schedule
    cond, mouth = _inputs()
    model = RecordingModel()  # v_cond - v_uncond = 1 at every sigma: sigma (v_c - v_u) changes
    outs = [sample_euler(guided_model(model, GuidanceConfig("static", w_peak=2.0, reuse_direction=r), 0.92,
                                      mouth, **cond), torch.zeros(2, 3, 3, 8, 8), sigma_schedule(2, 0.92))
            for r in (False, True)]
    assert not torch.allclose(outs[0], outs[1])
