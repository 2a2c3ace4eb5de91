"""`omnisync train-localiser` end to end on a few frames, and its flag checks."""

import torch
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.face.localiser import load_localiser
from omnisync_cli.face.localiser_net import load_localiser_net


def test_train_localiser_writes_loadable_weights_and_a_log(tmp_path):
    out = tmp_path / "loc"
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(out), "--samples", "6", "--steps", "2",
                                      "--batch-size", "2", "--workers", "1", "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_localiser(out).config.input_size == 256
    assert (out / "training.json").is_file()
    # A fine-tune starts from those weights.
    tuned = tmp_path / "tuned"
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tuned), "--samples", "4", "--steps", "1",
                                      "--batch-size", "2", "--workers", "1", "--threads", "1", "--lr", "1e-9",
                                      "--init-from", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    before, after = load_localiser_net(out)[0].state_dict(), load_localiser_net(tuned)[0].state_dict()
    assert all(torch.allclose(before[k].float(), after[k].float(), atol=1e-3) for k in before if "running" not in k and "num_batches" not in k)


def test_train_localiser_rejects_absurd_flags(tmp_path):
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tmp_path / "x"), "--samples", "0"])
    assert result.exit_code == 2 and "--samples" in result.stderr
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tmp_path / "x"), "--wide-mouths", "2"])
    assert result.exit_code == 2 and "--wide-mouths" in result.stderr
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tmp_path / "x"), "--slit-eyes", "-1"])
    assert result.exit_code == 2 and "--slit-eyes" in result.stderr


def test_a_bad_init_from_is_refused_before_any_frame_is_rendered(tmp_path, monkeypatch):
    from omnisync_cli.train import localiser as training
    rendered = []
    monkeypatch.setattr(training, "render_samples", lambda *args: rendered.append(args))
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tmp_path / "loc"), "--init-from",
                                      str(tmp_path / "nowhere"), "--samples", "4", "--steps", "1", "--workers", "1"])
    assert result.exit_code == 2 and "nowhere" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert rendered == []


def _config(out, **changes):
    from omnisync_cli.train.localiser import LocaliserTrainConfig
    return LocaliserTrainConfig(**{"out_dir": str(out), "samples": 4, "steps": 4, "batch_size": 2, "workers": 1,
                                   "threads": 1, "checkpoint_every": 2, **changes})


def test_a_stopped_localiser_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    import os
    import signal

    import pytest

    from omnisync_cli.stopping import Stopped
    from omnisync_cli.train import localiser as training

    whole = training.train_localiser(_config(tmp_path / "whole"), say=lambda line: None)
    # The same run, sent SIGTERM during its second step: it stops there with a checkpoint...
    loss, calls = training.localiser_loss, []

    def loss_then_stop(*args):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return loss(*args)

    monkeypatch.setattr(training, "localiser_loss", loss_then_stop)
    with pytest.raises(Stopped):
        training.train_localiser(_config(tmp_path / "stopped"), say=lambda line: None)
    assert len(calls) == 2 and (tmp_path / "stopped" / "checkpoint.pt").is_file()
    monkeypatch.setattr(training, "localiser_loss", loss)
    # ... and the same command resumes it at step 2, ending where the unbroken run ended.
    said = []
    resumed = training.train_localiser(_config(tmp_path / "stopped"), say=said.append)
    assert "resumed at step 2" in said
    a, b = load_localiser_net(whole)[0].state_dict(), load_localiser_net(resumed)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_localiser_run_refuses_to_resume_with_other_settings(tmp_path):
    import pytest

    from omnisync_cli.errors import ConfigError
    from omnisync_cli.train.localiser import train_localiser

    train_localiser(_config(tmp_path / "run", steps=2), say=lambda line: None)
    with pytest.raises(ConfigError, match="lr"):
        train_localiser(_config(tmp_path / "run", steps=2, lr=1e-4), say=lambda line: None)
