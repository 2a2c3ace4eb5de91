"""pipeline.forked: a call run in a forked child while this process loads a model, and the dub
that tracks there while its editor loads (pipeline.editor.EditorLoader)."""

import io
import multiprocessing
import os
import sys
import threading
import time

import pytest

from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import EditorLoader
from omnisync_cli.pipeline import forked
from omnisync_cli.pipeline.forked import ForkedCall, can_fork
from omnisync_cli.pipeline.mouth_bank import MouthBank
from tests.media.clips import write_clip
from tests.pipeline.test_dub import FIXED_REGION, ShiftEditor, clip  # noqa: F401 - the fixture
from tests.pipeline.test_mouth_bank import REGION, LoudnessEditor, talking, talking_frames  # noqa: F401 - the fixture


@pytest.fixture
def forking(monkeypatch):
    """Fork whatever threads earlier tests left running (a library's idle monitor thread)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("forks only on Linux")
    monkeypatch.setattr(forked, "can_fork", lambda: True)


def pid_and(value):
    return os.getpid(), value


def refuse(message):
    raise InputError(message)


TEST_PROCESS = os.getpid()


def answer_only_in_the_test_process():
    if os.getpid() != TEST_PROCESS:
        os._exit(3)  # the child dies without an answer
    return "ran here"


def test_the_call_runs_in_a_child_and_its_value_comes_back(forking):
    pid, value = ForkedCall(pid_and, {"frames": [1, 2, 3]}).result()
    assert pid != os.getpid() and value == {"frames": [1, 2, 3]}
    assert not multiprocessing.active_children()


def test_the_childs_exception_is_raised_here(forking):
    with pytest.raises(InputError, match="no mouth found"):
        ForkedCall(refuse, "no mouth found").result()


def test_a_child_that_dies_without_an_answer_leaves_the_call_to_run_here(forking):
    assert ForkedCall(answer_only_in_the_test_process).result() == "ran here"


def test_cancel_stops_a_running_child_at_once(forking):
    call = ForkedCall(time.sleep, 60)
    start = time.monotonic()
    call.cancel()
    assert time.monotonic() - start < 5 and not multiprocessing.active_children()


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join()


def test_no_fork_where_output_is_captured_in_memory_the_call_runs_here(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not can_fork()
    assert ForkedCall(pid_and, 1).result() == (os.getpid(), 1)
    with pytest.raises(InputError):
        ForkedCall(refuse, "x").result()


def test_a_dub_whose_editor_loads_during_tracking_writes_the_same_video(clip, forking):  # noqa: F811
    folder, _ = clip
    options = DubOptions(face=FIXED_REGION, crf=0, focus=0.0)
    loaded = dub(folder / "in.mp4", folder / "speech.wav", folder / "loaded.mp4",
                 EditorLoader(lambda: ShiftEditor(region_size=16)), options)
    given = dub(folder / "in.mp4", folder / "speech.wav", folder / "given.mp4", ShiftEditor(region_size=16), options)
    assert (folder / "loaded.mp4").read_bytes() == (folder / "given.mp4").read_bytes()
    assert (loaded.output_frames, loaded.track_source) == (given.output_frames, given.track_source)
    assert "load model" in loaded.seconds and "load model" not in given.seconds
    assert not multiprocessing.active_children()


def test_an_editor_that_fails_to_load_stops_the_tracking_child_and_writes_nothing(clip, forking):  # noqa: F811
    folder, _ = clip

    def fail():
        raise ConfigError("weights folder not found")

    with pytest.raises(ConfigError, match="weights folder not found"):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", EditorLoader(fail),
            DubOptions(face=FIXED_REGION))
    assert not (folder / "out.mp4").exists() and not multiprocessing.active_children()


def test_the_forked_pass_collects_the_mouth_bank_the_loaded_editor_reads(talking, forking, monkeypatch):  # noqa: F811
    """With the loader's bank side, the bank's decoding pass runs in the tracking child: the
    dub is the one a given editor makes, and the dub's own process collects no bank. A side the
    loaded editor does not work at is not used: the dub collects its own."""
    options = DubOptions(face=REGION, mouth_bank="everywhere", keep_quiet_source=False)
    given = dub(talking / "in.mp4", talking / "speech.wav", talking / "given.mp4", LoudnessEditor(), options)
    here = []
    collect = MouthBank.collect
    monkeypatch.setattr(MouthBank, "collect", lambda *a, **k: here.append(os.getpid()) or collect(*a, **k))
    loaded = dub(talking / "in.mp4", talking / "speech.wav", talking / "loaded.mp4",
                 EditorLoader(LoudnessEditor, bank_side=16), options)
    assert (talking / "loaded.mp4").read_bytes() == (talking / "given.mp4").read_bytes()
    assert loaded.frames_lent == given.frames_lent == 20
    assert here == []  # collected in the child only
    assert loaded.seconds["bank pass"] > 0 and "bank pass" not in given.seconds
    dub(talking / "in.mp4", talking / "speech.wav", talking / "other.mp4", EditorLoader(LoudnessEditor, bank_side=32),
        options)
    assert here == [os.getpid()]  # the child's 32 px crops were not the editor's: collected here
    assert (talking / "other.mp4").read_bytes() == (talking / "given.mp4").read_bytes()


def test_no_bank_pass_where_the_dub_wants_no_bank(talking, forking):  # noqa: F811
    """A video without its own sound track has no speech to read mouths from: the forked pass
    runs no bank pass, and neither does the dub (the same rule, `wants_bank`)."""
    mute = talking / "mute.mp4"
    write_clip(mute, frames=talking_frames(), width=64, height=48, fps=25)
    options = DubOptions(face=REGION, keep_quiet_source=False)
    report = dub(mute, talking / "speech.wav", talking / "out.mp4", EditorLoader(LoudnessEditor, bank_side=16), options)
    assert "bank pass" not in report.seconds and report.frames_lent == 0
    assert (talking / "out.mp4").exists()
