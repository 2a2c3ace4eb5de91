"""`batch-dub`: one dub per item (pipeline.manifest), shardable, resumable, reported.

One editor (one model load) serves every item. `shard=(i, n)` takes every n-th item of the
sorted list starting at i, so n cluster jobs or torchrun ranks split a batch without talking
to each other. `batch_dub_jobs` runs a shard in several processes the same way: job j of J
takes shard (i + n j, n J), with one model load per job. An output that already exists is
verified (a dub of this very video and speech by its provenance tag, `paths.provenance`;
decodes, has audio, as many frames as its speech needs, last frame readable) and skipped; a
dub of ours that fails the check (made from other inputs, or cut short by hand) is redone, so
a rerun after a crash, a kill or a changed speech file redoes exactly what is not finished.
A file at an output path that omnisync did not write is never replaced without --overwrite:
that item fails and says so. One failing item does not stop the rest. A JSON report in the
output folder is rewritten after every item, so it is current even if the batch is killed.
"""

import dataclasses
import json
import multiprocessing
import os
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import av

from omnisync_cli.errors import ConfigError, InputError, OmniSyncError, OutputError, internal_error
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio
from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.writer import why_write_failed
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions, dub_settings
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.manifest import AUDIO_SUFFIXES, BatchItem
from omnisync_cli.pipeline.paths import PROVENANCE_PREFIX, check_out_folder, identities, provenance
from omnisync_cli.pipeline.progress import Labelled, Progress, SilentProgress
from omnisync_cli.stopping import Stopped, stop_on_signals
from omnisync_cli.pipeline.timeline import output_frame_count


@dataclass
class ItemResult:
    video: str
    audio: str | None
    output: str
    status: str = "pending"  # dubbed, skipped (a verified finished output), failed, or stopped (by a signal, mid-dub)
    error: str | None = None  # why it failed, or why an existing output was redone
    audio_seconds: float | None = None
    output_frames: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, from the dub
    wall_seconds: float = 0.0
    rss_mb: float | None = None  # resident memory after the item (Linux)
    warnings: list[str] = field(default_factory=list)  # the dub's (a damaged video, no speech heard, ...)
    # the dub's own test on the video (DubReport.self_test_db, edit_scale): its gain in dB where it
    # ran, and the share of the model's edit shown
    self_test_db: float | None = None
    edit_scale: float | None = None


@dataclass
class BatchReport:
    items: list[ItemResult] = field(default_factory=list)

    def with_status(self, status: str) -> list[ItemResult]:
        return [r for r in self.items if r.status == status]

    @property
    def done(self) -> list[str]:
        return [r.video for r in self.with_status("dubbed")]

    @property
    def skipped(self) -> list[str]:
        return [r.video for r in self.with_status("skipped")]

    @property
    def failed(self) -> dict[str, str]:
        """Why each failed video failed (by video: count and list failures by `with_status`, as
        a manifest may dub one video under several outputs)."""
        return {r.video: r.error or "" for r in self.with_status("failed")}

    def to_dict(self) -> dict:
        """Counts by status, which add up to the items ("stopped_items": stopped mid-dub by a
        signal; "pending": not reached), whether a signal stopped the batch, and every item."""
        counts = {status: len(self.with_status(status)) for status in ("dubbed", "skipped", "failed", "pending")}
        stopped = self.with_status("stopped")
        return {**counts, "stopped_items": len(stopped), "stopped": bool(stopped),
                "items": [asdict(r) for r in self.items]}


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard takes i/n such as 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise ConfigError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return index, count


def report_path(out_dir: Path, shard: tuple[int, int], job: tuple[int, int] | None = None) -> Path:
    """One report per shard, so shards sharing an output folder never overwrite each other's;
    with `job` (j, J), job j's of the shard's J processes (`batch_dub_jobs`)."""
    name = "batch-report" + ("" if shard == (0, 1) else f".shard-{shard[0]}-of-{shard[1]}")
    return out_dir / (name + ("" if job is None else f".job-{job[0]}-of-{job[1]}") + ".json")


def check_batch(items: list[BatchItem], out_dir: Path, speech_folder: Path | None = None,
                report_files: tuple[Path, ...] = ()) -> None:
    """Before any work: outputs get a folder of their own (not the video folder, nor
    `speech_folder`, the folder of speech files paired by name), and no two items share an output,
    not even in names that differ only in letter case (`one_file_name`); the `report_files`
    (`report_path`) can be written: no folder or other non-file holds their names."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"-o {out_dir} is a file; give a folder for the dubbed videos")
    check_out_folder(out_dir, "-o")
    for report in report_files:  # a user tour: found only after the first item's dub, "choose another folder"
        if report.exists() and not report.is_file():
            raise OutputError(f"{report} is a folder (or not a file), where batch-dub writes its report; move it "
                              "away or choose another -o")
    for folder in sorted({item.video.parent.resolve() for item in items}):
        # In a video folder, outputs would be taken for inputs (and an input named like an
        # output counted as already done).
        if out_dir.resolve().is_relative_to(folder):
            raise OutputError(f"-o {out_dir} is the video folder {folder} or inside it; give a separate "
                              "folder for the dubbed videos")
    # A speech folder also pairs videos by name (a recorded take may be one): on a rerun, the dub
    # <stem>.mp4 would be the video's second speech file (a user tour: the resume was refused).
    if speech_folder is not None and out_dir.resolve() == speech_folder.resolve():
        raise OutputError(f"-o {out_dir} is the speech folder; its dubs would be taken for speech on a rerun; "
                          "give a separate folder for the dubbed videos")
    seen: dict[str, BatchItem] = {}
    for item in items:
        first = seen.get(one_file_name(item.output))
        if first is not None and first.output == item.output:
            raise ConfigError(f"{first.video} and {item.video} would both be written to {item.output}; "
                              "rename one (or give output names in a --manifest)")
        if first is not None:  # o1.mp4 and o1.MP4: the second dub would find the first's and replace it
            raise ConfigError(f"{first.video} and {item.video} would be written to {first.output} and "
                              f"{item.output}, one file on a disk that ignores letter case (macOS, Windows, "
                              "exFAT); rename one (or give output names in a --manifest)")
        seen[one_file_name(item.output)] = item
    inputs = {path for item in items for path in (item.video, item.audio) if path is not None}  # one speech: once
    taken = set().union(*map(identities, inputs))  # read once, not once per output
    for item in items:
        output = out_dir / item.output
        if identities(output) & taken:
            raise ConfigError(f"{output} is an input of this batch; give {item.video.name} another output name")


def one_file_name(name: str) -> str:
    """What `name` is on every disk: names equal here are one file on a disk that ignores letter
    case (macOS, Windows, exFAT) or stores accents decomposed (macOS)."""
    return unicodedata.normalize("NFC", name).casefold()


def batch_dub(items: list[BatchItem], out_dir: Path, editor: Editor, options: DubOptions = DubOptions(),
              shard: tuple[int, int] = (0, 1), progress: Progress = SilentProgress(),
              report_file: Path | None = None, numbering: tuple[int, int, int] | None = None) -> BatchReport:
    """Dub the items of `shard`, writing the report after every item to `report_file`
    (default: `report_path(out_dir, shard)`). `numbering` (first, step, total): the k-th item
    is told as [first + k step/total] (a job of `batch_dub_jobs` counts in its shard's numbers);
    default [k/number of items]."""
    out_dir = Path(out_dir)
    report_file = report_path(out_dir, shard) if report_file is None else report_file
    check_batch(items, out_dir, report_files=(report_file,))
    mine = items[shard[0]::shard[1]]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {out_dir} ({exc.strerror}); choose another -o") from exc
    report = BatchReport([ItemResult(str(i.video), None if i.audio is None else str(i.audio), i.output)
                          for i in mine])
    # Written before the first dub too: an empty shard has its report, and a batch killed in its
    # first item leaves this run's report (every item pending), not an earlier run's.
    _write_report(report, report_file)
    first, step, total = numbering or (1, 1, len(mine))
    for k, (item, result) in enumerate(zip(mine, report.items)):
        start = time.perf_counter()
        try:
            _run_item(item, result, out_dir, editor, options,
                      Labelled(progress, f"[{first + k * step}/{total}] {item.video.name}"))
        except Stopped as stop:  # the report says where the batch was stopped (a user tour: it read "pending")
            result.status, result.error = "stopped", f"stopped by {stop.signal_name}; rerun the batch to go on"
            _write_report(report, report_file)
            raise
        result.wall_seconds = round(time.perf_counter() - start, 3)
        result.rss_mb = _rss_mb()
        _write_report(report, report_file)
    return report


def batch_dub_jobs(items: list[BatchItem], out_dir: Path, make_editor: Callable[[], Editor],
                   options: DubOptions = DubOptions(), shard: tuple[int, int] = (0, 1), jobs: int = 2,
                   make_progress: Callable[[], Progress] = SilentProgress) -> BatchReport:
    """`batch_dub` of `shard` in `jobs` processes; make_editor and make_progress (picklable:
    module-level functions or partials of them) run in each. Each job writes its own report
    as it goes; the shard's report merges them, in item order, at the end. A job whose process
    dies fails the item it was dubbing; its items after that stay pending for a rerun."""
    out_dir = Path(out_dir)
    job_files = [report_path(out_dir, shard, (j, jobs)) for j in range(jobs)]
    check_batch(items, out_dir, report_files=(report_path(out_dir, shard), *job_files))
    index, count = shard
    shards = [(index + count * j, count * jobs) for j in range(jobs)]
    context = multiprocessing.get_context("spawn")  # no forked copies of torch or decoder threads
    for stale in job_files:  # an earlier run's: a stop must not read them as this run's
        stale.unlink(missing_ok=True)
    others = {p.pid for p in multiprocessing.active_children()}
    with context.Pool(jobs) as pool:
        workers = {p.pid for p in multiprocessing.active_children()} - others  # the pool's, started with it
        try:
            numbering = [(j + 1, jobs, len(items[index::count])) for j in range(jobs)]  # [k/shard's items]
            running = [pool.apply_async(_job, (items, out_dir, make_editor, options, s, make_progress, job_files[j],
                                               numbering[j])) for j, s in enumerate(shards)]
            # A job whose process dies (killed for memory, a crash in a decoder) never returns: the
            # pool starts another process but loses the job (a batch tour: the batch waited for ever).
            while not all(r.ready() for r in running):
                died = len(workers - {p.pid for p in multiprocessing.active_children()})
                if died and sum(r.ready() for r in running) + died >= jobs:
                    break
                next(r for r in running if not r.ready()).wait(0.5)
            reports = [r.get() if r.ready() else _died(job_files[j], items[shards[j][0]::shards[j][1]])
                       for j, r in enumerate(running)]
        except Stopped as stop:
            pool.terminate()  # the jobs get SIGTERM, unwind and write their own reports first
            _write_report(_merged(items[index::count], [r for f in job_files for r in _read_items(f, stop.signal_name)]),
                          report_path(out_dir, shard))  # the shard's report says where each item stood
            raise
        finally:
            pool.terminate()  # on a stop signal the jobs get SIGTERM and unwind as the parent does
    merged = _merged(items[index::count], [r for report in reports for r in report.items])
    _write_report(merged, report_path(out_dir, shard))
    return merged


def _died(report_file: Path, items: list[BatchItem]) -> BatchReport:
    """The report of a job (of `items`) whose process died: the item it was dubbing (its first
    where it wrote no report) failed, those after it pending."""
    results = _read_items(report_file, "") or _merged(items, []).items
    dubbing = next((r for r in results if r.status == "pending"), None)
    if dubbing is not None:
        dubbing.status = "failed"
        dubbing.error = "the process dubbing it died (killed, e.g. for memory, or crashed); rerun the batch to retry it"
    return BatchReport(results)


def _merged(items: list[BatchItem], results: list[ItemResult]) -> BatchReport:
    """The jobs' item results in the order of the shard's `items` (outputs are unique); an item
    no job reported (a job stopped before its first report) is pending."""
    order = {item.output: number for number, item in enumerate(items)}
    reported = {r.output for r in results}
    results = results + [ItemResult(str(i.video), None if i.audio is None else str(i.audio), i.output)
                         for i in items if i.output not in reported]
    return BatchReport(sorted(results, key=lambda r: order[r.output]))


def _read_items(report_file: Path, signal_name: str) -> list[ItemResult]:
    """The item results a job's report holds ([] where it wrote none), those it was stopped in
    told by the signal the batch was stopped by (the job itself got SIGTERM from the batch)."""
    try:
        saved = json.loads(report_file.read_text())["items"]
    except (OSError, ValueError, KeyError):
        return []
    results = [ItemResult(**item) for item in saved]
    for result in results:
        if result.status == "stopped":
            result.error = f"stopped by {signal_name}; rerun the batch to go on"
    return results


def _job(items, out_dir, make_editor, options, shard, make_progress, report_file, numbering) -> BatchReport:
    with stop_on_signals():
        return batch_dub(items, out_dir, make_editor(), options, shard, make_progress(), report_file, numbering)


def _run_item(item: BatchItem, result: ItemResult, out_dir: Path, editor: Editor, options: DubOptions,
              progress: Progress) -> None:
    output = out_dir / item.output
    if item.audio is None:
        result.status, result.error = "failed", (f"{item.video}: no speech file named {item.video.stem}.* "
                                                 f"({', '.join(sorted(AUDIO_SUFFIXES))}, or a video) in the speech folder")
        return
    try:
        item_options = item.dub_options(options)
        if output.exists() and not item_options.overwrite:
            tag = comment_tag(output)
            if not tag.startswith(PROVENANCE_PREFIX):
                result.status = "failed"
                result.error = f"{output} exists and is not a dub omnisync wrote; pass --overwrite to replace it"
                return
            problem = verify_output(output, item.video, item.audio, tag, dub_settings(editor, item_options))
            if problem is None:
                result.status = "skipped"
                return
            result.error = f"redone: the existing output {problem}"
            item_options = dataclasses.replace(item_options, overwrite=True)
        dubbed = dub(item.video, item.audio, output, editor, item_options, progress)
    except OmniSyncError as error:
        result.status, result.error = "failed", str(error)
        return
    except Exception as error:  # a bug met on one item must not cost the rest of the batch
        result.status = "failed"
        result.error = f"{internal_error(error)}; please report it with this file"
        return
    result.status = "dubbed"
    result.audio_seconds, result.output_frames = round(dubbed.audio_seconds, 3), dubbed.output_frames
    result.seconds = dubbed.seconds
    result.warnings = list(dubbed.warnings)
    result.self_test_db, result.edit_scale = dubbed.self_test_db, dubbed.edit_scale


def comment_tag(path: Path) -> str:
    """The file's comment tag ("" where it has none or cannot be read)."""
    try:
        with av.open(str(path.absolute())) as container:  # a colon in a relative name is no protocol
            return str(container.metadata.get("comment", ""))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return ""


def verify_output(output: Path, video: Path, audio: Path, tag: str | None = None,
                  settings: dict | None = None) -> str | None:
    """None if `output` is a finished dub of `video` with `audio` at `settings`
    (pipeline.options.dub_settings); else what is wrong with it. `tag`: its `comment_tag`, where
    the caller read it already.

    Finished outputs are renamed into place only when complete, so this catches outputs made
    another way (made from other inputs, copied, cut short) rather than our own crashes.
    """
    if (comment_tag(output) if tag is None else tag) != provenance(video, audio, settings):
        return "was made from other inputs or settings (or the inputs changed since)"
    try:
        seconds = len(load_audio(audio, whole=True)) / SAMPLE_RATE
        with VideoReader(output) as reader:
            info = reader.info
            # at the rate the dub chose (pipeline.timeline.playback_rate), which the tag vouches
            # for: not the video header's average (a user tour: a variable-rate clip, written at
            # its fast stretch's 24 fps, was redone on every rerun for "66 frames, needs 48")
            expected = output_frame_count(seconds, info.fps)
            if not info.has_audio:
                return "has no audio track"
            if info.frame_count != expected:
                return f"has {info.frame_count} frames, the speech needs {expected}"
            if not reader.read_frames(expected - 1, expected):
                return "does not decode to its last frame"
    except InputError as error:
        return f"cannot be read ({error})"
    return None


def _write_report(report: BatchReport, path: Path) -> None:
    """Atomically: a kill mid-write leaves the previous report, never half a file. A report
    that cannot be written stops the batch in one line (the dubs finished so far stay; a rerun
    skips them)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the batch report: {why_write_failed(error, path.parent)}") from None


def _rss_mb() -> float | None:
    """Resident memory of this process now, in MiB (None where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
