"""batch-dub as a batch tool: items by stem or from a manifest, outputs kept inside -o,
verified resume, deterministic shards and a JSON report."""

import dataclasses
import functools
import json
import shutil
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.video import probe_video
from omnisync_cli.pipeline.batch import batch_dub, batch_dub_jobs, check_batch, verify_output
from omnisync_cli.pipeline.options import DubOptions, dub_settings
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.manifest import items_from_folder, items_from_manifest
from omnisync_cli.pipeline.progress import SilentProgress
from omnisync_cli.pipeline.timeline import Extend
from tests.media.clips import tone, truncate, write_audio, write_clip

OPTIONS = DubOptions(face=FaceConfig(region=(20, 14, 24, 24)))


class CountingEditor(PassthroughEditor):
    """Counts dubs (each prepares its audio once)."""

    def __init__(self):
        super().__init__(region_size=16)
        self.dubs = 0

    def prepare_audio(self, waveform):
        self.dubs += 1


@pytest.fixture
def folder(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in "abcde":
        write_clip(videos / f"{name}.mp4", n_frames=4, width=64, height=48)
    write_clip(videos / ".hidden.mp4", n_frames=4, width=64, height=48)  # e.g. a macOS ._ file
    write_audio(tmp_path / "speech.wav", tone(0.2, 16000), 16000)  # 5 frames
    return tmp_path


def test_folder_items_pair_by_stem_and_skip_hidden_files(folder):
    speech = folder / "speech"
    speech.mkdir()
    shutil.copy(folder / "speech.wav", speech / "b.wav")
    items = items_from_folder(folder / "videos", speech)
    assert [(i.video.name, i.audio and i.audio.name, i.output) for i in items][:2] == [
        ("a.mp4", None, "a.mp4"), ("b.mp4", "b.wav", "b.mp4")]
    assert len(items) == 5


def test_folder_pairing_forgives_case_but_never_guesses_between_two_files(folder):
    speech = folder / "speech"
    speech.mkdir()
    shutil.copy(folder / "speech.wav", speech / "A.wav")  # a.mp4's, in another case
    shutil.copy(folder / "speech.wav", speech / "b.wav")
    items = items_from_folder(folder / "videos", speech)
    assert [i.audio and i.audio.name for i in items][:2] == ["A.wav", "b.wav"]
    shutil.copy(folder / "speech.wav", speech / "b.flac")  # two files for b.mp4
    with pytest.raises(ConfigError, match="b.mp4 has 2 speech files"):
        items_from_folder(folder / "videos", speech)


def test_speech_given_as_videos_pairs_and_a_shared_folder_never_pairs_a_video_with_itself(folder):
    """dub takes speech from a video's sound, so a speech folder's videos pair too (a user tour:
    batch-dub said 'no speech file' beside c.mp4); with one folder for both, a.mp4 is not a.mp4's speech."""
    speech = folder / "takes"
    speech.mkdir()
    shutil.copy(folder / "videos" / "a.mp4", speech / "a.mp4")
    shutil.copy(folder / "speech.wav", speech / "b.caf")
    paired = {i.video.name: i.audio and i.audio.name for i in items_from_folder(folder / "videos", speech)}
    assert paired["a.mp4"] == "a.mp4" and paired["b.mp4"] == "b.caf"
    shutil.copy(folder / "speech.wav", folder / "videos" / "c.wav")
    shared = {i.video.name: i.audio for i in items_from_folder(folder / "videos", folder / "videos")}
    assert shared["c.mp4"] == folder / "videos" / "c.wav" and shared["a.mp4"] is None


def test_a_folder_also_gives_its_portraits_but_not_its_videos_thumbnails(folder):
    import cv2
    videos = folder / "videos"
    image = np.full((48, 64, 3), 128, np.uint8)
    for name in ("a.jpg", "portrait.png", "Face.JPEG"):  # a.jpg is a.mp4's thumbnail
        cv2.imwrite(str(videos / name), image)
    names = [i.video.name for i in items_from_folder(videos, folder / "speech.wav")]
    assert "portrait.png" in names and "Face.JPEG" in names and "a.jpg" not in names
    assert len(names) == 7


def test_a_manifest_gives_names_and_per_item_options(folder):
    (folder / "jobs.csv").write_text("video,audio,output,extend,feather\n"
                                     "videos/a.mp4,speech.wav,first.mp4,loop,0.1\n"
                                     "videos/b.mp4,,,,\n")
    items = items_from_manifest(folder / "jobs.csv", default_audio=folder / "speech.wav")
    assert [i.output for i in items] == ["first.mp4", "b.mp4"]
    assert items[0].dub_options(OPTIONS).extend is Extend.loop and items[0].dub_options(OPTIONS).feather == 0.1
    assert items[1].audio == folder / "speech.wav" and items[1].dub_options(OPTIONS) == OPTIONS
    (folder / "jobs.json").write_text(json.dumps({"items": [{"video": "videos/c.mp4", "audio": "speech.wav",
                                                             "face_index": 1, "region": "1,2,30,30"}]}))
    face = items_from_manifest(folder / "jobs.json")[0].dub_options(OPTIONS).face
    assert face.face_index == 1 and face.region == (1, 2, 30, 30)


@pytest.mark.parametrize("name", ["../out.mp4", "sub/out.mp4", "/tmp/out.mp4", ".out.mp4", "..", "out.avi",
                                  "a\\..\\b.mp4"])
def test_manifest_outputs_never_escape_the_output_folder(folder, name):
    (folder / "jobs.json").write_text(json.dumps([{"video": "videos/a.mp4", "output": name}]))
    with pytest.raises(ConfigError, match="item 1"):
        items_from_manifest(folder / "jobs.json")


def test_manifest_cells_lose_their_spaces_and_overlong_rows_are_named(folder):
    (folder / "jobs.csv").write_text("video, audio, output\nvideos/a.mp4, speech.wav, first.mp4\n")
    item = items_from_manifest(folder / "jobs.csv")[0]
    assert (item.video, item.audio, item.output) == (folder / "videos/a.mp4", folder / "speech.wav", "first.mp4")
    (folder / "jobs.csv").write_text("video,audio\nvideos/a.mp4,my, speech.wav\n")
    with pytest.raises(ConfigError, match="item 1: more cells than the header"):
        items_from_manifest(folder / "jobs.csv")


def test_a_manifest_row_without_speech_is_refused_naming_it(folder):
    # a batch tour: with no 'audio' and no --audio, the item failed after the model load saying
    # "no speech file named a.*", the folder's pairing by name, which a manifest does not do
    (folder / "jobs.csv").write_text("video,audio\nvideos/a.mp4,speech.wav\nvideos/b.mp4,\n")
    with pytest.raises(ConfigError, match="item 2: no 'audio'.*--audio"):
        items_from_manifest(folder / "jobs.csv")
    assert items_from_manifest(folder / "jobs.csv", default_audio=folder / "speech.wav")[1].audio == folder / "speech.wav"


@pytest.mark.parametrize("field,value", [("face_index", True), ("face_index", 0.9), ("crf", 9.7)])
def test_json_manifest_numbers_are_not_coerced(folder, field, value):
    (folder / "jobs.json").write_text(json.dumps([{"video": "videos/a.mp4", field: value}]))
    with pytest.raises(ConfigError, match=f"item 1: {field} must be a"):
        items_from_manifest(folder / "jobs.json")


def test_bad_manifest_values_name_the_item(folder):
    (folder / "jobs.csv").write_text("video,crf\nvideos/a.mp4,20\nvideos/b.mp4,nan\n")
    with pytest.raises(ConfigError, match="item 2: crf must be a whole number, got 'nan'"):
        items_from_manifest(folder / "jobs.csv")
    # in the user's words, not Python's (a user tour: "'sideways' is not a valid Extend",
    # "invalid literal for int() with base 10")
    (folder / "jobs.csv").write_text("video,extend,face_index\nvideos/a.mp4,sideways,0\nvideos/b.mp4,loop,abc\n")
    with pytest.raises(ConfigError, match="item 1: extend must be one of pingpong, loop, freeze, got 'sideways'"):
        items_from_manifest(folder / "jobs.csv")
    (folder / "jobs.csv").write_text("video,face_index\nvideos/b.mp4,abc\n")
    with pytest.raises(ConfigError, match="item 1: face_index must be a whole number, got 'abc'"):
        items_from_manifest(folder / "jobs.csv")
    (folder / "jobs.json").write_text(json.dumps([{"video": ["videos/a.mp4"]}]))
    with pytest.raises(ConfigError, match="item 1: 'video' must be a file name"):
        items_from_manifest(folder / "jobs.json")
    (folder / "jobs.csv").write_text("video,feather\nvideos/a.mp4,inf\n")
    with pytest.raises(ConfigError, match="item 1: --feather"):
        items_from_manifest(folder / "jobs.csv")


def test_two_items_with_one_output_and_output_inside_inputs_are_refused(folder):
    write_clip(folder / "videos" / "a.mov", n_frames=4, width=64, height=48)
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    with pytest.raises(ConfigError, match="both be written to a.mp4"):
        check_batch(items, folder / "out")
    with pytest.raises(OutputError, match="inside it"):
        check_batch(items[:1], folder / "videos" / "dubbed")


def test_outputs_differing_only_in_letter_case_are_refused_naming_both_items(folder):
    """On a disk that ignores case (macOS, exFAT, Windows shares) o1.mp4 and o1.MP4 are one file:
    the second item found the first's dub, took it for stale and dubbed over it (a user tour)."""
    (folder / "jobs.csv").write_text("video,output\nvideos/a.mp4,o1.mp4\nvideos/b.mp4,o1.MP4\n")
    items = items_from_manifest(folder / "jobs.csv", default_audio=folder / "speech.wav")
    with pytest.raises(ConfigError, match=r"a\.mp4 and .*b\.mp4 would be written to o1\.mp4 and o1\.MP4, one file"):
        check_batch(items, folder / "out")
    write_clip(folder / "videos" / "Clip.mp4", n_frames=4, width=64, height=48)
    write_clip(folder / "videos" / "clip.mp4", n_frames=4, width=64, height=48)
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    with pytest.raises(ConfigError, match=r"Clip\.mp4 and .*clip\.mp4 would be written to Clip\.mp4 and clip\.mp4"):
        batch_dub(items, folder / "out", CountingEditor(), OPTIONS)
    assert not (folder / "out").exists()


def test_resume_verifies_and_redoes_only_what_is_unfinished(folder):
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    editor = CountingEditor()
    first = batch_dub(items, out, editor, OPTIONS)
    assert editor.dubs == 5 and first.done == [str(i.video) for i in items]
    truncate(out / "b.mp4", 0.5)  # damaged
    shutil.copy(folder / "videos" / "c.mp4", out / "c.mp4")  # a file omnisync did not write
    (out / "d.mp4").unlink()  # never finished
    editor.dubs = 0
    second = batch_dub(items, out, editor, OPTIONS)
    assert editor.dubs == 2  # b, d: the two verified outputs are not recomputed, c is not ours to replace
    assert second.skipped == [str(folder / "videos" / n) for n in ("a.mp4", "e.mp4")]
    statuses = {r.output: (r.status, r.error) for r in second.items}
    assert statuses["b.mp4"][0] == "dubbed" and statuses["b.mp4"][1].startswith("redone: the existing output")
    assert statuses["c.mp4"][0] == "failed" and "is not a dub omnisync wrote" in statuses["c.mp4"][1]
    assert (out / "c.mp4").read_bytes() == (folder / "videos" / "c.mp4").read_bytes()
    assert statuses["d.mp4"] == ("dubbed", None)
    settings = dub_settings(editor, OPTIONS)
    assert all(verify_output(out / f"{n}.mp4", folder / "videos" / f"{n}.mp4", folder / "speech.wav",
                             settings=settings) is None for n in "abde")
    report = json.loads((out / "batch-report.json").read_text())
    assert (report["dubbed"], report["skipped"], report["failed"]) == (2, 2, 1)
    assert report["items"][3]["output_frames"] == 5 and report["items"][3]["rss_mb"] > 0
    assert set(report["items"][3]["seconds"]) >= {"probe", "track", "render"}


def test_a_rerun_skips_a_variable_rate_clip_dubbed_at_its_fast_stretchs_rate(tmp_path):
    """12 then 24 fps: dubbed at 24 fps (pipeline.timeline.playback_rate); the resume check
    counted frames at the header's average 17.5 fps and redid it on every rerun (a user tour)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    pts = [2 * i for i in range(18)] + [36 + i for i in range(30)]
    write_clip(videos / "vfr.mp4", n_frames=len(pts), fps=24, pts=pts, time_base=Fraction(1, 24))
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    items = items_from_folder(videos, tmp_path / "speech.wav")
    editor = CountingEditor()
    batch_dub(items, tmp_path / "out", editor, OPTIONS)
    assert probe_video(tmp_path / "out" / "vfr.mp4").frame_count == 24
    again = batch_dub(items, tmp_path / "out", editor, OPTIONS)
    assert [r.status for r in again.items] == ["skipped"] and editor.dubs == 1


def test_a_rerun_with_changed_speech_redoes_every_item(folder):
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS)
    speech = folder / "speech.wav"
    write_audio(speech, tone(0.2, 16000, freq=330.0), 16000)  # other speech, same length
    again = batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS)
    assert [r.status for r in again.items] == ["dubbed"] * 5
    assert all(r.error == "redone: the existing output was made from other inputs or settings (or the inputs "
               "changed since)" for r in again.items)
    assert [r.status for r in batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS).items] == ["skipped"] * 5


def test_a_rerun_with_other_settings_redoes_every_item(folder):
    """Outputs made with other dub settings (another editor, other options) are not "already
    done" (a user tour: a rerun with model flags kept the pass-through outputs as verified)."""
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS)
    brighter = dataclasses.replace(OPTIONS, feather=0.1)
    assert [r.status for r in batch_dub(items, out, PassthroughEditor(region_size=16), brighter).items] == ["dubbed"] * 5
    other = PassthroughEditor(region_size=16)
    other.settings = {"editor": "another model"}
    assert [r.status for r in batch_dub(items, out, other, brighter).items] == ["dubbed"] * 5
    assert [r.status for r in batch_dub(items, out, other, brighter).items] == ["skipped"] * 5


def test_an_output_that_is_another_items_input_is_refused(folder):
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    clash = [dataclasses.replace(items[0], audio=folder / "out" / items[1].output)] + items[1:]
    (folder / "out").mkdir()
    (folder / "out" / items[1].output).write_bytes((folder / "speech.wav").read_bytes())
    with pytest.raises(ConfigError, match="is an input of this batch"):
        check_batch(clash, folder / "out")


def test_two_shards_cover_every_item_exactly_once(folder):
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    shards = [batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS, shard=(i, 2)) for i in (0, 1)]
    dubbed = [v for s in shards for v in s.done]
    assert sorted(dubbed) == sorted(str(i.video) for i in items) and len(dubbed) == len(set(dubbed))
    assert [len(s.done) for s in shards] == [3, 2]
    reports = sorted(p.name for p in out.glob("batch-report*.json"))
    assert reports == ["batch-report.shard-0-of-2.json", "batch-report.shard-1-of-2.json"]
    assert probe_video(out / "e.mp4").frame_count == 5


def test_a_shard_with_no_items_still_writes_its_report(folder):
    # 5 items in 8 shards: shards 5-7 are empty; a cluster's merge looks for every shard's report
    # (a batch tour: none was written, and --json named a file that did not exist)
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    report = batch_dub(items, out, PassthroughEditor(region_size=16), OPTIONS, shard=(6, 8))
    saved = json.loads((out / "batch-report.shard-6-of-8.json").read_text())
    assert report.items == [] and saved["items"] == [] and saved["dubbed"] == 0


def test_a_failing_item_does_not_stop_the_rest(folder):
    (folder / "videos" / "b.mp4").write_bytes(b"not a video")
    report = batch_dub(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "out",
                       PassthroughEditor(region_size=16), OPTIONS)
    assert list(report.failed) == [str(folder / "videos" / "b.mp4")] and len(report.done) == 4


class BrokenOnB(PassthroughEditor):
    """An editor with a bug that only item b meets."""

    def edit(self, crops, *args, **kwargs):
        if self.current == "b":
            raise ZeroDivisionError("a bug")
        return super().edit(crops, *args, **kwargs)


def test_one_video_failing_under_two_outputs_counts_twice(folder):
    # a manifest dubbing one video into two languages: a batch tour's damaged video counted
    # "failed": 1 for its two failed items (the failures were keyed by video)
    (folder / "videos" / "b.mp4").write_bytes(b"not a video")
    (folder / "jobs.csv").write_text("video,output\nvideos/b.mp4,b-fr.mp4\nvideos/b.mp4,b-de.mp4\n"
                                     "videos/a.mp4,a-fr.mp4\n")
    items = items_from_manifest(folder / "jobs.csv", default_audio=folder / "speech.wav")
    report = batch_dub(items, folder / "out", PassthroughEditor(region_size=16), OPTIONS)
    assert report.to_dict()["failed"] == 2 and report.to_dict()["dubbed"] == 1
    assert [r.output for r in report.with_status("failed")] == ["b-fr.mp4", "b-de.mp4"]


def test_a_bug_met_on_one_item_is_reported_and_the_rest_are_dubbed(folder, monkeypatch):
    editor = BrokenOnB(region_size=16)
    import omnisync_cli.pipeline.batch as batch
    real_dub = batch.dub

    def dub(video, *args, **kwargs):
        editor.current = video.stem
        return real_dub(video, *args, **kwargs)

    monkeypatch.setattr(batch, "dub", dub)
    report = batch_dub(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "out", editor, OPTIONS)
    assert list(report.failed) == [str(folder / "videos" / "b.mp4")] and len(report.done) == 4
    assert "internal error (ZeroDivisionError: a bug)" in report.failed[str(folder / "videos" / "b.mp4")]
    assert not (folder / "out" / "b.mp4").exists()


def test_a_folder_pairs_what_phones_and_browsers_record(folder):
    """A phone's .3gp, a camcorder's .mts and a browser's .webm voice recording are dubbed, as
    dub takes them (a user tour: batch-dub left them out without a word)."""
    videos, speech = folder / "phone", folder / "voices"
    videos.mkdir()
    speech.mkdir()
    for name in ("call.3gp", "holiday.MTS", "clip.mp4"):
        shutil.copy(folder / "videos" / "a.mp4", videos / name)
    shutil.copy(folder / "speech.wav", speech / "call.webm")
    items = items_from_folder(videos, speech)
    assert sorted(i.video.name for i in items) == ["call.3gp", "clip.mp4", "holiday.MTS"]
    assert {i.video.name: i.audio and i.audio.name for i in items}["call.3gp"] == "call.webm"
    missing = batch_dub([i for i in items if i.video.name == "clip.mp4"], folder / "out", PassthroughEditor(region_size=16),
                        OPTIONS)
    assert ".webm" in missing.failed[str(videos / "clip.mp4")]  # the message says what is looked for


def test_jobs_split_a_shard_across_processes_and_merge_the_report(folder):
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    report = batch_dub_jobs(items, out, functools.partial(PassthroughEditor, region_size=16), OPTIONS, jobs=2)
    assert [r.output for r in report.items] == ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"]
    assert report.done == [str(i.video) for i in items]
    merged = json.loads((out / "batch-report.json").read_text())
    jobs = [json.loads((out / f"batch-report.job-{j}-of-2.json").read_text()) for j in (0, 1)]  # not --shard's names
    assert [len(j["items"]) for j in jobs] == [3, 2] and merged["dubbed"] == 5
    assert all(probe_video(out / f"{n}.mp4").frame_count == 5 for n in "abcde")


class StageLog(SilentProgress):
    """Appends each stage's name to `path` (picklable, for the jobs' processes)."""

    def __init__(self, path):
        self.path = path

    def stage(self, name, total):
        with open(self.path, "a") as log:
            log.write(name + "\n")
        return super().stage(name, total)


def test_jobs_count_their_items_in_the_shards_numbers(folder):
    # a batch tour: with --jobs 2, 300 items read [1/150] twice, ... [150/150] twice, never /300
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    log = folder / "stages.txt"
    batch_dub_jobs(items, folder / "out", functools.partial(PassthroughEditor, region_size=16), OPTIONS, jobs=2,
                   make_progress=functools.partial(StageLog, log))
    labels = {line.split(":")[0] for line in log.read_text().splitlines()}
    assert labels == {"[1/5] a.mp4", "[2/5] b.mp4", "[3/5] c.mp4", "[4/5] d.mp4", "[5/5] e.mp4"}


class DyingEditor(PassthroughEditor):
    """Kills its own process in its first dub if it is the first to take `marker` (one job of several)."""

    def __init__(self, marker):
        super().__init__(region_size=16)
        self.marker = marker

    def prepare_audio(self, waveform):
        import os
        import signal
        try:
            os.rename(self.marker, f"{self.marker}.taken")
        except FileNotFoundError:
            return super().prepare_audio(waveform)
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does


def test_a_job_whose_process_dies_fails_its_item_and_the_batch_still_ends(folder):
    # a batch tour: a --jobs process killed mid-dub left the batch waiting for ever
    import threading
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    (folder / "marker").touch()
    ended = []
    batch = threading.Thread(target=lambda: ended.append(batch_dub_jobs(
        items, out, functools.partial(DyingEditor, str(folder / "marker")), OPTIONS, jobs=2)), daemon=True)
    batch.start()
    batch.join(30)
    assert ended, "the batch waited for ever on a job whose process died"
    statuses = [r.status for r in ended[0].items]
    assert [r.output for r in ended[0].items] == [i.output for i in items]
    assert statuses.count("failed") == 1 and statuses.count("dubbed") >= 2 and set(statuses) <= {"failed", "dubbed", "pending"}
    assert "died" in ended[0].with_status("failed")[0].error
    assert json.loads((out / "batch-report.json").read_text())["failed"] == 1


def test_a_stop_during_jobs_leaves_the_shards_report_of_where_each_item_stood(folder, monkeypatch):
    """Ctrl-C during `--jobs 2`: the jobs unwind and write their own reports; the batch's report
    merges them, every item of the shard listed (a user tour: only the jobs' files were left)."""
    import signal

    import omnisync_cli.pipeline.batch as batch
    from omnisync_cli.stopping import Stopped
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    out = folder / "out"
    out.mkdir()
    (out / "batch-report.job-1-of-2.json").write_text('{"items": []}')  # an earlier run's, stale

    class StoppedPool:  # job 0 dubbed its first item and was stopped in its second; job 1 wrote nothing
        def __init__(self, jobs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def apply_async(self, function, arguments):
            report = batch.BatchReport([batch.ItemResult(str(items[0].video), None, items[0].output, status="dubbed"),
                                        batch.ItemResult(str(items[2].video), None, items[2].output, status="stopped",
                                                         error="stopped by SIGTERM; rerun the batch to go on")])
            (out / "batch-report.job-0-of-2.json").write_text(json.dumps(report.to_dict()))
            raise Stopped(signal.SIGINT)

        def terminate(self):
            pass

    monkeypatch.setattr(batch.multiprocessing, "get_context", lambda method: SimpleNamespace(Pool=StoppedPool))
    with pytest.raises(Stopped):
        batch_dub_jobs(items, out, functools.partial(PassthroughEditor, region_size=16), OPTIONS, jobs=2)
    saved = json.loads((out / "batch-report.json").read_text())
    assert [(i["output"], i["status"]) for i in saved["items"]] == [
        ("a.mp4", "dubbed"), ("b.mp4", "pending"), ("c.mp4", "stopped"), ("d.mp4", "pending"), ("e.mp4", "pending")]
    assert saved["stopped"] and saved["items"][2]["error"] == "stopped by SIGINT; rerun the batch to go on"


def test_an_items_warnings_are_kept_in_the_report(folder, monkeypatch):
    import omnisync_cli.pipeline.batch as batch
    real_dub = batch.dub

    def dub(*args, **kwargs):  # e.g. a video of which only a few frames decode
        report = real_dub(*args, **kwargs)
        report.warnings.append("only 3 of 100 frames could be decoded")
        report.self_test_db, report.edit_scale = -1.5, 0.4  # and a model held back by its own test
        return report

    monkeypatch.setattr(batch, "dub", dub)
    report = batch_dub(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "out",
                       PassthroughEditor(region_size=16), OPTIONS)
    saved = json.loads((folder / "out" / "batch-report.json").read_text())
    assert [item["warnings"] for item in saved["items"]] == [["only 3 of 100 frames could be decoded"]] * 5
    assert report.items[0].warnings == saved["items"][0]["warnings"]
    assert [(item["self_test_db"], item["edit_scale"]) for item in saved["items"]] == [(-1.5, 0.4)] * 5


def test_a_report_that_cannot_be_written_is_one_line_and_leaves_no_partial_file(tmp_path):
    from omnisync_cli.pipeline.batch import BatchReport, _write_report
    with pytest.raises(OutputError, match="cannot write the batch report"):
        _write_report(BatchReport(), tmp_path / "gone" / "batch-report.json")
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.parametrize("name", ["batch-report.json", "batch-report.job-1-of-2.json"])
def test_a_folder_where_a_report_goes_is_refused_before_any_dub(folder, name):
    """Found only once the first item was dubbed, as "Is a directory ...; choose another folder" (a user tour)."""
    items = items_from_folder(folder / "videos", folder / "speech.wav")
    (folder / "out" / name).mkdir(parents=True)
    editor = CountingEditor()
    with pytest.raises(OutputError, match=f"^{folder / 'out' / name} is a folder .*where batch-dub writes its report"):
        if "job" in name:
            batch_dub_jobs(items, folder / "out", CountingEditor, OPTIONS, jobs=2)
        else:
            batch_dub(items, folder / "out", editor, OPTIONS)
    assert editor.dubs == 0 and [p.name for p in (folder / "out").iterdir()] == [name]


def test_an_output_folder_named_like_a_video_file_is_refused_before_any_work(folder):
    with pytest.raises(OutputError, match="names a file, but this command writes a folder"):
        check_batch(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "dubbed.mp4")
    (folder / "made.mp4").mkdir()  # a folder that exists under such a name is the user's choice
    check_batch(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "made.mp4")


def test_a_batch_stopped_by_a_signal_says_so_in_its_report(folder, monkeypatch):
    import signal

    import omnisync_cli.pipeline.batch as batch
    from omnisync_cli.stopping import Stopped
    real_dub = batch.dub

    def dub(video, *args, **kwargs):
        if video.stem == "c":
            raise Stopped(signal.SIGINT)
        return real_dub(video, *args, **kwargs)

    monkeypatch.setattr(batch, "dub", dub)
    with pytest.raises(Stopped):
        batch_dub(items_from_folder(folder / "videos", folder / "speech.wav"), folder / "out",
                  PassthroughEditor(region_size=16), OPTIONS)
    saved = json.loads((folder / "out" / "batch-report.json").read_text())
    assert saved["stopped"] is True and saved["dubbed"] == 2
    assert [item["status"] for item in saved["items"]] == ["dubbed", "dubbed", "stopped", "pending", "pending"]
    # the counts add up to the items (a batch tour: pending and stopped ones were left out)
    assert (saved["stopped_items"], saved["pending"]) == (1, 2)
    assert sum(saved[k] for k in ("dubbed", "skipped", "failed", "pending", "stopped_items")) == len(saved["items"])
    assert "stopped by SIGINT" in saved["items"][2]["error"]
