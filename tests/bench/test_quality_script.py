"""`omnisync bench`, the command around the runner, on the tiny benchmark."""

import torch
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.model.weights import load_model

runner = CliRunner()


def test_prints_the_overall_table(bench_corpus, tmp_path):
    result = runner.invoke(app, ["bench", str(bench_corpus), "--clips", "1", "--variants", "no-op",
                                 "--out", str(tmp_path), "--threads", "0"])
    assert result.exit_code == 0, result.output
    assert "| no-op | 1/1 | 100% |" in result.stdout and "mouth PSNR" in result.stdout
    assert (tmp_path / "report.md").is_file()


def test_benchmarks_a_training_checkpoint(bench_corpus, tiny_weights, tmp_path):
    state = load_model(tiny_weights).state_dict()
    torch.save({"config": {"preset": "tiny"}, "step": 400, "ema": state}, tmp_path / "checkpoint.pt")
    out_dir = tmp_path / "out"
    result = runner.invoke(app, ["bench", str(bench_corpus), "--checkpoint", str(tmp_path / "checkpoint.pt"),
                                 "--clips", "bench-seen-00000-00", "--variants", "ds-cfg", "--out",
                                 str(out_dir), "--threads", "0"])
    assert result.exit_code == 0, result.output
    assert "at step 400" in result.stdout
    assert (out_dir / "weights" / "model.safetensors").is_file()  # kept beside the results
    assert "at step 400" in (out_dir / "report.md").read_text()


def test_a_user_error_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["bench", str(tmp_path), "--variants", "no-op"])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_tracks_with_the_localiser_it_is_given(bench_corpus, tmp_path):
    missing = tmp_path / "no-localiser"
    result = runner.invoke(app, ["bench", str(bench_corpus), "--clips", "1", "--variants", "no-op",
                                 "--out", str(tmp_path / "out"), "--localiser", str(missing)])
    assert result.exit_code == 2 and str(missing) in result.stderr
