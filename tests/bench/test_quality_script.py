"""`omnisync bench`, the command around the runner, on the tiny benchmark."""

import torch
from typer.testing import CliRunner

from omnisync_cli.bench.runner import load_manifest
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


def test_no_clip_dubbed_exits_2_in_one_line_after_writing_the_report(faceless_corpus, tmp_path):
    faceless = load_manifest(faceless_corpus)[-1]
    out = tmp_path / "results"
    result = runner.invoke(app, ["bench", str(faceless_corpus), "--clips", faceless.id, "--variants", "no-op",
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: no benchmark clip could be dubbed (1 tried); {out / 'report.md'} says why"]
    assert "no mouth found" in (out / "report.md").read_text() and (out / "results.json").is_file()


def test_an_earlier_runs_results_are_kept_unless_overwrite_is_given(bench_corpus, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # a folder of other files is no earlier run
    args = ["bench", str(bench_corpus), "--clips", load_manifest(bench_corpus)[0].id, "--variants", "no-op",
            "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    earlier = (out / "results.json").read_text()
    written = (out / "results.json").stat().st_mtime_ns

    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--overwrite" in lines[0]
    assert (out / "results.json").read_text() == earlier

    again = runner.invoke(app, [*args, "--overwrite"])
    assert again.exit_code == 0, again.output
    assert (out / "results.json").stat().st_mtime_ns != written
    assert (out / "notes.txt").read_text() == "mine"
