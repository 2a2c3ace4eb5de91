"""The network's low-precision inference path: the copy with its weights cast once
(model.device.low_precision_network) and bf16 attention on the CPU (model.layers.attend).
Both must give the function the model computes under autocast, to within its precision."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from omnisync_cli.model.config import get_preset
from omnisync_cli.model.device import low_precision_network
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.model.layers import attend
from tests.model.test_dit import perturbed


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return perturbed(OmniSyncDiT(get_preset("tiny"))).eval()


def inputs(model, batch=2):
    cfg = model.config
    g = torch.Generator().manual_seed(1)
    shape = (batch, cfg.segment_frames, 3, cfg.region_size, cfg.region_size)
    source = torch.rand(shape, generator=g) * 2 - 1
    x = source + 0.9 * torch.randn(shape, generator=g)
    audio = torch.randn(batch, cfg.segment_frames, model.audio_window, model.audio_channels, generator=g)
    return x, torch.full((batch,), 0.9), source, audio


def velocity(network, args):
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        return network(*args).float()


def test_the_copy_stores_linear_and_convolution_weights_in_low_precision_and_leaves_the_model(model):
    before = copy.deepcopy(model.state_dict())
    network = low_precision_network(model, torch.bfloat16)
    layers = [m for m in network.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    assert layers and all(m.weight.dtype == torch.bfloat16 for m in layers)
    assert network.pos_spatial.dtype == torch.float32  # what autocast would not cast stays
    assert all(not p.requires_grad for p in network.parameters())
    assert all(m.approximate == "none" for m in network.modules() if isinstance(m, nn.GELU))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert any(m.approximate == "tanh" for m in model.modules() if isinstance(m, nn.GELU))


def test_the_copy_computes_the_models_function_to_within_bf16(model):
    args = inputs(model)
    with torch.no_grad():
        exact = model(*args).float()
    autocast_model = velocity(model, args)
    cast_once = velocity(low_precision_network(model, torch.bfloat16), args)
    # the copy is as close to the fp32 function as autocast on the model itself is
    scale = exact.abs().mean()
    assert (cast_once - exact).abs().mean() <= 1.5 * (autocast_model - exact).abs().mean() + 1e-3 * scale
    assert (cast_once - autocast_model).abs().mean() <= 0.02 * scale


def test_bf16_attention_on_the_cpu_matches_the_fused_kernel():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 4, 96, 16, generator=g).to(torch.bfloat16) for _ in range(3))
    exact = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
    with torch.no_grad():
        fused = F.scaled_dot_product_attention(q, k, v).float()
        plain = attend(q, k, v)
    assert plain.dtype == torch.bfloat16
    assert (plain.float() - exact).abs().max() <= 4 * (fused - exact).abs().max() + 1e-2
    assert (plain.float() - exact).abs().mean() <= 2 * (fused - exact).abs().mean() + 1e-3


def test_attention_keeps_the_fused_kernel_in_fp32_and_where_gradients_flow():
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 2, 10, 8, generator=g) for _ in range(3))
    with torch.no_grad():
        assert torch.equal(attend(q, k, v), F.scaled_dot_product_attention(q, k, v))
    qb = q.to(torch.bfloat16).requires_grad_(True)
    out = attend(qb, k.to(torch.bfloat16), v.to(torch.bfloat16))
    assert torch.equal(out, F.scaled_dot_product_attention(qb, k.to(torch.bfloat16), v.to(torch.bfloat16)))
    out.float().sum().backward()
    assert qb.grad is not None


def test_a_bf16_editor_runs_one_shared_copy_and_an_fp32_one_the_model(model):
    bf16 = ModelEditor(model, SamplerConfig(steps=2, device="cpu", dtype="bf16"))
    assert bf16.network is not bf16.model
    assert bf16.with_sampler(SamplerConfig(steps=3, device="cpu", dtype="bf16")).network is bf16.network
    fp32 = ModelEditor(model, SamplerConfig(steps=2, device="cpu", dtype="fp32", runtime="torch"))
    assert fp32.network is fp32.model
