"""Run the quality benchmark: dub every benchmark clip with every variant, score, aggregate.

    results = run_benchmark("corpus", get_variants("no-op,ds-cfg"), "bench/results/quality")

The benchmark split of a corpus (`data.corpus`: bench/manifest.json and per clip
source.mp4, target.mp4 = the ground-truth dub, speech.wav = its audio) is dubbed through the
real `pipeline.dub` with default options, so face tracking, paste and encode are what a user
gets. Per clip the source is also tracked once here (the track is deterministic, so it is
the one every dub used): that gives the working region the dub may change (for the
outside-the-region check) and whether tracking found the face.

Writes into `out_dir`: videos/<variant>/<clip>.mp4, results.json, report.md, mouth_psnr.png
and strip.jpg (see `report`).
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics, report
from omnisync_cli.bench.opening import pause_frames
from omnisync_cli.bench.scores import (DEFAULT_METRICS, DEFAULT_SCORERS, Metric, Scorer, ScoredClip, SuccessRule,
                                       mouth_sync_scores, opening_scores, sync_recovery, sync_scores)
from omnisync_cli.bench.variants import VARIANTS, Variant
from omnisync_cli.errors import ConfigError, InputError, NoMouthError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import REGION_SCALE, RegionBox
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.analysis import VideoAnalysis, analyse, working_track
from omnisync_cli.pipeline.dub import render
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.timeline import plan_source_frames

MANIFEST = Path("bench") / "manifest.json"
# What a finished run leaves in its results folder (beside videos/ and the plots); a new run
# into that folder replaces them only when asked to (`check_results_folder`).
RESULTS_FILES = ("results.json", "report.md")
CATEGORIES = ("human", "stylized", "nonhuman")
GROUPS = ("seen", "heldout-head", "heldout-mouth", "heldout-render")  # as data.styles.GROUPS
ALL = "all"
# A track "found the face" when it covered at least half the frames (landmarks: found in
# them; the localiser: let the dub edit them) and its mouth centre lies within a quarter face
# width of the true one on average.
FOUND_MIN_FRAMES = 0.5
FOUND_MAX_ERROR = 0.25


@dataclass(frozen=True)
class BenchClip:
    """One entry of the benchmark manifest."""

    id: str
    category: str
    group: str  # style group: "seen" or "heldout-head|mouth|render" (corpus v2; v1 clips are "seen")
    folder: Path
    fps: float
    frames: int
    mouth_xy: np.ndarray  # (F, 2) true mouth centre, frame pixels
    face_width: np.ndarray  # (F,) true cheek-to-cheek width, frame pixels
    meta: dict  # the manifest entry as written (utterances, prompt, kind, ...)

    @property
    def source(self) -> Path:
        return self.folder / self.meta.get("source", "source.mp4")

    @property
    def target(self) -> Path:
        return self.folder / self.meta.get("target", "target.mp4")

    @property
    def speech(self) -> Path:
        return self.folder / self.meta.get("speech", "speech.wav")


def load_manifest(corpus_dir: str | Path) -> list[BenchClip]:
    """The benchmark clips of a corpus folder, in manifest order."""
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise InputError(f"{path} not found: pass a corpus folder built with a benchmark split "
                         "(`omnisync synth`), which holds bench/manifest.json")
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or doc.get("format") != "omnisync-bench":
            raise InputError(f"{path} is not an omnisync benchmark manifest")
        return [BenchClip(id=c["id"], category=c["category"], group=c.get("group", "seen"), folder=path.parent / c["dir"],
                          fps=float(c["fps"]), frames=int(c["frames"]), mouth_xy=np.asarray(c["mouth_xy"], dtype=np.float64),
                          face_width=np.asarray(c["face_width"], dtype=np.float64), meta=c)
                for c in doc["clips"]]
    except (OSError, ValueError, KeyError, TypeError) as error:  # cut short or edited by hand
        raise InputError(f"{path}: the benchmark manifest is damaged ({type(error).__name__}: {error}); "
                         "rebuild the corpus with `omnisync synth`") from None


def select_clips(clips: list[BenchClip], wanted: None | int | Sequence[str]) -> list[BenchClip]:
    """All clips (None), the first N taken in turn from each style group (int), or by id."""
    if wanted is None:
        return list(clips)
    if isinstance(wanted, int):
        if wanted < 1:
            raise ConfigError(f"clips must be at least 1, got {wanted}")
        # Round robin over style groups, so a small run still covers the held-out families.
        queues = {}
        for clip in clips:
            queues.setdefault(clip.group, []).append(clip)
        picked = []
        while len(picked) < min(wanted, len(clips)):
            for queue in queues.values():
                if queue and len(picked) < wanted:
                    picked.append(queue.pop(0))
        return picked
    by_id = {c.id: c for c in clips}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise ConfigError(f"benchmark clip(s) {unknown} not in the manifest; ids look like {clips[0].id}")
    return [by_id[w] for w in dict.fromkeys(wanted)]  # an id given twice is dubbed once


def check_results_folder(out_dir: str | Path, overwrite: bool) -> None:
    """Before any dub: `out_dir` holds no earlier run's results, unless `overwrite`."""
    earlier = [name for name in RESULTS_FILES if (Path(out_dir) / name).exists()]
    if earlier and not overwrite:
        raise OutputError(f"{out_dir} already holds a benchmark run's results ({', '.join(earlier)}); "
                          "pass --overwrite to replace them, or give another --out folder")


def read_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame (F, H, W, 3) uint8 and its time (F,) in seconds."""
    with VideoReader(path) as reader:
        frames = list(reader.iter_frames())
    return np.stack([f.image for f in frames]), np.array([f.time_s for f in frames])


def track_record(track: MouthTrack, clip: BenchClip) -> dict:
    """How well the pipeline's tracking found this clip's face, against the manifest."""
    n = min(len(track), len(clip.face_width))
    true_x, true_y = clip.mouth_xy[:n, 0], clip.mouth_xy[:n, 1]
    width = clip.face_width[:n]
    error = np.hypot(track.mouth_x[:n] - true_x, track.mouth_y[:n] - true_y) / width
    # Landmarks look at every frame; the localiser every few, so its coverage is the frames it
    # let the dub edit.
    found_share = track.detected / len(track) if track.source == "landmarks" else 1 - track.passed_through / len(track)
    mean_error = float(error.mean())
    return {"source": track.source, "found_frames": track.detected, "frames": len(track),
            "mouth_error": round(mean_error, 4),  # face widths, mean over frames
            "side_ratio": round(float((track.side[:n] / width).mean()), 4),  # tracked / true box side
            "found": bool(track.source in ("landmarks", "localiser") and found_share >= FOUND_MIN_FRAMES
                          and mean_error <= FOUND_MAX_ERROR)}


TRUE_TRACK_PARTS = ("all", "position", "scale")
# Directions of `run_benchmark`'s track offset, clip by clip in turn: below, right, above, left.
OFFSET_DIRECTIONS = ((0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0))


def truth_track(clip: BenchClip, track: MouthTrack, part: str = "all",
                offset: tuple[float, float] = (0.0, 0.0)) -> MouthTrack:
    """The manifest's mouth centres and face widths as a mouth track, shaped like the tracker's
    `track`: "all" (every frame found and edited), or only the tracker's "position" (mouth
    centres) or "scale" (region sides) replaced, its frames found and edited kept. `offset`
    (face widths, x right, y down) moves every mouth centre: a tracker's lasting error of a
    known size, to measure how the dub copes with one."""
    if part not in TRUE_TRACK_PARTS:
        raise ConfigError(f"the true track's part must be one of {', '.join(TRUE_TRACK_PARTS)}, got {part!r}")
    n = len(track)
    last = len(clip.face_width) - 1  # a decoded frame past the manifest's end keeps its last entry
    rows = np.minimum(np.arange(n), last)
    width = np.asarray(clip.face_width, np.float32)[rows]
    xy = np.asarray(clip.mouth_xy, np.float32)[rows] + np.asarray(offset, np.float32) * width[:, None]
    side = (REGION_SCALE * width).astype(np.float32)  # RegionBox.around_mouth's side
    position = dict(cx=xy[:, 0].copy(), cy=xy[:, 1].copy(), mouth_x=xy[:, 0].copy(), mouth_y=xy[:, 1].copy())
    if part == "position":
        return replace(track, **position)
    if part == "scale":
        return replace(track, side=side)
    return replace(track, **position, side=side, found=np.ones(n, bool), source="truth", edit=None)


@dataclass
class ClipInputs:
    """One benchmark clip decoded, tracked and planned, shared by all its dubs."""

    clip: BenchClip
    source: np.ndarray  # (F, H, W, 3)
    target: np.ndarray  # (F, H, W, 3)
    speech: np.ndarray  # 16 kHz mono
    analysis: VideoAnalysis  # the dub's first half (probe, mouth track), shared by every variant
    plan: np.ndarray  # source frame index of every output frame
    mouth_boxes: list[RegionBox]
    mouth_rects: np.ndarray | None  # (F, 4) true mouth boxes, where the manifest gives mouth sizes

    @property
    def track(self) -> MouthTrack:
        return self.analysis.track

    @classmethod
    def load(cls, clip: BenchClip, face: FaceConfig, true_track: str = "",
             offset: tuple[float, float] = (0.0, 0.0)) -> "ClipInputs":
        """`true_track` (TRUE_TRACK_PARTS; "": the tracker's): dub at the generator's own mouth
        track instead of the tracker's (separates what the tracker costs from what the model
        does), "all" of it or only its "position" or "scale" (`truth_track`)."""
        source, _ = read_video(clip.source)
        target, _ = read_video(clip.target)
        speech = load_audio(clip.speech)
        if true_track == "all":  # a constant mouth skips the tracker; its track is then replaced
            first = tuple(float(v) for v in clip.mouth_xy[0])
            analysis = analyse(clip.source, DubOptions(face=replace(face, mouth=first)))
        else:
            analysis = analyse(clip.source, DubOptions(face=face))
        if true_track:
            analysis = replace(analysis, track=truth_track(clip, analysis.track, true_track, offset))
        # Which source frame each output frame shows: dub's own length rule.
        info = analysis.info
        plan = plan_source_frames(analysis.frame_times, info.fps, info.duration, len(speech) / SAMPLE_RATE,
                                  DubOptions().extend)
        rects = None
        if "mouth_size" in clip.meta:
            rects = metrics.mouth_rects(clip.mouth_xy, np.asarray(clip.meta["mouth_size"], np.float64))
        return cls(clip, source, target, speech, analysis, plan,
                   metrics.mouth_boxes(clip.mouth_xy, clip.face_width), rects)


def truth_sync_scores(inputs: ClipInputs) -> dict[str, float]:
    """The sync expert's scores of the ground-truth dub against the speech it was made with."""
    n = min(len(inputs.target), len(inputs.mouth_boxes))
    return mouth_sync_scores(metrics.crop_mouths(inputs.target[:n], inputs.mouth_boxes[:n]),
                             inputs.speech, inputs.clip.fps)


def source_pauses(inputs: ClipInputs, plan: np.ndarray) -> np.ndarray | None:
    """(F,) bool per output frame: the source frame it shows lies in a pause of the source's
    own speech (synthetic manifests only)."""
    utterance = inputs.clip.meta.get("source_utterance")
    if not utterance or "phonemes" not in utterance:
        return None
    return pause_frames(utterance, inputs.clip.fps, len(inputs.source))[plan]


def truth_opening_scores(inputs: ClipInputs) -> dict[str, float]:
    """The opening figures of the ground-truth dub itself (the meter's reading of a perfect dub)."""
    n = min(len(inputs.target), len(inputs.mouth_boxes))
    truth = ScoredClip(output=inputs.target[:n], target=inputs.target[:n], source=inputs.target[:n],
                       mouth_boxes=inputs.mouth_boxes[:n], edit_boxes=inputs.mouth_boxes[:n],
                       speech=inputs.speech, fps=inputs.clip.fps,
                       utterance=inputs.clip.meta.get("target_utterance"),
                       source_quiet=source_pauses(inputs, np.arange(n)))
    return opening_scores(truth)


def dub_and_score(inputs: ClipInputs, editor: Editor, output_path: Path, face: FaceConfig,
                  scorers: Sequence[Scorer], **overrides) -> tuple[dict, ScoredClip | None]:
    """Dub one clip with `editor` through the real pipeline and score the result;
    `overrides`: DubOptions fields other than the defaults (`Variant.dub_overrides`).

    Returns the results entry ({"ok": False, "error": ...} when the dub raised) and the
    scored clip (for the strip), or None.
    """
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    try:
        options = DubOptions(face=face, overwrite=True, **overrides)
        dubbed = render(inputs.analysis, inputs.clip.speech, output_path, editor, options)
    except Exception as exc:  # recorded with its message, counted as a failure, reported
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, None
    entry = {"ok": True, "dub_seconds": round(time.perf_counter() - tick, 3),
             "stage_seconds": dubbed.seconds, "output_frames": dubbed.output_frames,
             "faces_detected": dubbed.faces_detected, "track_source": dubbed.track_source,
             "frames_kept_quiet": dubbed.frames_kept_quiet, "self_test_db": dubbed.self_test_db,
             "edit_scale": dubbed.edit_scale}
    output, _ = read_video(output_path)
    n = min(len(output), len(inputs.target), len(inputs.plan))
    plan = inputs.plan[:n]
    working = working_track(inputs.track, options.region_scale)  # the regions this dub edited
    scored = ScoredClip(output=output[:n], target=inputs.target[:n], source=inputs.source[plan],
                        mouth_boxes=inputs.mouth_boxes[:n], edit_boxes=[working.box(int(k)) for k in plan],
                        speech=inputs.speech, fps=inputs.clip.fps,
                        mouth_rects=None if inputs.mouth_rects is None else inputs.mouth_rects[plan],
                        utterance=inputs.clip.meta.get("target_utterance"),
                        source_quiet=source_pauses(inputs, plan))
    scores: dict[str, float] = {}
    for scorer in scorers:
        scores.update(scorer(scored))
    # JSON has no inf or nan: e.g. the flicker ratio of a clip whose ground truth never moves.
    entry["scores"] = {k: (float(v) if np.isfinite(v) else None) for k, v in scores.items()}
    entry["total_seconds"] = round(time.perf_counter() - tick, 3)
    return entry, scored


def run_benchmark(corpus_dir: str | Path, variants: Sequence[Variant], out_dir: str | Path,
                  clips: None | int | Sequence[str] = None, weights: str | Path | None = None,
                  progress: Callable[[str], None] | None = None, *,
                  scorers: Sequence[Scorer] = DEFAULT_SCORERS,
                  metric_specs: Sequence[Metric] = DEFAULT_METRICS,
                  rule: SuccessRule = SuccessRule(), face: FaceConfig = FaceConfig(),
                  strip_clips: int = 3, strip_frames: int = 6, label: str = "",
                  true_track: str = "", track_offset: float = 0.0) -> dict:
    """Dub, score and report; returns the results.json document.

    `clips`: None = all, N = N clips spread over the categories, or a list of clip ids.
    `weights`: the model directory the model variants load (None: the bundled model).
    `label`: a note on the weights for the report (e.g. the checkpoint step).
    `true_track` ("all", "position", "scale"): dub at the generator's true mouth track, or
    only its mouth centres / region sides, not the tracker's (a diagnosis of the tracker's
    share of the error; the default "" scores the product as users get it). `track_offset`
    (face widths, with a true track) moves its mouth centres that far, below / right / above /
    left of the mouth clip by clip in turn: how a dub copes with a tracker's lasting error.
    `progress(line)` hears one line per dub. A dub that raises is recorded as failed (with
    its error) and the run goes on; a variant whose editor cannot be built stops it.

    Every clip is also dubbed with the no-op (pass-through) editor, whether or not "no-op"
    is among the variants: its scores are the clip's reference, which the success rule
    compares against (the no-op includes the re-encode, as every variant does).
    """
    if not variants:
        raise ConfigError("give at least one benchmark variant")
    out_dir = Path(out_dir)
    weights = Path(weights) if weights is not None else None
    chosen = select_clips(load_manifest(corpus_dir), clips)
    say = progress or (lambda line: None)
    noop = VARIANTS["no-op"]
    runs = list(variants) if any(v.name == noop.name for v in variants) else [noop, *variants]
    runs.sort(key=lambda v: v.name != noop.name)  # the reference first
    editors = {v.name: v.editor(weights) for v in runs}
    strip_ids = _strip_clip_ids(chosen, strip_clips)
    strips: dict[str, dict[str, np.ndarray]] = {}
    records = []
    started = time.perf_counter()
    untracked = []  # clips the pipeline found no mouth in: no dub of them can be scored
    for number, clip in enumerate(chosen, 1):
        try:
            direction = np.asarray(OFFSET_DIRECTIONS[(number - 1) % len(OFFSET_DIRECTIONS)])
            inputs = ClipInputs.load(clip, face, true_track, tuple(track_offset * direction))
        except InputError as exc:
            if isinstance(exc, NoMouthError):  # the dub's message advises --mouth / --region, which bench has not
                error, outcome = f"no mouth found in any frame ({exc.reason})", "SKIPPED"
            else:
                error, outcome = str(exc), "NOT DUBBED"
            untracked.append({"id": clip.id, "category": clip.category, "group": clip.group, "error": error})
            say(f"[{number}/{len(chosen)}] {clip.id}: {outcome}, {error}")
            continue
        record = {"id": clip.id, "category": clip.category, "group": clip.group, "kind": clip.meta.get("kind"),
                  "frames": len(inputs.source), "fps": clip.fps, "prompt": clip.meta.get("prompt"),
                  "track": track_record(inputs.track, clip), "reference": None, "variants": {}}
        if sync_scores in scorers:  # the ground truth's sync, once per clip, for the recovery R
            record["truth_sync"] = truth_sync_scores(inputs)
        if opening_scores in scorers:  # the meter's reading of the ground truth, beside the dubs'
            record["truth_opening"] = truth_opening_scores(inputs)
        picks = _strip_picks(min(len(inputs.source), len(inputs.target)), strip_frames)
        if clip.id in strip_ids:
            strips[clip.id] = {
                "source": metrics.crop_mouths(inputs.source[picks], [inputs.mouth_boxes[k] for k in picks]),
                "target": metrics.crop_mouths(inputs.target[picks], [inputs.mouth_boxes[k] for k in picks])}
        for variant in runs:
            entry, scored = dub_and_score(inputs, editors[variant.name],
                                          out_dir / "videos" / variant.name / f"{clip.id}.mp4", face, scorers,
                                          **variant.dub_overrides())
            where = f"[{number}/{len(chosen)}] {clip.id} {variant.name}"
            if variant.name == noop.name:
                if not entry["ok"]:  # without the reference nothing of this clip can be judged
                    raise RuntimeError(f"{where}: the pass-through dub failed: {entry['error']}")
                record["reference"] = entry["scores"]
            if entry["ok"] and "truth_sync" in record:
                entry["scores"].update(sync_recovery(entry["scores"], record["reference"], record["truth_sync"]))
            if entry["ok"]:
                entry["success"] = rule.passes(entry["scores"], record["reference"]["mouth_psnr"])
                say(f"{where}: mouth PSNR {entry['scores']['mouth_psnr']:.2f} dB "
                    f"(no-op {record['reference']['mouth_psnr']:.2f}), dub {entry['dub_seconds']:.1f} s")
            else:
                entry["success"] = False
                say(f"{where}: FAILED {entry['error']}")
            if variant in variants:
                record["variants"][variant.name] = entry
                if scored is not None and clip.id in strips:
                    strips[clip.id][variant.name] = scored.output_mouths[[k for k in picks if k < len(scored.output)]]
        records.append(record)

    results = {
        "format": "omnisync-bench-results", "version": 1,
        "corpus": str(corpus_dir), "weights": None if weights is None else str(weights), "label": label,
        "track": {"": "pipeline", "all": "truth"}.get(true_track, f"truth {true_track}")
                 + (f", moved {track_offset:g} face widths" if track_offset else ""),
        "variants": [v.to_dict() for v in variants],
        "success_rule": asdict(rule),
        "metrics": [asdict(m) for m in metric_specs],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "summary": summarise(records, [v.name for v in variants], [m.key for m in metric_specs], untracked),
        "clips": records,
        "untracked": untracked,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, allow_nan=False) + "\n")
    report.write_report(results, out_dir, metric_specs)
    report.plot_mouth_psnr(results, out_dir / "mouth_psnr.png")
    if strips:
        report.write_strip(strips, [v.name for v in variants], out_dir / "strip.jpg")
    return results


def dubbed_clips(results: dict) -> int:
    """How many clips of a results.json document at least one of its variants dubbed."""
    return sum(any(entry["ok"] for entry in clip["variants"].values()) for clip in results["clips"])


def summarise(records: list[dict], variant_names: list[str], keys: list[str],
              refused: Sequence[dict] = ()) -> dict:
    """summary[variant][category, style group or "all"]: clip counts (the `refused` clips, not
    dubbed, counted as not finished), success rate over all of them, mean of every metric
    over the clips that finished, the no-op's mouth PSNR on the same clips, and mean dub
    seconds per clip."""
    summary = {}
    for name in variant_names:
        summary[name] = {}
        for category in (ALL, *CATEGORIES, *GROUPS):
            group = [r for r in records if category in (ALL, r["category"], r.get("group", "seen"))]
            refused_here = [r for r in refused if category in (ALL, r["category"], r["group"])]
            if not group and not refused_here:
                continue
            done = [r["variants"][name] for r in group if r["variants"][name]["ok"]]
            clips = len(group) + len(refused_here)
            row = {"clips": clips, "finished": len(done), "refused": len(refused_here),
                   "success_rate": round(sum(e["success"] for e in done) / clips, 4),
                   "faces_found": sum(r["track"]["found"] for r in group)}
            for key in keys:
                values = [e["scores"][key] for e in done if e["scores"].get(key) is not None]
                row[key] = round(float(np.mean(values)), 4) if values else None
            reference = [r["reference"]["mouth_psnr"] for r in group]
            row["noop_mouth_psnr"] = round(float(np.mean(reference)), 4) if reference else None
            for key in ("lse_c", "lse_d"):  # the ground truth's and the no-op's sync, beside the variants'
                truth = [r["truth_sync"][key] for r in group if key in r.get("truth_sync", {})]
                noop = [r["reference"][key] for r in group if r["reference"].get(key) is not None]
                row[f"truth_{key}"] = round(float(np.mean(truth)), 4) if truth else None
                row[f"noop_{key}"] = round(float(np.mean(noop)), 4) if noop else None
            for key in ("open_r", "silence_ratio", "woken_open", "hushed_open"):
                truth = [r["truth_opening"][key] for r in group if key in r.get("truth_opening", {})]
                row[f"truth_{key}"] = round(float(np.mean(truth)), 4) if truth else None
            row["dub_seconds"] = round(float(np.mean([e["dub_seconds"] for e in done])), 2) if done else None
            summary[name][category] = row
    return summary


def _strip_clip_ids(clips: list[BenchClip], count: int) -> set[str]:
    """Up to `count` clips for the strip, one per style group first."""
    return {c.id for c in select_clips(clips, count)} if count > 0 and clips else set()


def _strip_picks(n_frames: int, count: int) -> list[int]:
    """`count` frames spread evenly over the clip, away from its ends."""
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, count + 2)[1:-1]})
