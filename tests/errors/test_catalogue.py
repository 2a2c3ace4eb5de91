"""The failure catalogue: every bad input a user can give gets one line on stderr naming the
problem, exit code 2, no traceback, and nothing at or beside the output path; no input is
ever changed.

Each case runs the real command (typer's runner) on a file from `bad_inputs`. Cases that
would load a model pass --passthrough: the refusal must come before any model work.
"""

import hashlib
import os
import resource
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from omnisync_cli.cli import app
from tests.errors.bad_inputs import NON_UTF8, make_inputs

runner = CliRunner()
FAST = ["-q", "--passthrough", "--region", "20,14,24,24"]


def dub(video="{d}/in.mp4", audio="{d}/speech.wav", output="{o}/dub.mp4", *extra, fast=True):
    return ["dub", video, audio, "-o", output, *extra, *(FAST if fast else [])]


CASES = {
    # inputs that are not there or not files
    "video missing": (dub("{d}/missing.mp4"), "video file not found"),
    "audio missing": (dub(audio="{d}/missing.wav"), "audio file not found"),
    "video is a folder": (dub("{d}/a folder.mp4"), "not a file"),
    "audio is a folder": (dub(audio="{d}/a folder.mp4"), "not a file"),
    "video empty": (dub("{d}/empty.mp4"), "video file is empty"),
    "audio empty": (dub(audio="{d}/empty.wav"), "audio file is empty"),
    "space and missing": (dub("{d}/my clip.mp4"), "my clip.mp4"),
    "non-UTF-8 name, garbage": (dub("{d}/" + NON_UTF8), "cannot be read as media"),
    # damaged or wrong media
    "video garbage": (dub("{d}/garbage.mp4"), "cannot be read as media"),
    "audio garbage": (dub(audio="{d}/garbage.wav"), "cannot be read as media"),
    "video corrupt header": (dub("{d}/bad-header.mp4"), "cannot be read as media"),
    "truncated mp4": (dub("{d}/trunc.mp4"), "truncated"),
    "truncated mov": (dub("{d}/trunc.mov"), "truncated"),
    "truncated faststart mp4": (dub("{d}/trunc-faststart.mp4"), "damaged or cut short"),
    "truncated mkv": (dub("{d}/trunc.mkv"), "{d}/trunc.mkv"),
    "truncated wav": (dub(audio="{d}/trunc.wav"), "audio ends early"),
    "truncated flac": (dub(audio="{d}/trunc.flac"), "damaged"),
    "truncated m4a": (dub(audio="{d}/trunc.m4a"), "truncated"),
    "audio without samples": (dub(audio="{d}/no-samples.wav"), "no samples"),
    "audio silent": (dub(audio="{d}/silent.wav"), "the speech is silent"),
    "tune with silent speech": (["tune", "{d}/in.mp4", "{d}/silent.wav", "-o", "{o}/grid.mp4"],
                                "the speech is silent"),
    "audio given as video": (dub("{d}/speech.wav"), "has no video stream"),
    "video without audio as speech": (dub(audio="{d}/in.mp4"), "has no audio stream"),
    "video stream without frames": (dub("{d}/no-frames.mkv"), "has no frames"),
    "huge declared size": (dub("{d}/huge.y4m"), "16400x200"),
    "1x1 video": (dub("{d}/one-pixel.mov", *[], fast=False) + ["-q", "--passthrough"], "1x1 pixels"),
    "7x5 video": (dub("{d}/tiny.mov", *[], fast=False) + ["-q", "--passthrough"], "7x5 pixels"),
    # outputs
    "output is the video": (dub(output="{d}/in.mp4"), "one of the inputs"),
    "output not mp4": (dub(output="{o}/dub.avi"), "must be an MP4"),
    "output folder missing": (dub(output="{o}/missing/dub.mp4"), "does not exist"),
    "output folder is a file": (dub(output="{d}/a file/dub.mp4"), "is a file, not a folder"),
    "output is a folder": (dub(output="{d}/a folder.mp4"), "is a folder"),
    "output unwritable": (dub(output="/sys/omnisync-dub.mp4"), "not writable"),
    "compare video is an input": (dub("{d}/c.compare.mp4", "{d}/speech.wav", "{d}/c.mp4", "--compare", "--overwrite"),
                                  "is one of the inputs"),
    "plan is not a plan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--plan", "{d}/notes.txt"),
                           "is not an omnisync plan"),
    "plan is where --compare writes": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--compare", "--plan",
                                           "{o}/dub.compare.mp4"), "is where --compare writes"),
    "plan folder missing": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--plan", "{o}/missing/p.npz"),
                            "does not exist"),
    "brackets in a missing name": (dub("{d}/Interview [final].mp4"), "Interview [final].mp4"),
    "closing tag in a missing name": (dub("{d}/in[/x].mp4"), "in[/x].mp4"),
    "adapt into a file": (["adapt", "{d}/in.mp4", "-o", "{d}/notes.txt", "--overwrite", "-q"], "is a file"),
    "adapt over the video's folder": (["adapt", "{d}/in.mp4", "-o", "{d}", "--overwrite", "-q"], "holds the video"),
    "adapt over a folder of other files": (["adapt", "{d}/in.mp4", "-o", "{d}/videos", "--overwrite", "-q"],
                                           "not an adapted model's (a.mp4)"),
    # flags
    "tau above 1": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--tau", "1.5"), "--tau"),
    "tau nan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--tau", "nan"), "--tau"),
    "steps 0": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--steps", "0"), "--steps"),
    "steps 100000": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--steps", "100000"), "between 1 and 100"),
    "cfg peak inf": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-peak", "inf"), "--cfg-peak"),
    "cfg peak nan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-peak", "nan"), "--cfg-peak"),
    "cfg peak -1": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-peak", "-1"), "--cfg-peak"),
    "cfg base nan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-base", "nan"), "--cfg-base"),
    "cfg sigma 0": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-sigma", "0"), "--cfg-sigma"),
    "cfg gamma -inf": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-gamma", "-inf"), "--cfg-gamma"),
    "cfg mode unknown": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--cfg-mode", "loud"), "guidance mode"),
    "seed negative": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--seed", "-1"), "--seed"),
    "face index beyond max faces": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--face-index", "5"), "between 0 and 3"),
    "feather nan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--feather", "nan"), "--feather"),
    "crf 99": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--crf", "99"), "--crf"),
    "mouth not numbers": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--mouth", "abc"), "--mouth"),
    "mouth nan": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--mouth", "nan,5"), "--mouth"),
    "region zero width": (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{o}/dub.mp4", "-q",
                           "--passthrough", "--region", "1,2,0,4"], "positive width"),
    "region inf": (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{o}/dub.mp4", "-q",
                    "--passthrough", "--region", "inf,0,10,10"], "--region"),
    # what the argument parser catches: one line too
    "steps not a number": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--steps", "abc"), "'--steps'"),
    "extend unknown": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--extend", "zigzag"), "'zigzag'"),
    "output missing": (["dub", "{d}/in.mp4", "{d}/speech.wav", "-q"], "Missing option '-o'"),
    "unknown option": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--loud"), "No such option: --loud"),
    "unknown command": (["dubb", "{d}/in.mp4"], "No such command 'dubb'"),
    # weights (no --passthrough: the model is what is wrong)
    "weights missing": (dub(*["{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--weights", "{d}/nowhere", "-q"],
                            fast=False), "does not exist"),
    "weights corrupt": (dub(*["{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--weights", "{d}/bad-weights", "-q"],
                            fast=False), "not valid JSON"),
    # other commands
    "batch -o is the video folder": (["batch-dub", "{d}/videos", "--audio", "{d}/speech.wav", "-o", "{d}/videos",
                                      "--passthrough", "-q"], "or inside it; give a separate folder"),
    "batch -o inside the video folder": (["batch-dub", "{d}/videos", "--audio", "{d}/speech.wav", "-o",
                                          "{d}/videos/out", "--passthrough", "-q"], "or inside it; give a separate folder"),
    "batch videos is a file": (["batch-dub", "{d}/in.mp4", "--audio", "{d}/speech.wav", "-o", "{o}/b",
                                "--passthrough", "-q"], "is a file"),
    "batch folder without videos": (["batch-dub", "{d}/no-videos", "--audio", "{d}/speech.wav", "-o", "{o}/b",
                                     "--passthrough", "-q"], "no videos"),
    "batch with a speech file that is not audio": (["batch-dub", "{d}/videos", "--audio", "{d}/garbage.wav", "-o",
                                                   "{o}/b", "--passthrough", "-q"], "cannot be read as media"),
    "batch jobs 0": (["batch-dub", "{d}/videos", "--audio", "{d}/speech.wav", "-o", "{o}/b", "--jobs", "0",
                      "--passthrough", "-q"], "--jobs must be between 1 and 64"),
    "batch shard out of range": (["batch-dub", "{d}/videos", "--audio", "{d}/speech.wav", "-o", "{o}/b",
                                  "--shard", "3/2", "-q"], "--shard"),
    "batch manifest escapes -o": (["batch-dub", "--manifest", "{d}/escape.csv", "-o", "{o}/b", "--passthrough", "-q"],
                                  "must be a plain file name"),
    "batch manifest unknown field": (["batch-dub", "--manifest", "{d}/unknown.json", "-o", "{o}/b", "--passthrough",
                                      "-q"], "unknown field(s) speed"),
    "batch folder and manifest": (["batch-dub", "{d}/videos", "--manifest", "{d}/escape.csv", "-o", "{o}/b", "-q"],
                                  "one of them"),
    "tune tau list": (["tune", "{d}/in.mp4", "{d}/speech.wav", "-o", "{o}/grid.mp4", "--tau", "0.5,x"],
                      "such as 0.85,0.92,1.0"),
    "tune peak nan": (["tune", "{d}/in.mp4", "{d}/speech.wav", "-o", "{o}/grid.mp4", "--cfg-peak", "2,nan"],
                      "--cfg-peak"),
    "tune seconds 0": (["tune", "{d}/in.mp4", "{d}/speech.wav", "-o", "{o}/grid.mp4", "--seconds", "0"],
                       "--seconds"),
    "train lr nan": (["train", "{d}/videos", "--out", "{o}/run", "--lr", "nan"], "--lr"),
    "synth workers 0": (["synth", "{o}/corpus", "--workers", "0"], "--workers"),
    "synth into a file": (["synth", "{d}/notes.txt"], "is a file, not a folder"),
    "prepare-data into a file": (["prepare-data", "{d}/videos", "{d}/notes.txt"], "is a file, not a folder"),
    "train-localiser into a file": (["train-localiser", "--out", "{d}/notes.txt", "--steps", "1", "--samples", "1"],
                                    "is a file, not a folder"),
    "train-sync below a file": (["train-sync", "{d}/videos", "--out", "{d}/notes.txt/run"], "is a file, not a folder"),
    "train into a file": (["train", "{d}/videos", "--out", "{d}/notes.txt"], "is a file, not a folder"),
    "train into its --init-from weights": (["train", "{d}/videos", "--out", "{d}/shipped", "--init-from",
                                            "{d}/shipped"], "is the --init-from weights"),
    "train over a model": (["train", "{d}/videos", "--out", "{d}/shipped"], "already holds a model"),
    "train inside its corpus": (["train", "{d}/videos", "--out", "{d}/videos/run"], "is corpus"),
    "train-localiser over its --init-from": (["train-localiser", "--out", "{d}/shipped", "--init-from", "{d}/shipped",
                                              "--steps", "1", "--samples", "1"], "is the --init-from localiser"),
    "train-sync into its corpus": (["train-sync", "{d}/videos", "--out", "{d}/videos"], "is corpus"),
    "synth where no folder can be made": (["synth", "/proc/omnisync-nope", "--preset", "tiny"], "cannot create"),
    "bench with broken weights": (["bench", "{d}/videos", "--variants", "no-op", "--weights", "{d}/bad-weights",
                                   "--out", "{o}/b"], "not valid JSON"),
    "bench without variants": (["bench", "{d}/videos", "--variants", "", "--out", "{o}/b"], "no benchmark variant"),
    "adapt budget without --adapt": (dub("{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--adapt-steps", "3"),
                                     "add --adapt"),
    "weights is a file": (dub(*["{d}/in.mp4", "{d}/speech.wav", "{o}/dub.mp4", "--weights", "{d}/notes.txt", "-q"],
                              fast=False), "is a file; pass the weights folder"),
    "bench into a file": (["bench", "{d}/videos", "--out", "{d}/notes.txt"], "is a file, not a folder"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("bad-inputs"))


def snapshot(folder):
    """name -> content hash of every file below `folder` (inputs must never change)."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_catalogue_is_large():
    assert len(CASES) + 2 >= 40  # plus the two cases below that need their own set-up


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_exit_2(inputs, tmp_path, case):
    template, needle = CASES[case]
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(inputs)
    args = [a.format(d=inputs, o=out) for a in template]
    result = runner.invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (case, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert needle.format(d=inputs) in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert list(out.iterdir()) == [], "nothing at or beside the output path"
    assert snapshot(inputs) == before, "an input was changed"


def test_existing_output_is_kept(inputs, tmp_path):
    output = tmp_path / "dub.mp4"
    output.write_bytes(b"keep me")
    result = runner.invoke(app, dub(str(inputs / "in.mp4"), str(inputs / "speech.wav"), str(output)))
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert output.read_bytes() == b"keep me" and [p.name for p in tmp_path.iterdir()] == ["dub.mp4"]


def _small_file_limit():
    """In the child: files may not grow past 64 KiB (as on a full disk), and going past is an
    EFBIG error instead of the default kill."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_is_one_line_and_leaves_nothing(inputs, tmp_path):
    """A write failure in the middle of encoding (the file-size limit stands in for a full
    disk): one line, exit 2, and the partial file is removed."""
    import numpy as np

    from tests.media.clips import write_clip
    noise = np.random.default_rng(0).integers(0, 256, (15, 192, 256, 3), np.uint8)
    write_clip(tmp_path / "big.mp4", frames=list(noise), width=256, height=192)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "omnisync_cli", "dub", str(tmp_path / "big.mp4"),
         str(inputs / "speech.wav"), "-o", str(out / "dub.mp4"), "--crf", "0", *FAST],
        capture_output=True, text=True, preexec_fn=_small_file_limit, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "disk is full" in lines[0], lines
    assert list(out.iterdir()) == []
