"""`omnisync train-localiser` end to end on a few frames, and its flag checks."""

import torch
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.face.localiser import load_localiser


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
    before, after = load_localiser(out).net.state_dict(), load_localiser(tuned).net.state_dict()
    assert all(torch.allclose(before[k].float(), after[k].float(), atol=1e-3) for k in before if "running" not in k and "num_batches" not in k)


def test_train_localiser_rejects_absurd_flags(tmp_path):
    result = CliRunner().invoke(app, ["train-localiser", "--out", str(tmp_path / "x"), "--samples", "0"])
    assert result.exit_code == 2 and "--samples" in result.stderr
