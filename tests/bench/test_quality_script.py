"""bench/quality.py, the script around the runner, run in-process on the tiny benchmark."""

import runpy
import sys
from pathlib import Path

import torch

from omnisync_cli.model.weights import load_model

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "quality.py"


def run_script(monkeypatch, *args: str) -> int:
    main = runpy.run_path(str(SCRIPT), run_name="quality")["main"]
    monkeypatch.setattr(sys, "argv", ["quality.py", *args])
    return main()


def test_prints_the_overall_table(bench_corpus, tmp_path, monkeypatch, capsys):
    assert run_script(monkeypatch, "--corpus", str(bench_corpus), "--clips", "1",
                      "--variants", "no-op", "--out", str(tmp_path), "--threads", "0") == 0
    out = capsys.readouterr().out
    assert "| no-op | 1/1 | 100% |" in out and "mouth PSNR" in out
    assert (tmp_path / "report.md").is_file()


def test_benchmarks_a_training_checkpoint(bench_corpus, tiny_weights, tmp_path, monkeypatch, capsys):
    state = load_model(tiny_weights).state_dict()
    torch.save({"config": {"preset": "tiny"}, "step": 400, "ema": state}, tmp_path / "checkpoint.pt")
    out_dir = tmp_path / "out"
    assert run_script(monkeypatch, "--corpus", str(bench_corpus), "--checkpoint", str(tmp_path / "checkpoint.pt"),
                      "--clips", "bench-human-0000-00", "--variants", "ds-cfg", "--out", str(out_dir), "--threads", "0") == 0
    assert "at step 400" in capsys.readouterr().out
    assert (out_dir / "weights" / "model.safetensors").is_file()  # kept beside the results
    assert "at step 400" in (out_dir / "report.md").read_text()


def test_a_user_error_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    assert run_script(monkeypatch, "--corpus", str(tmp_path), "--variants", "no-op") == 2
    assert capsys.readouterr().err.startswith("error: ")
