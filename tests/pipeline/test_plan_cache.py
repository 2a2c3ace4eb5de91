"""`dub --plan FILE`: a saved analysis is reused for the same video and face settings only."""

import dataclasses
import json
import os

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.pipeline import analysis as analysis_module
from omnisync_cli.pipeline import plan_cache
from omnisync_cli.pipeline.progress import SilentProgress
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.plan_cache import load_analysis, save_analysis
from tests.media.clips import cartoon, tone, write_audio, write_clip

OPTIONS = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)))


@pytest.fixture
def folder(tmp_path):
    write_clip(tmp_path / "in.mp4", frames=[cartoon(i, 64, 48) for i in range(10)], width=64, height=48)
    write_audio(tmp_path / "a.wav", tone(0.4, 16000), 16000)
    write_audio(tmp_path / "b.wav", tone(0.6, 16000), 16000)
    return tmp_path


def no_tracking(*args, **kwargs):
    raise AssertionError("the video was tracked again")


def test_saved_analysis_round_trips(folder):
    analysis = analyse(folder / "in.mp4", OPTIONS)
    save_analysis(analysis, OPTIONS.face, folder / "in.plan.npz")
    loaded = load_analysis(folder / "in.plan.npz", folder / "in.mp4", OPTIONS.face)
    assert loaded["info"] == analysis.info
    np.testing.assert_array_equal(loaded["frame_times"], analysis.frame_times)
    for name in ("cx", "cy", "side", "mouth_x", "mouth_y", "found"):
        np.testing.assert_array_equal(getattr(loaded["track"], name), getattr(analysis.track, name))
    assert loaded["track"].source == analysis.track.source and "plan" in loaded["seconds"]


def test_a_redub_with_new_speech_skips_tracking_and_matches_a_fresh_dub(folder, monkeypatch):
    plan = folder / "in.plan.npz"
    first = dub(folder / "in.mp4", folder / "a.wav", folder / "a.mp4", PassthroughEditor(), OPTIONS, plan=plan)
    assert first.plan == "written" and plan.is_file()
    dub(folder / "in.mp4", folder / "b.wav", folder / "fresh.mp4", PassthroughEditor(), OPTIONS)
    monkeypatch.setattr(analysis_module, "_track_mouth", no_tracking)
    second = dub(folder / "in.mp4", folder / "b.wav", folder / "b.mp4", PassthroughEditor(), OPTIONS, plan=plan)
    assert second.plan == "read" and "track" not in second.seconds
    assert (folder / "b.mp4").read_bytes() == (folder / "fresh.mp4").read_bytes()


@pytest.mark.parametrize("change", ["face flags", "video edited"])
def test_a_plan_that_does_not_match_is_made_again(folder, change):
    plan = folder / "in.plan.npz"
    dub(folder / "in.mp4", folder / "a.wav", folder / "a.mp4", PassthroughEditor(), OPTIONS, plan=plan)
    options = OPTIONS
    if change == "face flags":
        options = DubOptions(face=FaceConfig(region=(8, 8, 32, 32)))
    else:
        stat = os.stat(folder / "in.mp4")
        os.utime(folder / "in.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    report = dub(folder / "in.mp4", folder / "b.wav", folder / "b.mp4", PassthroughEditor(), options, plan=plan)
    assert report.plan == "written" and "track" in report.seconds
    assert load_analysis(plan, folder / "in.mp4", options.face) is not None


def test_a_plan_of_a_video_edited_while_it_was_tracked_is_not_taken_for_the_edited_version(folder, monkeypatch):
    """The plan's key was read after tracking: a video edited meanwhile got a plan of its old
    frames that every later --plan dub read as its own (a user tour)."""
    real = analysis_module.analyse

    def edited_meanwhile(video, *args, **kwargs):
        analysis = real(video, *args, **kwargs)
        stat = os.stat(video)
        os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        return analysis

    monkeypatch.setattr(analysis_module, "analyse", edited_meanwhile)
    analysis_module.analysed(folder / "in.mp4", OPTIONS, SilentProgress(), folder / "in.plan.npz")
    assert (folder / "in.plan.npz").is_file()
    assert load_analysis(folder / "in.plan.npz", folder / "in.mp4", OPTIONS.face) is None


@pytest.mark.parametrize("content", [b"not a plan", b""])
def test_a_file_that_is_not_a_plan_is_never_replaced(folder, content):
    notes = folder / "notes.npz"
    notes.write_bytes(content)
    with pytest.raises(ConfigError, match="is not an omnisync plan"):
        dub(folder / "in.mp4", folder / "a.wav", folder / "a.mp4", PassthroughEditor(), OPTIONS, plan=notes)
    assert notes.read_bytes() == content and not (folder / "a.mp4").exists()


def test_a_cut_short_plan_is_refused_in_one_line(folder):
    """A plan file truncated (a full disk, a copy cut short) is a zip without its directory: it
    is refused as not a plan, not a traceback (a user tour)."""
    plan = folder / "in.plan.npz"
    dub(folder / "in.mp4", folder / "a.wav", folder / "a.mp4", PassthroughEditor(), OPTIONS, plan=plan)
    cut = folder / "cut.plan.npz"
    cut.write_bytes(plan.read_bytes()[:400])
    with pytest.raises(ConfigError, match="is not an omnisync plan"):
        dub(folder / "in.mp4", folder / "b.wav", folder / "b.mp4", PassthroughEditor(), OPTIONS, plan=cut)


@pytest.mark.parametrize("damage", ["nan", "short"])
def test_a_plan_with_a_damaged_track_is_made_again(folder, damage):
    plan = folder / "in.plan.npz"
    analysis = analyse(folder / "in.mp4", OPTIONS)
    save_analysis(analysis, OPTIONS.face, plan)
    with np.load(plan) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["cx"] = arrays["cx"][:4] if damage == "short" else np.full_like(arrays["cx"], np.nan)
    np.savez(plan, **arrays)
    assert load_analysis(plan, folder / "in.mp4", OPTIONS.face) is None
    report = dub(folder / "in.mp4", folder / "b.wav", folder / "b.mp4", PassthroughEditor(), OPTIONS, plan=plan)
    assert report.plan == "written" and load_analysis(plan, folder / "in.mp4", OPTIONS.face) is not None


@pytest.mark.parametrize("name", ["in.mp4", "a.wav", "out.mp4"])
def test_the_plan_is_never_an_input_or_the_output(folder, name):
    with pytest.raises(ConfigError, match="--plan"):
        dub(folder / "in.mp4", folder / "a.wav", folder / "out.mp4", PassthroughEditor(), OPTIONS, plan=folder / name)
    assert (folder / "in.mp4").stat().st_size > 1000 and not (folder / "out.mp4").exists()


def test_the_shot_cuts_travel_with_the_plan(folder):
    analysis = analyse(folder / "in.mp4", OPTIONS)
    cut = dataclasses.replace(analysis, track=dataclasses.replace(analysis.track, cuts=np.array([3, 7])))
    save_analysis(cut, OPTIONS.face, folder / "in.plan.npz")
    loaded = load_analysis(folder / "in.plan.npz", folder / "in.mp4", OPTIONS.face)
    np.testing.assert_array_equal(loaded["track"].cuts, [3, 7])


def test_what_the_localiser_did_to_the_track_travels_with_the_plan(folder):
    analysis = analyse(folder / "in.mp4", OPTIONS)
    track = dataclasses.replace(analysis.track, landmarks_overruled=True, localiser_frames=7)
    save_analysis(dataclasses.replace(analysis, track=track), OPTIONS.face, folder / "in.plan.npz")
    loaded = load_analysis(folder / "in.plan.npz", folder / "in.mp4", OPTIONS.face)["track"]
    assert loaded.landmarks_overruled and loaded.localiser_frames == 7


def test_a_plan_of_an_older_tracker_is_made_again(folder):
    """A plan saved before the tracker's last change holds that tracker's track: it is not reused."""
    analysis = analyse(folder / "in.mp4", OPTIONS)
    save_analysis(analysis, OPTIONS.face, folder / "in.plan.npz")
    data = dict(np.load(folder / "in.plan.npz"))
    meta = json.loads(str(data["meta"]))
    meta["key"]["format"] = plan_cache.FORMAT - 1
    data["meta"] = np.array(json.dumps(meta))
    np.savez(folder / "old.plan.npz", **data)
    os.replace(folder / "old.plan.npz", folder / "in.plan.npz")
    assert load_analysis(folder / "in.plan.npz", folder / "in.mp4", OPTIONS.face) is None


def test_a_file_of_the_users_that_appears_at_the_plan_path_meanwhile_is_kept(folder):
    """The plan path is checked before the tracking pass; a file that is no plan, put there while
    the video was tracked (a user tour), is not replaced by the plan at the end."""
    analysis = analyse(folder / "in.mp4", OPTIONS)
    (folder / "in.plan.npz").write_text("my notes")
    with pytest.raises(OutputError, match="not an omnisync plan appeared there"):
        save_analysis(analysis, OPTIONS.face, folder / "in.plan.npz")
    assert (folder / "in.plan.npz").read_text() == "my notes"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no partial left


def test_a_plan_that_cannot_be_saved_is_a_warning_and_the_dub_goes_on(folder, monkeypatch):
    import errno
    import types

    import omnisync_cli.pipeline.plan_cache as plan_cache

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plan_cache, "tempfile", types.SimpleNamespace(mkstemp=full))  # the plan's alone
    warned = []
    progress = SilentProgress()
    progress.warn = warned.append
    report = dub(folder / "in.mp4", folder / "a.wav", folder / "out.mp4", PassthroughEditor(), OPTIONS,
                 progress, plan=folder / "in.plan.npz")
    assert report.plan == "not written" and (folder / "out.mp4").exists() and not (folder / "in.plan.npz").exists()
    assert len(warned) == 1 and "the disk is full" in warned[0] and "dubbing without saving the plan" in warned[0]
