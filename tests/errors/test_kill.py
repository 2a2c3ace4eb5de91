"""Kill safety: SIGTERM, SIGINT and SIGKILL at several points of a real `omnisync dub`
process never leave a file at the output path. SIGTERM and Ctrl-C unwind and leave nothing
at all; SIGKILL, which no process can catch, may leave the writer's hidden partial file,
which the next run of the same dub replaces and removes."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from omnisync_cli.media.video import probe_video
from tests.media.clips import tone, write_audio, write_clip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    write_clip(folder / "in.mp4", n_frames=20, width=64, height=48)
    write_audio(folder / "speech.wav", tone(4.0, 16000), 16000)  # 100 output frames
    return folder


def dub_args(inputs, output):
    return ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(output),
            "--passthrough", "-q", "--region", "20,14,24,24"]


def dub_killed(inputs, output, sig, marker, count=1):
    """Start a slowed dub, send `sig` after the `count`-th `marker` line; (exit code, stderr)."""
    process = subprocess.Popen([sys.executable, "-m", "tests.errors.slow_dub", *dub_args(inputs, output)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    for line in process.stdout:
        seen += line.strip() == marker
        if seen == count:
            process.send_signal(sig)
            break
    _, stderr = process.communicate(timeout=60)
    assert seen == count, f"the dub ended before {marker} #{count}: {stderr}"
    return process.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("marker,count", [("EDIT", 3), ("FINISH", 1)])
def test_term_and_int_unwind_and_leave_nothing(inputs, tmp_path, sig, marker, count):
    code, stderr = dub_killed(inputs, tmp_path / "out.mp4", sig, marker, count)
    assert code == 128 + sig, stderr
    said = [line for line in stderr.strip().splitlines() if not line.startswith("warning: ")]  # the speech stretches the video
    assert said == [f"stopped by {sig.name}: {tmp_path / 'out.mp4'} was not written"]
    assert list(tmp_path.iterdir()) == []


def test_a_stop_after_the_dub_is_in_place_says_it_was_written(inputs, tmp_path):
    """With --compare, a Ctrl-C once the dub is in place (the side-by-side video still to make)
    keeps the finished dub and says so, instead of saying it was not written."""
    output = tmp_path / "out.mp4"
    process = subprocess.Popen([sys.executable, "-m", "tests.errors.slow_dub", *dub_args(inputs, output), "--compare"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.strip() == "COMPARE":
            process.send_signal(signal.SIGINT)
            break
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert f"stopped by SIGINT: {output} was written; what was to follow it was not" in stderr
    assert probe_video(output).frame_count == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no half-made comparison


def test_term_before_the_dub_starts_leaves_nothing(inputs, tmp_path):
    code, _ = dub_killed(inputs, tmp_path / "out.mp4", signal.SIGTERM, "START")
    assert code in (-signal.SIGTERM, 128 + signal.SIGTERM)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("marker,count", [("EDIT", 3), ("FINISH", 1)])
def test_kill_leaves_no_output_and_the_next_run_cleans_up(inputs, tmp_path, marker, count):
    output = tmp_path / "out.mp4"
    code, _ = dub_killed(inputs, output, signal.SIGKILL, marker, count)
    assert code == -signal.SIGKILL
    assert not output.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and re.fullmatch(r"\.out\.\w{8}\.partial\.mp4", leftovers[0])  # hidden, beside it
    rerun = subprocess.run([sys.executable, "-m", "omnisync_cli", *dub_args(inputs, output)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert probe_video(output).frame_count == 100


def test_a_killed_batch_rerun_redoes_only_the_unfinished_items(inputs, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b", "c"):
        (videos / f"{name}.mp4").write_bytes((inputs / "in.mp4").read_bytes())
    out = tmp_path / "out"
    args = ["batch-dub", str(videos), "--audio", str(inputs / "speech.wav"), "-o", str(out), "--passthrough", "-q",
            "--region", "20,14,24,24"]
    process = subprocess.Popen([sys.executable, "-m", "tests.errors.slow_dub", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    edits = 0
    for line in process.stdout:
        edits += line.strip() == "EDIT"
        if edits == 20:  # 16 segments per item: a is done, b is half way
            process.send_signal(signal.SIGKILL)
            break
    process.communicate(timeout=60)
    left = sorted(p.name for p in out.iterdir())
    assert len(left) == 3 and re.fullmatch(r"\.b\.\w{8}\.partial\.mp4", left[0]) and left[1:] == ["a.mp4", "batch-report.json"]
    rerun = subprocess.run([sys.executable, "-m", "omnisync_cli", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads((out / "batch-report.json").read_text())
    assert [(i["output"], i["status"]) for i in report["items"]] == [
        ("a.mp4", "skipped"), ("b.mp4", "dubbed"), ("c.mp4", "dubbed")]
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "batch-report.json", "c.mp4"]
