"""The training loop on the tiny preset: it learns, writes what the CLI and model card need,
and a killed run resumes to exactly the weights of one that never stopped."""

import json
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from torch.utils.data import default_collate

from omnisync_cli.diffusion.flow import cfm_loss
from omnisync_cli.errors import ConfigError
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import load_model
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples
from omnisync_cli.stopping import Stopped
from omnisync_cli.train.loop import train


def tiny(out_dir, **kw):
    base = dict(preset="tiny", out_dir=str(out_dir), steps=6, batch_size=2, lr=2e-3, warmup_steps=2,
                checkpoint_every=3, sample_every=0, log_every=1, ema_decay=0.9)
    return TrainConfig(**{**base, **kw})


def held_out_loss(model, corpus, cfg) -> float:
    """Eq. 2 on a fixed batch at fixed noise levels (per-step losses are too noisy to compare:
    x-prediction weighs each example by 1 / sigma^2)."""
    ds = TrainingExamples(corpus, model.config, cfg)
    batch = default_collate([ds[(99, i)] for i in range(len(ds))])
    sigma = torch.linspace(0.2, 0.95, len(ds))
    with torch.no_grad():
        return cfm_loss(model, batch["x"], sigma, batch["noise"], source=batch["source"],
                        audio=batch["audio"], text=batch["text"]).item()


def test_loss_decreases_and_outputs_are_written(tmp_path, corpus):
    cfg = tiny(tmp_path, steps=40, batch_size=4, lr=5e-3, log_every=10, sample_every=40, sample_clips=2)
    torch.manual_seed(cfg.seed)
    before = held_out_loss(OmniSyncDiT(get_preset("tiny")), corpus, cfg)  # train()'s initial weights
    train(cfg, corpus, progress=False)
    after = held_out_loss(load_model(tmp_path), corpus, cfg)
    assert after < 0.75 * before, (before, after)
    info = json.loads((tmp_path / "training.json").read_text())
    assert info["steps"] == 40 and info["samples_seen"] == 160 and info["corpus"]["clips"] == 6
    model = load_model(tmp_path)  # the EMA, in the model engineer's format
    ema = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["ema"]
    assert all(torch.equal(v, ema[k]) for k, v in model.state_dict().items())
    assert (tmp_path / "samples" / "step_0000040.png").stat().st_size > 0


def test_change_weight_raises_the_loss_on_the_same_first_batch(tmp_path, corpus):
    """The first step sees the same weights and batch either way; weights of at least 1, above
    1 where a pseudo-pair's target differs from its condition, give a strictly higher loss."""
    losses = []
    for change in (0.0, 10.0):
        out = tmp_path / f"change-{change:g}"
        train(tiny(out, steps=1, pair_threshold=0.01, change_loss_weight=change), corpus, progress=False)
        losses.append(json.loads((out / "training.json").read_text())["loss_curve"][0][1])
    assert losses[1] > losses[0], losses


class Killed(Exception):
    pass


def kill_at(step):
    def hook(info):
        if info.step == step:
            raise Killed
    return hook


def test_killed_run_resumes_to_the_same_weights(tmp_path, corpus):
    train(tiny(tmp_path / "straight"), corpus, progress=False)
    with pytest.raises(Killed):  # dies after step 5; the last checkpoint is step 3's
        train(tiny(tmp_path / "killed"), corpus, progress=False, on_step=kill_at(5))
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["step"] == 3
    train(tiny(tmp_path / "killed"), corpus, progress=False)
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    ca = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    cb = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(v, cb["model"][k]) for k, v in ca["model"].items())
    assert [round(x, 6) for _, x in ca["curve"]] == [round(x, 6) for _, x in cb["curve"]]


def signal_at(step, signum):
    def hook(info):
        if info.step == step:
            os.kill(os.getpid(), signum)
    return hook


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_saves_the_step_it_reached_and_the_run_resumes_from_it(tmp_path, corpus, signum):
    """Ctrl-C or SIGTERM at step 4 (checkpoints every 3): the run stops there with step 4
    checkpointed and its weights written, exits as stopped, and the same call goes on to the
    weights of a run that never stopped."""
    train(tiny(tmp_path / "straight"), corpus, progress=False)
    with pytest.raises(Stopped) as info:
        train(tiny(tmp_path / "stopped"), corpus, progress=False, on_step=signal_at(4, signum))
    assert info.value.code == 128 + signum
    assert torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)["step"] == 4
    assert (tmp_path / "stopped" / "model.safetensors").is_file()
    assert signal.getsignal(signum) is not None  # the handlers were given back
    train(tiny(tmp_path / "stopped"), corpus, progress=False)
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "stopped" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_finished_run_can_be_extended_but_not_changed(tmp_path, corpus):
    train(tiny(tmp_path, steps=2), corpus, progress=False)
    steps = []
    train(tiny(tmp_path, steps=4), corpus, progress=False, on_step=lambda i: steps.append(i.step))
    assert steps == [3, 4]
    with pytest.raises(ConfigError, match="lr"):
        train(tiny(tmp_path, steps=5, lr=1e-2), corpus, progress=False)


def test_a_sync_expert_without_a_sync_loss_does_not_hold_back_a_resume(tmp_path):
    """It did nothing in that run: a resume may give it or leave it out (it was refused)."""
    from dataclasses import replace

    from omnisync_cli.train.loop import check_resumable
    unused = tiny(tmp_path, sync_expert="experts/sync")
    check_resumable(unused.to_dict(), replace(unused, sync_expert=""))
    used = replace(unused, sync_loss_weight=0.1)
    with pytest.raises(ConfigError, match="sync_expert"):
        check_resumable(used.to_dict(), replace(used, sync_expert=""))


def test_fine_tuning_starts_from_given_weights(tmp_path, corpus):
    from omnisync_cli.model.weights import save_model
    torch.manual_seed(123)
    start = OmniSyncDiT(get_preset("tiny"))
    torch.nn.init.normal_(start.final_layer.linear.weight, std=0.01)  # not the fresh-init zeros
    save_model(start, tmp_path / "start")
    seen = {}

    def first_step(info):
        seen.setdefault("ema", {k: v.clone() for k, v in info.ema.state_dict().items()})

    config = TrainConfig(preset="tiny", out_dir=str(tmp_path / "run"), steps=1, batch_size=2,
                         sample_every=0, init_from=str(tmp_path / "start"), lr=1e-12, warmup_steps=0)
    train(config, corpus, progress=False, on_step=first_step)
    for name, value in start.state_dict().items():
        assert torch.allclose(seen["ema"][name], value, atol=1e-6), name


def test_fine_tuning_onto_another_audio_frontend_keeps_all_but_the_audio_encoder(tmp_path):
    from omnisync_cli.train.loop import init_from_trained
    torch.manual_seed(0)
    trained = OmniSyncDiT(get_preset("tiny"))  # log-mel, 20 channels, 0.16 s windows
    torch.nn.init.normal_(trained.final_layer.linear.weight, std=0.01)
    model = OmniSyncDiT(get_preset("tiny", audio_window_s=0.32), audio_channels=24)  # a Whisper-like input
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = init_from_trained(model, trained, "trained/")
    assert fresh and all(k.startswith("audio_embed.") for k in fresh)
    assert "audio_embed.convs.0.weight" in fresh and "audio_embed.proj.weight" in fresh
    for name, value in model.state_dict().items():
        expected = before[name] if name in fresh else trained.state_dict()[name]
        assert torch.equal(value, expected), name
    with pytest.raises(ConfigError, match="patch_size"):
        init_from_trained(OmniSyncDiT(get_preset("tiny", patch_size=8)), trained, "trained/")
    # a model with the displacement head does not shrink back into one without it
    with pytest.raises(ConfigError, match="--output-flow"):
        init_from_trained(OmniSyncDiT(get_preset("tiny")), OmniSyncDiT(get_preset("tiny", output_flow=True)), "grown/")


def test_grown_blocks_sit_between_the_trained_ones():
    from omnisync_cli.train.loop import grown_block_positions
    assert grown_block_positions(6, 8) == [0, 1, 3, 4, 6, 7]
    assert grown_block_positions(2, 3) == [0, 2]
    assert grown_block_positions(4, 4) == [0, 1, 2, 3]
    assert grown_block_positions(1, 3) == [0]
    with pytest.raises(ValueError):
        grown_block_positions(3, 2)


def test_a_deeper_model_grown_from_a_trained_one_starts_as_it():
    """--depth with --init-from: the trained blocks keep their weights at their new places,
    the inserted ones start as the identity, so the grown network computes what the trained
    one did; a model does not shrink."""
    from omnisync_cli.train.loop import init_from_trained
    torch.manual_seed(0)
    trained = OmniSyncDiT(get_preset("tiny", depth=2)).eval()
    for p in trained.parameters():  # trained-looking weights: no zero gate anywhere
        torch.nn.init.normal_(p, std=0.05)
    model = OmniSyncDiT(get_preset("tiny", depth=3)).eval()
    fresh = init_from_trained(model, trained, "trained/")
    assert fresh and all(k.startswith("blocks.1.") for k in fresh)
    assert torch.equal(model.state_dict()["blocks.2.attn.qkv.weight"], trained.state_dict()["blocks.1.attn.qkv.weight"])
    c = trained.config
    x, source = torch.randn(2, 2, c.segment_frames, 3, c.region_size, c.region_size)
    audio = torch.randn(2, c.segment_frames, trained.audio_window, trained.audio_channels)
    sigma = torch.tensor([0.9, 0.3])
    with torch.no_grad():
        assert torch.allclose(model(x, sigma, source, audio), trained(x, sigma, source, audio), atol=1e-6)
    with pytest.raises(ConfigError, match="--depth 3"):
        init_from_trained(OmniSyncDiT(get_preset("tiny", depth=2)), model, "deep/")


def test_training_precision_prefers_native_bf16():
    from omnisync_cli.train.loop import training_precision
    assert training_precision("cuda", True) == "bf16"
    assert training_precision("cuda", False) == "fp16"
    assert training_precision("cpu", True) == "bf16"
    assert training_precision("cpu", False) == "fp32"  # emulated bf16 is slower than fp32


def test_a_run_grows_reference_frames_on_trained_weights_and_trains_them(tmp_path, corpus):
    """--reference-frames with --init-from: the grown model starts as the trained one, the
    reference attention learns (its zeroed projections move), and the weights it writes
    load as a model that takes references."""
    train(tiny(tmp_path / "base", steps=3), corpus, progress=False)
    with pytest.warns(UserWarning, match="new to it"):  # the grown reference attention starts fresh
        train(tiny(tmp_path / "refs", steps=4, reference_frames=2, init_from=str(tmp_path / "base")), corpus,
              progress=False)
    grown = load_model(tmp_path / "refs")
    assert grown.config.reference_frames == 2
    assert grown.blocks[0].ref_attn.proj.weight.abs().sum() > 0
    info = json.loads((tmp_path / "refs" / "training.json").read_text())
    assert info["config"]["reference_frames"] == 2
