"""The network through ONNX Runtime: the same velocities as torch, one graph per argument set,
a cache that skips the export, and the editor's choice of runtime."""

import os
import time

import numpy as np
import pytest
import torch

from omnisync_cli.errors import ConfigError
from omnisync_cli.model import onnx_cpu
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor, SamplerConfig, uses_onnx
from omnisync_cli.model.onnx_cpu import OnnxNetwork, onnx_runtime_available, prune_cache
from tests.model.test_dit import perturbed
from tests.model.test_editor import segment

pytestmark = pytest.mark.skipif(not onnx_runtime_available(), reason="onnxruntime / onnx not installed")


def model_of(seed: int, **overrides) -> OmniSyncDiT:
    torch.manual_seed(seed)
    return perturbed(OmniSyncDiT(get_preset("tiny", **overrides)), seed=seed).eval()


def inputs(model, batch: int, seed: int = 0, frames: int | None = None):
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    frames = frames or cfg.segment_frames
    shape = (batch, frames, 3, cfg.region_size, cfg.region_size)
    return dict(x=torch.randn(shape, generator=g), sigma=torch.rand(batch, generator=g),
                source=torch.randn(shape, generator=g),
                audio=torch.randn(batch, frames, model.audio_window, model.audio_channels, generator=g))


@pytest.mark.parametrize("overrides", [{}, {"output_flow": True}])
def test_velocities_match_torch_for_every_argument_set_and_batch(overrides, tmp_path):
    model = model_of(1, **overrides)
    network = OnnxNetwork(model, threads=1, cache_dir=tmp_path)
    text = torch.randn(2, model.config.text_dim)
    drop = torch.tensor([False, True])
    for batch, extra in [(2, {}), (2, {"drop_audio": drop}), (1, {"drop_audio": drop[:1]}),
                         (2, {"text": text, "drop_audio": drop, "drop_text": drop})]:
        given = inputs(model, batch, seed=batch)
        with torch.no_grad():
            expected = model(**given, **extra)
        got = network(**given, **extra)
        assert got.shape == expected.shape and got.dtype == torch.float32
        assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (batch, sorted(extra))
    # a graph per argument set, whatever the batch: plain, drop_audio, text + drops
    assert len(list(tmp_path.glob("*.onnx"))) == 3


def test_segments_shorter_than_the_first_call_run_in_a_graph_of_their_own(tmp_path):
    """The dub's own test of the model edits half-length segments after (or before) the dub's
    full ones: ONNX Runtime refused them in the graph traced at the first length (a dub crashed
    on a CPU without native bf16)."""
    model = model_of(1)
    network = OnnxNetwork(model, threads=1, cache_dir=tmp_path)
    full = model.config.segment_frames
    for frames in (full, full // 2, full):
        given = inputs(model, 2, frames=frames)
        with torch.no_grad():
            expected = model(**given)
        got = network(**given)
        assert got.shape == expected.shape and torch.allclose(got, expected, atol=1e-4, rtol=1e-4), frames
    assert len(list(tmp_path.glob("*.onnx"))) == 2


def test_the_cache_skips_the_export_and_tells_weights_apart(tmp_path, monkeypatch):
    model = model_of(1)
    given = inputs(model, 2)
    first = OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")
    monkeypatch.setattr(onnx_cpu, "export_graph", no_export)
    again = OnnxNetwork(model_of(1), threads=1, cache_dir=tmp_path)(**given)
    assert torch.equal(first, again)
    with pytest.raises(AssertionError, match="exported again"):  # other weights: another graph
        OnnxNetwork(model_of(2), threads=1, cache_dir=tmp_path)(**given)


def test_a_damaged_cache_entry_is_exported_again(tmp_path):
    model = model_of(1)
    given = inputs(model, 2)
    OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given)
    (entry,) = tmp_path.glob("*.onnx")
    entry.write_bytes(b"half a graph")
    with torch.no_grad():
        expected = model(**given)
    assert torch.allclose(OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given), expected, atol=1e-4)
    assert entry.stat().st_size > 1000  # replaced by a whole graph


def test_an_unwritable_cache_still_runs(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    model = model_of(1)
    given = inputs(model, 1)
    with torch.no_grad():
        expected = model(**given)
    assert torch.allclose(OnnxNetwork(model, threads=1, cache_dir=blocked / "onnx")(**given), expected, atol=1e-4)


def test_a_cache_that_cannot_be_touched_is_still_read(tmp_path, monkeypatch):
    """Marking an entry as recently used fails in a read-only cache; its graph is used anyway."""
    model = model_of(1)
    given = inputs(model, 2)
    OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given)

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")
    monkeypatch.setattr(onnx_cpu.os, "utime", read_only)
    monkeypatch.setattr(onnx_cpu, "export_graph", no_export)
    OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given)


def test_prune_keeps_the_most_recently_used(tmp_path):
    now = time.time()
    for age in range(5):
        path = tmp_path / f"g{age}.onnx"
        path.write_bytes(b"x")
        os.utime(path, (now - age, now - age))
    prune_cache(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["g0.onnx", "g1.onnx"]


def test_the_editor_picks_onnx_for_fp32_on_the_cpu_and_dubs_as_torch_does():
    model = model_of(3)
    onnx_editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu", dtype="fp32", runtime="onnx"))
    torch_editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu", dtype="fp32", runtime="torch"))
    auto_editor = ModelEditor(model, SamplerConfig(steps=2, device="cpu", dtype="fp32"))
    assert isinstance(onnx_editor.network, OnnxNetwork) and not onnx_editor.network.int8
    assert torch_editor.network is model
    assert isinstance(auto_editor.network, OnnxNetwork) and auto_editor.network.int8  # auto: int8 weights
    args = segment(onnx_editor)
    a, b = onnx_editor.edit(*args).astype(int), torch_editor.edit(*args).astype(int)
    assert np.abs(a - b).max() <= 1 and np.mean(a != b) < 0.01
    c = auto_editor.edit(*args).astype(int)
    assert np.abs(c - b).mean() < 1.0  # int8 weights move the crops by less than a level on average
    # a sampler copy switches runtime; copies with the same runtime share one ONNX network
    assert onnx_editor.with_sampler(SamplerConfig(runtime="torch", device="cpu")).network is model
    assert torch_editor.with_sampler(SamplerConfig(device="cpu", dtype="fp32")).network is not model
    assert onnx_editor.with_sampler(SamplerConfig(steps=1, device="cpu", runtime="onnx")).network is onnx_editor.network
    assert onnx_editor.with_sampler(SamplerConfig(device="cpu")).network is not onnx_editor.network  # fp32 -> int8


def test_int8_weights_keep_the_velocity_and_are_cached_apart(tmp_path):
    model = model_of(1, output_flow=True)
    given = inputs(model, 2)
    with torch.no_grad():
        expected = model(**given)
    fp32 = OnnxNetwork(model, threads=1, cache_dir=tmp_path)(**given)
    int8 = OnnxNetwork(model, threads=1, cache_dir=tmp_path, int8=True)(**given)
    assert torch.allclose(fp32, expected, atol=1e-4)
    assert not torch.equal(int8, fp32)  # quantised for real
    assert (int8 - expected).abs().mean() < 0.1 * expected.abs().mean()  # 5 % on this small random network
    names = sorted(p.name for p in tmp_path.glob("*.onnx"))
    assert len(names) == 2 and names[0].endswith("-int8.onnx") != names[1].endswith("-int8.onnx")
    smaller = min(tmp_path.glob("*.onnx"), key=lambda p: p.stat().st_size)
    assert smaller.name.endswith("-int8.onnx")
    import onnx
    kinds = {node.op_type for node in onnx.load(smaller).graph.node}
    assert "Conv" in kinds and "ConvInteger" not in kinds  # only the matrix products are quantised
    assert kinds & {"DynamicQuantizeMatMul", "MatMulInteger"}


def test_runtime_rules():
    model, cpu = model_of(1), torch.device("cpu")
    assert not uses_onnx(SamplerConfig(), cpu, torch.bfloat16, model)  # bf16 autocast stays in torch
    assert not uses_onnx(SamplerConfig(runtime="torch"), cpu, None, model)
    assert not uses_onnx(SamplerConfig(), cpu, None, torch.nn.Identity())  # auto: only the project's network
    assert uses_onnx(SamplerConfig(runtime="onnx"), cpu, None, torch.nn.Identity())
    with pytest.raises(ConfigError, match="on the CPU"):
        uses_onnx(SamplerConfig(runtime="onnx"), torch.device("cuda"), torch.float16, model)
    with pytest.raises(ConfigError, match="on the CPU"):
        uses_onnx(SamplerConfig(runtime="onnx-int8"), torch.device("cuda"), torch.float16, model)
    with pytest.raises(ConfigError, match="runtime"):
        SamplerConfig(runtime="tensorrt")


def test_the_runtime_check_finds_the_packages_without_importing_the_exporter():
    """A dub whose graphs are cached never exports, so the check only looks for `onnx` (its
    import took 0.12-0.15 s of every model load); a package that is not installed says no."""
    import subprocess
    import sys
    code = ("import sys; from omnisync_cli.model.onnx_cpu import onnx_runtime_available as a; "
            "assert a(); print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_runtime_check_says_no_without_either_package(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    for missing in ("onnx", "onnxruntime"):
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, missing=missing: None if name == missing
                            else real(name, *a))
        assert not onnx_runtime_available()
