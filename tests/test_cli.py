"""The `omnisync` command as a user runs it: typer's runner, and the installed console script."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.media.video import probe_video
from tests.media.clips import pattern, tone, write_audio, write_clip, write_exif_jpeg

runner = CliRunner()


@pytest.fixture
def inputs(tmp_path):
    write_clip(tmp_path / "in.mp4", n_frames=10, width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.6, 16000), 16000)
    return tmp_path


def test_dub_passthrough_writes_the_video_and_a_json_summary(inputs):
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"),
                                 "-o", str(inputs / "out.mp4"), "--passthrough", "--json",
                                 "--region", "20,14,24,24"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output_frames"] == 15 and summary["track_source"] == "override"
    assert set(summary["seconds"]) >= {"probe", "track", "render"}
    assert probe_video(inputs / "out.mp4").frame_count == 15


def test_a_name_holding_an_emoji_code_is_printed_as_it_is(inputs):
    """rich turned ':ok:' in a printed path into an emoji: 'wrote out🆗.mp4' named no file (a user tour)."""
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"),
                                 "-o", str(inputs / "take:ok:.mp4"), "--passthrough", "--region", "20,14,24,24"])
    assert result.exit_code == 0, result.output
    assert f"wrote {inputs / 'take:ok:.mp4'}: " in result.stderr


def test_the_dub_says_where_the_mouth_came_from(inputs):
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"),
                                 "-o", str(inputs / "out.mp4"), "--passthrough", "--region", "20,14,24,24"])
    assert result.exit_code == 0, result.output
    assert "mouth and region given by the user, constant over 10 frames" in result.output


@pytest.mark.parametrize("flags,named", [(["--weights", "nowhere"], "--weights"), (["--prompt", "hi"], "--prompt"),
                                         (["--adapt", "--prompt", "hi"], "--prompt, --adapt"),
                                         (["--tau", "0.5"], "--tau"), (["--cfg-peak", "2", "--seed", "3"], "--cfg-peak, --seed")])
def test_passthrough_with_a_model_flag_is_refused(inputs, flags, named):
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"),
                                 "-o", str(inputs / "out.mp4"), "--passthrough", *flags])
    assert result.exit_code == 2 and f"--passthrough runs no model, so {named} would do nothing" in result.stderr
    assert not (inputs / "out.mp4").exists()


def test_a_failed_dub_with_json_says_why_on_stdout_too(inputs):
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "missing.wav"),
                                 "-o", str(inputs / "out.mp4"), "--passthrough", "--json"])
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 2 and "audio file not found" in summary["error"]
    assert result.stderr.strip().startswith("error: audio file not found")


@pytest.mark.parametrize("command,flags,says", [
    ("dub", ["--tau", "abc"], "Invalid value for '--tau'"),
    ("dub", ["--no-such-flag"], "No such option: --no-such-flag"),
    ("dub", ["-o", ""], "an empty path"),
    ("batch-dub", ["--jobs", "x"], "Invalid value for '--jobs'"),
])
def test_a_usage_error_with_json_is_json_on_stdout_too(inputs, command, flags, says):
    """A script reading --json's stdout got nothing where click refused the command line."""
    args = ([str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(inputs / "out.mp4")] if command == "dub"
            else ["-o", str(inputs / "dubbed")])
    result = runner.invoke(app, [command, *args, "--json", *flags])
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 2 and says in summary["error"]
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr
    plain = runner.invoke(app, [command, *args, *flags])  # without --json, stdout stays empty
    assert plain.exit_code == 2 and plain.stdout == ""


def test_a_passthrough_dub_never_imports_torch(inputs):
    """Its start-up is part of the pipeline's overhead (bench/realtime.py): no network, no torch."""
    code = ("import sys; from omnisync_cli.cli import app\n"
            "try:\n    app()\nexcept SystemExit as stop:\n    assert stop.code == 0, stop.code\n"
            "assert 'torch' not in sys.modules")
    args = ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(inputs / "out.mp4"),
            "--passthrough", "-q", "--region", "20,14,24,24"]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (inputs / "out.mp4").exists()


def test_dub_with_a_plan_writes_it_then_reuses_it(inputs):
    def run(out):
        result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(out),
                                     "--passthrough", "--json", "--region", "20,14,24,24",
                                     "--plan", str(inputs / "in.plan.npz")])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert run(inputs / "first.mp4")["plan"] == "written"
    again = run(inputs / "second.mp4")
    assert again["plan"] == "read" and "track" not in again["seconds"]


@pytest.mark.parametrize("args,needle", [
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--plan", "{d}/x.npz", "--adapt"], "--plan"),
    (["dub", "{d}/missing.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4"], "not found"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/in.mp4"], "one of the inputs"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--tau", "1.5"], "tau"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--steps", "0"], "steps"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--cfg-mode", "loud"], "guidance"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--crf", "99"], "crf"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--mouth", "abc"], "mouth"),
    (["dub", "{d}/in.mp4", "{d}/speech.wav", "-o", "{d}/out.mp4", "--weights", "{d}/nowhere"], "nowhere"),
    (["batch-dub", "{d}", "--audio", "{d}/speech.wav", "-o", "{d}/out", "--shard", "3/2"], "shard"),
    (["train", "{d}", "--out", "{d}/run", "--max-minutes", "-1"], "max-minutes"),
    (["train", "{d}", "--out", "{d}/run", "--max-minutes", "nan"], "--max-minutes must be between 0 and"),
    (["train", "{d}/corpus", "--out", "{d}/run", "--sync-expert", "{d}/nowhere"], "sync expert weights not found in"),
    (["train", "{d}", "--out", "{d}/run", "--max-minutes", "inf"], "--max-minutes must be between 0 and"),
    (["prepare-data", "{d}", "{d}/corpus", "--clip-seconds", "0.2"], "--clip-seconds must be at least 1, got 0.2"),
    (["synth", "{d}/corpus", "--clip-seconds", "0.1"], "clip seconds"),
    (["synth", "{d}/corpus", "--clip-seconds", "nan"], "clip seconds"),
    (["synth", "{d}/corpus", "--region-offset", "0.5"], "region offset"),
    (["bench", "{d}", "--track-offset", "0.1"], "--true-track"),
    (["bench", "{d}", "--true-track", "--track-offset", "nan"], "track-offset"),
])
def test_user_errors_exit_2_with_one_line(inputs, args, needle):
    result = runner.invoke(app, [a.format(d=inputs) for a in args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not (inputs / "out.mp4").exists()


@pytest.mark.parametrize("flag,value,rule", [
    ("--pair-threshold", "0", "must be in (0, 1), got 0"), ("--source-start-sigma", "1", "must be in [0, 1), got 1"),
    ("--hide-mouth-share", "2", "must be in [0, 1], got 2"), ("--lend-mouth-share", "-1", "must be in [0, 1], got -1"),
    ("--region-scale", "0.1", "must be in [0.3, 1]"), ("--warmup-steps", "-1", "must be >= 0, got -1"),
    ("--reference-frames", "-1", "must be >= 0, got -1"),
    ("--depth", "1", "must be 0 (the preset's) or at least 6 (the cpu-small preset's), got 1"),
    ("--preset", "huge", "must be one of cpu-small, paper, tiny, got 'huge'"),
    ("--sigma-dist", "x", "must be one of uniform,"), ("--loss-weighting", "y", "must be one of velocity, x, got 'y'")])
def test_train_refusals_name_the_flag_typed(inputs, flag, value, rule):
    """TrainConfig's own checks, said with the flag (--pair-threshold), not the field (pair_threshold)."""
    result = runner.invoke(app, ["train", str(inputs / "corpus"), "--out", str(inputs / "run"), flag, value])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {flag} {rule}"), result.stderr
    assert not (inputs / "run").exists()


@pytest.mark.parametrize("args,named", [
    (["synth", ""], "'out'"), (["prepare-data", "", "corpus"], "'videos'"), (["prepare-data", ".", ""], "'out'"),
    (["train-localiser", "--out", ""], "'--out'"), (["train-localiser", "--out="], "'--out'"),
    (["train", "corpus", "", "--out", "run"], "'corpus'"), (["dub", "in.mp4", "speech.wav", "-o", ""], "'-o' / '--output'"),
    (["dub", "", "speech.wav", "-o", "out.mp4"], "'video'"),
    (["dub", "in.mp4", "speech.wav", "-o", "out.mp4", "--weights", ""], "'--weights'"),
    (["adapt", "in.mp4", "-o", ""], "'-o' / '--output'")])
def test_an_empty_path_is_refused_naming_its_argument(inputs, monkeypatch, args, named):
    """typer reads "" as Path("."): `synth ""` filled the current folder."""
    monkeypatch.chdir(inputs)
    for function in ("omnisync_cli.data.corpus.build_corpus", "omnisync_cli.train.localiser.train_localiser"):
        monkeypatch.setattr(function, lambda *args, **kwargs: {})  # what would run in "." without the check
    before = sorted(p.name for p in inputs.iterdir())
    result = runner.invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith(f"error: Invalid value for {named}: an empty path; give a path")
    assert sorted(p.name for p in inputs.iterdir()) == before


def test_batch_dub_shards_and_resumes(inputs):
    videos = inputs / "videos"
    videos.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(inputs / "in.mp4", videos / f"{name}.mp4")
    speech = inputs / "speech"
    speech.mkdir()
    for name in ("a", "b"):  # c has no speech: it fails, the others go on
        shutil.copy(inputs / "speech.wav", speech / f"{name}.wav")
    out = inputs / "dubbed"
    base = ["batch-dub", str(videos), "--audio", str(speech), "-o", str(out), "--passthrough", "-q",
            "--region", "20,14,24,24"]
    first = runner.invoke(app, base + ["--shard", "0/2"])  # a and c
    assert first.exit_code == 1 and "c.mp4" in first.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4"]
    second = runner.invoke(app, base)
    assert "1 dubbed, 1 already done (verified), 1 failed" in second.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4", "b.mp4"]
    # --json: the report on stdout, as written to the folder; a failed item still exits 1.
    third = runner.invoke(app, base + ["--json"])
    summary = json.loads(third.stdout)
    assert third.exit_code == 1 and (summary["dubbed"], summary["skipped"], summary["failed"]) == (0, 2, 1)
    assert json.loads(Path(summary["report"]).read_text())["items"] == summary["items"]
    # ... and an error that stops the whole batch is a JSON object too.
    refused = runner.invoke(app, ["batch-dub", str(videos), "-o", str(out), "--json"])
    assert refused.exit_code == 2 and "--audio" in json.loads(refused.stdout)["error"]


def test_batch_dub_says_how_many_items_it_did_not_reach(inputs, monkeypatch):
    """A --jobs process that died leaves its later items pending: the summary line said only
    "211 dubbed, 0 already done (verified), 7 failed" of 300 (a batch tour)."""
    import omnisync_cli.pipeline.batch as batch
    videos = inputs / "videos"
    videos.mkdir()
    shutil.copy(inputs / "in.mp4", videos / "a.mp4")

    def one_died(items, *args, **kwargs):
        return batch.BatchReport([batch.ItemResult(str(items[0].video), None, "a.mp4", status="failed", error="died"),
                                  batch.ItemResult(str(items[0].video), None, "b.mp4")])

    monkeypatch.setattr(batch, "batch_dub", one_died)
    result = runner.invoke(app, ["batch-dub", str(videos), "--audio", str(inputs / "speech.wav"), "-o",
                                 str(inputs / "dubbed"), "--passthrough", "--region", "20,14,24,24"])
    assert result.exit_code == 1 and "0 dubbed, 0 already done (verified), 1 failed, 1 not reached" in result.stderr


def test_batch_dub_names_each_failure_once_and_the_output_of_a_video_failing_twice(inputs, monkeypatch):
    """A video failing under two outputs printed two identical lines, and a video without speech
    its path twice ("failed: X: no speech file named ... for X"; a batch tour)."""
    import omnisync_cli.pipeline.batch as batch
    videos = inputs / "videos"
    videos.mkdir()
    shutil.copy(inputs / "in.mp4", videos / "a.mp4")

    def two_failed(items, *args, **kwargs):
        return batch.BatchReport([batch.ItemResult(str(items[0].video), None, out, status="failed", error="damaged")
                                  for out in ("a.en.mp4", "a.fr.mp4")])

    monkeypatch.setattr(batch, "batch_dub", two_failed)
    result = runner.invoke(app, ["batch-dub", str(videos), "--audio", str(inputs / "speech.wav"), "-o",
                                 str(inputs / "dubbed"), "--passthrough", "--region", "20,14,24,24"])
    assert f"failed: {videos / 'a.mp4'}: damaged (output a.en.mp4)" in result.stderr
    assert f"failed: {videos / 'a.mp4'}: damaged (output a.fr.mp4)" in result.stderr
    monkeypatch.undo()
    (inputs / "speech").mkdir()
    result = runner.invoke(app, ["batch-dub", str(videos), "--audio", str(inputs / "speech"), "-o",
                                 str(inputs / "dubbed2"), "--passthrough", "--region", "20,14,24,24"])
    assert result.exit_code == 1 and result.stderr.count(str(videos / "a.mp4")) == 1, result.stderr


def test_batch_dub_into_its_speech_folder_is_refused_before_any_work(inputs):
    """Dubs written into the speech folder were, on the rerun that resumes a batch, each video's
    second speech file: 'a.mp4 has 2 speech files (a.mp4, a.wav); keep one' (a user tour)."""
    videos, speech = inputs / "videos", inputs / "speech"
    videos.mkdir()
    speech.mkdir()
    shutil.copy(inputs / "in.mp4", videos / "a.mp4")
    shutil.copy(inputs / "speech.wav", speech / "a.wav")
    result = runner.invoke(app, ["batch-dub", str(videos), "--audio", str(speech), "-o", str(speech),
                                 "--passthrough", "-q", "--region", "20,14,24,24"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"-o {speech} is the speech folder" in result.stderr
    assert sorted(p.name for p in speech.iterdir()) == ["a.wav"]


def test_installed_console_script(inputs):
    exe = shutil.which("omnisync")
    assert exe, "pip install -e . puts `omnisync` on PATH"
    assert subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.startswith("omnisync ")
    done = subprocess.run([exe, "dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o",
                           str(inputs / "out.mp4"), "--passthrough", "-q", "--region", "20,14,24,24"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    again = subprocess.run([exe, "dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o",
                            str(inputs / "out.mp4"), "--passthrough", "-q"], capture_output=True, text=True)
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_a_phone_photo_dubs_into_a_video_as_long_as_the_speech(inputs, tmp_path):
    """A still image is a one-frame video: EXIF orientation applied, held for the speech's length."""
    from omnisync_cli.model.config import get_preset
    from omnisync_cli.model.dit import OmniSyncDiT
    from omnisync_cli.model.weights import save_model
    save_model(OmniSyncDiT(get_preset("tiny")), tmp_path / "tiny")
    photo = inputs / "photo.jpg"
    write_exif_jpeg(photo, pattern(0, 64, 48), orientation=6)  # shown 48 wide, 64 high
    before = photo.read_bytes()
    result = runner.invoke(app, ["dub", str(photo), str(inputs / "speech.wav"), "-o", str(inputs / "out.mp4"),
                                 "--weights", str(tmp_path / "tiny"), "--steps", "1", "--region", "12,20,24,24",
                                 "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["source_frames"], summary["output_frames"]) == (1, 15)  # 0.6 s of speech at 25 fps
    assert "played forwards and back" not in result.stderr  # held, as asked: no warning of a stretched video
    info = probe_video(inputs / "out.mp4")
    assert (info.width, info.height, info.frame_count, info.has_audio) == (48, 64, 15, True)
    assert photo.read_bytes() == before


def test_tune_tiles_one_preview_per_setting(inputs, tmp_path):
    from omnisync_cli.model.dit import OmniSyncDiT
    from omnisync_cli.model.config import get_preset
    from omnisync_cli.model.weights import save_model
    save_model(OmniSyncDiT(get_preset("tiny")), tmp_path / "tiny")
    result = runner.invoke(app, ["tune", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o",
                                 str(inputs / "grid.mp4"), "--tau", "0.5,1", "--cfg-peak", "2,4,6",
                                 "--seconds", "0.4", "--steps", "1", "--weights", str(tmp_path / "tiny"),
                                 "--region", "20,14,24,24", "-q"])
    assert result.exit_code == 0, result.output
    info = probe_video(inputs / "grid.mp4")
    assert (info.width, info.frame_count) == (3 * 320, 10)  # 3 columns, 0.4 s at 25 fps
    assert info.height == 2 * 240  # 2 rows of 64x48 scaled to 320 wide


@pytest.mark.parametrize("flags,field,value", [
    ([], "audio_gate", False), (["--audio-gate"], "audio_gate", True),
    ([], "silence_peak", None), (["--cfg-silence-peak", "4"], "silence_peak", 4.0)])
def test_the_audio_gate_and_the_silence_peak_are_off_unless_asked_for(inputs, monkeypatch, flags, field, value):
    import omnisync_cli.cli as cli
    from omnisync_cli.pipeline.editor import PassthroughEditor
    seen = []
    monkeypatch.setattr(cli, "build_editor", lambda passthrough, weights, sampler, prompt: seen.append(sampler) or PassthroughEditor())
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(inputs / "out.mp4"),
                                 "-q", "--region", "20,14,24,24", *flags])
    assert result.exit_code == 0, result.output
    assert getattr(seen[0], field) == value


@pytest.mark.parametrize("command", ["dub", "batch-dub"])
@pytest.mark.parametrize("flags,field,value", [([], "mouth_bank", "auto"), (["--mouth-bank", "off"], "mouth_bank", "off"),
                                              (["--mouth-bank", "everywhere"], "mouth_bank", "everywhere"),
                                              ([], "speech_gate", True), (["--hear-everything"], "speech_gate", False),
                                              (["--min-face", "48"], "min_face_px", 48.0),
                                              ([], "edit_rate", 24.0), (["--edit-rate", "0"], "edit_rate", 0.0),
                                              ([], "pause_reach", 1.15), (["--pause-reach", "1"], "pause_reach", 1.0),
                                              ([], "self_test", True), (["--no-self-test"], "self_test", False)])
def test_the_mouth_bank_and_the_speech_gate_follow_their_flags(inputs, monkeypatch, command, flags, field, value):
    import omnisync_cli.cli as cli
    from omnisync_cli.pipeline.editor import PassthroughEditor
    from omnisync_cli.pipeline import dub as dub_module
    seen = []
    real_render = dub_module.render
    monkeypatch.setattr(cli, "build_editor", lambda passthrough, weights, sampler, prompt: PassthroughEditor())
    monkeypatch.setattr(dub_module, "render", lambda analysis, audio, output, editor, options, *a, **k:
                        seen.append(getattr(options, field)) or real_render(analysis, audio, output, editor, options, *a, **k))
    if command == "dub":
        args = ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(inputs / "out.mp4")]
    else:
        videos = inputs / "videos"
        videos.mkdir()
        shutil.copy(inputs / "in.mp4", videos / "in.mp4")
        args = ["batch-dub", str(videos), "--audio", str(inputs / "speech.wav"), "-o", str(inputs / "dubbed")]
    result = runner.invoke(app, [*args, "-q", "--region", "20,14,24,24", *flags])
    assert result.exit_code == 0, result.output
    assert seen and all(v == value for v in seen)


@pytest.mark.parametrize("flags,message", [(["--mouth-bank", "always"], "--mouth-bank must be one of auto, pauses, everywhere, off"),
                                           (["--min-face", "-5"], "minimum face width"),
                                           (["--edit-rate", "0.5"], "edit rate"),
                                           (["--pause-reach", "0.5"], "pause reach")])
def test_a_bad_option_value_is_refused_in_one_line_before_anything_is_written(inputs, flags, message):
    out = inputs / "out.mp4"
    result = runner.invoke(app, ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(out),
                                 "--passthrough", *flags])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


def tune_calls(monkeypatch) -> list[tuple]:
    """The (grid, options) of each `tune` the CLI runs, none of them run."""
    from omnisync_cli.pipeline import tune as tune_module
    calls = []
    monkeypatch.setattr(tune_module, "tune", lambda video, audio, output, make_editor, sampler, grid, options,
                        progress: calls.append((grid, options)))
    monkeypatch.setattr("omnisync_cli.pipeline.editor.load_editor", lambda weights, sampler, prompt="": None)
    return calls


def test_tune_takes_the_dub_flags_that_change_the_picture(inputs, monkeypatch):
    """A preview must show what the dub will do with the same flags."""
    seen = tune_calls(monkeypatch)
    result = runner.invoke(app, ["tune", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o",
                                 str(inputs / "grid.mp4"), "--any-colours", "--edit-pauses", "--mouth-bank", "everywhere",
                                 "--hear-everything", "--edit-rate", "30", "--pause-reach", "1.5", "--no-self-test", "-q"])
    assert result.exit_code == 0, result.output
    ((_, options),) = seen
    assert (options.keep_colours, options.keep_quiet_source, options.mouth_bank, options.speech_gate,
            options.edit_rate, options.pause_reach, options.self_test) == (False, False, "everywhere", False, 30.0, 1.5,
                                                                          False)


def test_tune_previews_a_value_given_twice_once(inputs, monkeypatch):
    seen = tune_calls(monkeypatch)
    result = runner.invoke(app, ["tune", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o",
                                 str(inputs / "grid.mp4"), "--tau", "0.92,1,0.92", "--cfg-peak", "4,2,4.0"])
    assert result.exit_code == 0, result.output
    ((grid, _),) = seen
    assert (grid.taus, grid.cfg_peaks) == ((0.92, 1.0), (4.0, 2.0))
    assert "rows tau 0.92,1, columns cfg peak 4,2" in result.stderr


def test_prepare_data_names_the_videos_it_skipped(tmp_path, monkeypatch):
    import omnisync_cli.data.prepare as prepare_module
    (tmp_path / "videos").mkdir()
    monkeypatch.setattr(prepare_module, "prepare_data", lambda videos, out, config, progress=None: {
        "clips": 3, "videos": {"a.mp4": 3}, "skipped": {"b.mp4": "b.mp4: has no audio stream"}})
    result = runner.invoke(app, ["prepare-data", str(tmp_path / "videos"), str(tmp_path / "corpus"), "-q"])
    assert result.exit_code == 0, result.output
    assert "skipped: b.mp4: has no audio stream" in result.stderr  # the reason names the file: once


SUMMARIES = {  # command -> (its arguments, the library function it calls, what it returns, its closing line)
    "synth": (["{d}/corpus"], "omnisync_cli.data.corpus.build_corpus", {"clips": 3, "shards": ["a"]}, "wrote corpus to"),
    "prepare-data": (["{d}/videos", "{d}/corpus"], "omnisync_cli.data.prepare.prepare_data", {"clips": 3},
                     "wrote {d}/corpus: "),
    "train": (["{d}/corpus", "--out", "{d}/run"], "omnisync_cli.train.train", "{d}/run/weights", "weights in"),
    "train-sync": (["{d}/corpus", "--out", "{d}/run"], "omnisync_cli.train.sync.train_sync", "{d}/run",
                   "wrote the sync expert to"),
    "train-localiser": (["--out", "{d}/run"], "omnisync_cli.train.localiser.train_localiser", "{d}/run",
                        "wrote the mouth localiser to"),
}


@pytest.mark.parametrize("command", sorted(SUMMARIES))
@pytest.mark.parametrize("quiet", [False, True])
def test_a_command_prints_its_summary_unless_quiet(tmp_path, monkeypatch, command, quiet):
    """The closing line is progress output: -q leaves it out, as it does for dub, adapt and tune."""
    args, function, returned, summary = SUMMARIES[command]
    returned = returned.format(d=tmp_path) if isinstance(returned, str) else returned
    monkeypatch.setattr(function, lambda *args, **kwargs: returned)
    result = runner.invoke(app, [command, *(a.format(d=tmp_path) for a in args), *(["-q"] if quiet else [])])
    assert result.exit_code == 0, result.output
    if quiet:
        assert result.stderr == ""
    else:
        assert summary.format(d=tmp_path) in result.stderr


@pytest.mark.parametrize("command", ["synth", "prepare-data"])
@pytest.mark.parametrize("before", ["absent", "empty", "holding a file"])
def test_a_stopped_corpus_command_leaves_no_half_written_corpus(tmp_path, monkeypatch, command, before):
    """Ctrl-C (or a failure) half way: a folder the command made goes, with the folders made
    above it; an empty one is left empty; one that held files is left as it is, and said so."""
    import signal
    from omnisync_cli.stopping import Stopped
    out = tmp_path / "new" / "corpus" if before == "absent" else tmp_path / "corpus"
    if before != "absent":
        out.mkdir()
    if before == "holding a file":
        (out / "notes.txt").write_text("mine")

    def half_way(*args, **kwargs):
        out.mkdir(parents=True, exist_ok=True)
        (out / "shard-00000.safetensors").write_bytes(b"part")
        raise Stopped(signal.SIGINT)
    function = {"synth": "omnisync_cli.data.corpus.build_corpus", "prepare-data": "omnisync_cli.data.prepare.prepare_data"}
    monkeypatch.setattr(function[command], half_way)
    args = [str(out)] if command == "synth" else [str(tmp_path), str(out)]
    result = runner.invoke(app, [command, *args, "-q"])
    assert result.exit_code == 128 + signal.SIGINT, result.output
    if before == "absent":
        assert not (tmp_path / "new").exists() and result.stderr == f"stopped by SIGINT: {out} was not written\n"
    elif before == "empty":
        assert list(out.iterdir()) == [] and result.stderr == f"stopped by SIGINT: nothing written to {out}\n"
    else:
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "shard-00000.safetensors"]
        assert result.stderr.startswith(f"warning: {out} held files before, so it is left as it is")
        assert result.stderr.endswith(f"stopped by SIGINT: nothing more written to {out}\n")


def test_a_failed_corpus_command_leaves_no_half_written_corpus(tmp_path, monkeypatch):
    from omnisync_cli.errors import InputError

    def half_way(out, *args, **kwargs):
        Path(out).mkdir()
        (Path(out) / "shard-00000.safetensors").write_bytes(b"part")
        raise InputError("a clip could not be rendered")
    monkeypatch.setattr("omnisync_cli.data.corpus.build_corpus", half_way)
    result = runner.invoke(app, ["synth", str(tmp_path / "corpus")])
    assert result.exit_code == 2 and result.stderr == "error: a clip could not be rendered\n"
    assert list(tmp_path.iterdir()) == []


def test_train_says_that_a_sync_expert_without_a_sync_loss_is_not_used(inputs):
    from omnisync_cli.bench.sync import BUNDLED_SYNC_EXPERT
    from omnisync_cli.bundled import bundled_weights
    result = runner.invoke(app, ["train", str(inputs / "corpus"), "--out", str(inputs / "run"),
                                 "--sync-expert", str(bundled_weights(BUNDLED_SYNC_EXPERT))])
    assert "warning: --sync-expert is used only with a --sync-loss-weight above 0" in result.stderr
    assert "corpus" in result.stderr.splitlines()[-1]  # then the run goes on, here to the corpus it lacks


@pytest.mark.parametrize("json_flag", [False, True])
def test_a_bug_is_one_line_and_exit_1_and_its_traceback_is_there_when_asked_for(inputs, monkeypatch, json_flag):
    """An exception the code did not expect (a bug: an ONNX Runtime shape error met a user on a
    CPU without native bf16) is one line naming it, exit code 1, nothing at the output path;
    OMNISYNC_TRACEBACK=1 lets it through with its traceback."""
    import omnisync_cli.cli as cli
    from omnisync_cli.pipeline import dub as dub_module
    from omnisync_cli.pipeline.editor import PassthroughEditor

    def broken(*args, **kwargs):
        raise RuntimeError("Got invalid dimensions for input: x\n index: 1 Got: 4 Expected: 8")
    monkeypatch.setattr(dub_module, "render", broken)
    monkeypatch.setattr(cli, "build_editor", lambda passthrough, weights, sampler, prompt: PassthroughEditor())
    out = inputs / "out.mp4"
    args = ["dub", str(inputs / "in.mp4"), str(inputs / "speech.wav"), "-o", str(out), "-q", "--region", "20,14,24,24",
            *(["--json"] if json_flag else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error (RuntimeError: Got invalid dimensions for input: x)" in lines[0]
    assert "OMNISYNC_TRACEBACK=1" in lines[0] and "Traceback" not in result.output
    if json_flag:
        assert json.loads(result.stdout) == {"error": lines[0].removeprefix("error: "), "exit_code": 1}
    monkeypatch.setenv("OMNISYNC_TRACEBACK", "1")
    result = runner.invoke(app, args)
    assert isinstance(result.exception, RuntimeError) and not out.exists()


def test_the_commands_defaults_are_the_samplers():
    """The CLI spells its sampler defaults out (importing the model's configs would import torch
    before a bad flag is told): they must be the ones SamplerConfig and GuidanceConfig document."""
    import inspect

    from omnisync_cli import cli
    from omnisync_cli.guidance.dscfg import GuidanceConfig
    from omnisync_cli.model.editor import SamplerConfig
    sampler, guidance = SamplerConfig(), GuidanceConfig()
    wanted = {"tau": sampler.tau, "steps": sampler.steps, "cfg_mode": guidance.mode, "cfg_peak": guidance.w_peak,
              "cfg_base": guidance.w_base, "cfg_sigma": guidance.s, "cfg_gamma": guidance.gamma}
    for command in (cli.dub, cli.batch_dub, cli.tune):
        params = inspect.signature(command).parameters
        for name, value in wanted.items():
            if name in params:
                assert params[name].default == value, (command.__name__, name)
    assert guidance.w_peak in cli.parse_list(cli.TUNE_PEAKS, "--cfg-peak", "")
    assert sampler.tau in cli.parse_list(cli.TUNE_TAUS, "--tau", "")
