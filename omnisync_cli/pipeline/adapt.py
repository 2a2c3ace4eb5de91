"""Per-video adaptation: fine-tune a copy of the model on the source video's own speech.

    result = adapt(analysis, base_weights, out_dir, AdaptConfig())   # `omnisync adapt`, `dub --adapt`

A video to be dubbed nearly always carries its original speech: this very character saying
known sounds with its own mouth. The source is cut into pieces of `clip_seconds`; the last
`holdout` share is kept aside, the rest trains a copy of the model for a wall-clock budget
(or a number of steps) with the training loop of `omnisync train` (same losses, EMA, mixed
precision on CUDA).

Training pairs follow Eq. 3 as real videos allow: the target is a piece with its own
audio. A real video has one utterance per scene, so no pseudo-pair exists; its stand-in
(data.mouth_swap) is the target piece's own frames with the mouth area of another moment
of the video, so above the pair threshold the network sees the target's pose with other
lips and must draw this character's lips from the audio. Below it V_cd is another piece of
the same video, never one sharing a frame with the target (data.pairs). The recipe is the
default model's (pair threshold 0.1, x-weighted loss with the mouth weight, the dub's
starting point from sigma 0.8). Without the sync loss a fine-tune on one video drifts
toward this character's average mouth (sync falls, and the guard refuses it), so the sync
expert is a loss as in the default model's training; a guard scored by that same expert was
fooled (bench/results/adapt-stand-ins/), so the guard decides by an expert the fine-tune
never trains against and vetoes any fine-tune that damages held-out mouths.

The guard: the held-out pieces are dubbed by the base and the adapted model, each piece's
own audio onto another piece's frames (so the mouth must come from the audio, not from the
frames), and two sync experts score the result against the audio (LSE-C): the bundled one,
which the sync loss trains against, and the guard expert (weights/sync-expert-guard), which
no training ever sees. Each held-out piece's stand-in is also dubbed with its own audio and
its mouth compared with the true frames (reconstruction PSNR), and each piece is dubbed with
its own audio onto its own frames, where the right answer is to leave them (fidelity PSNR).
The adapted model is kept only if the guard expert scores it higher by MIN_GAIN and none of
the bundled expert's score, the reconstruction and the fidelity falls; where neither expert
reads either model's dubs, only if the reconstruction rises and the fidelity does not fall
(guard_verdict); otherwise `out_dir` receives a copy of
the base model and the report says why (so `--weights out_dir` always works). A source without
audio, or without speech in it, gets a one-line notice and the base model. Nothing is
written into the base model's directory.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from omnisync_cli.bench.metrics import psnr_from_mse
from omnisync_cli.bench.sync import open_guard_scorer, open_sync_scorer
from omnisync_cli.data.mouth_swap import donor_frames, mouth_mask, swap_mouths
from omnisync_cli.data.pairs import ClipInfo
from omnisync_cli.errors import ConfigError, InputError, OutputError
from omnisync_cli.files import hold_lock, sweep_unlocked
from omnisync_cli.face.region import crop_region
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio, load_speech
from omnisync_cli.media.speech_gate import speech_only, speech_spans
from omnisync_cli.media.video import VideoReader
from omnisync_cli.model.config import PRESETS, check_weights_dir
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.model.weights import save_model
from omnisync_cli.pipeline.analysis import VideoAnalysis, analyse, working_track
from omnisync_cli.pipeline.dub import DubReport, render
from omnisync_cli.pipeline.editing import edit_every
from omnisync_cli.pipeline.options import DubOptions, check_options
from omnisync_cli.pipeline.paths import check_paths
from omnisync_cli.pipeline.progress import Progress, SilentProgress
from omnisync_cli.pipeline.references import spread
from omnisync_cli.pipeline.segments import SegmentItem, edit_in_segments
from omnisync_cli.train.config import TrainConfig, preset_and_grown_parts
from omnisync_cli.train.data import ClipData
from omnisync_cli.train.loop import hears_as, train

ADAPT_FILE = "adaptation.json"
MIN_SPEECH_RMS = 0.005  # a source quieter than this over its whole length holds no speech
# The adapted model must beat the base by this much guard-expert LSE-C on the held-out part: a
# few seconds of held-out speech give a noisy score (measured: +0.001 kept a model that synced
# worse on the benchmark, bench/results/adapt.md), and doing nothing is the safe side.
MIN_GAIN = 0.01
# Below this LSE-C an expert does not read a dub at all: on the held-out parts of 12 fresh
# clips both experts scored either 0.005-0.010 (their dubs unread, on 5 clips) or 0.10-0.41
# (bench/results/adapt-guard/). There sync cannot decide, and mouth error does.
UNREAD = 0.05
CHARACTER = "source"


@dataclass(frozen=True)
class AdaptConfig:
    seconds: float = 120.0  # training wall-clock budget (about two minutes on 2 CPU cores)
    steps: int = 0  # a fixed number of optimizer steps instead (0: the time budget decides)
    holdout: float = 0.2  # share of the source, from its end, kept aside to validate
    # ... but at most this long: each held-out second is dubbed three ways by both models
    # (validate), so a 3-minute source would otherwise spend longer validating than training.
    max_holdout_seconds: float = 10.0
    clip_seconds: float = 2.0  # the source is cut into pieces this long
    max_source_seconds: float = 180.0  # source seconds read at most (memory and time)
    batch_size: int = 4
    lr: float = 5e-5  # AdamW, constant after a short warm-up: a gentle fine-tune
    pair_threshold: float = 0.1  # Eq. 3, as the default model: stand-in pseudo-pairs above it
    source_start_sigma: float = 0.8  # train.config.source_start_sigma, as the default model
    # The sync expert as a loss (TrainConfig.sync_loss_weight), as the default model trained,
    # used where the expert hears what the model hears (sync_weight_for). Without it a
    # fine-tune drifts toward the character's average mouth and the guard refuses it; with it
    # the guard must not score by that expert alone (it was fooled: bench/results/adapt-guard/).
    sync_loss_weight: float = 0.1
    threads: int = 0
    seed: int = 0
    # Learn from what a dub lets the model hear: the source's speech alone, its music bed and
    # room tone muted (media.speech_gate; DubOptions.speech_gate). A source in which the voice
    # detector hears no speech at all is not adapted on.
    speech_gate: bool = True

    def __post_init__(self) -> None:
        if self.seconds <= 0 and self.steps <= 0:
            raise ConfigError("give the adaptation a time budget (seconds > 0) or a number of steps")
        if not 0 < self.holdout < 1:
            raise ConfigError("holdout must be a share between 0 and 1")
        if self.max_holdout_seconds < self.clip_seconds:
            raise ConfigError("max_holdout_seconds must hold at least one piece (clip_seconds)")


@dataclass
class AdaptReport:
    kept: bool  # the adapted model dubs; False: the base model does
    notice: str  # one line for the user
    weights: str  # directory of the model that dubs
    steps: int = 0
    train_seconds: float = 0.0
    final_loss: float | None = None
    validate_seconds: float = 0.0  # wall time of validating the base and the adapted model
    sync_loss_weight: float = 0.0  # the sync loss's weight in the fine-tune (sync_weight_for)
    base: dict = field(default_factory=dict)  # validation of the base model (validate)
    adapted: dict = field(default_factory=dict)  # the same of the adapted one

    def to_dict(self) -> dict:
        return asdict(self)


class VideoPieces:
    """The source video as a training corpus (train.data.ClipSource): consecutive pieces of
    one character, each with its stand-in pseudo-pair (data.mouth_swap: its frames with the
    mouths of the frames half of `donor_span` away), working-region crops at the model's size."""

    def __init__(self, crops: np.ndarray, mouth_xy: np.ndarray, waveform: np.ndarray, fps: float,
                 spans: list[tuple[int, int]], donor_span: tuple[int, int]):
        self.crops, self.mouth_xy, self.waveform, self.fps, self.spans = crops, mouth_xy, waveform, fps, spans
        self.donor_span = donor_span

    def __len__(self) -> int:
        return len(self.spans)

    def info(self, i: int) -> ClipInfo:
        a, b = self.spans[i]
        return ClipInfo(CHARACTER, 2, b - a, stand_ins=1)

    def load(self, i: int) -> ClipData:
        a, b = self.spans[i]
        crops, mouth, wave = self.crops[a:b], self.mouth_xy[a:b], self.piece_audio(i)
        return ClipData([crops, self.stand_in(i)], [mouth, mouth], [wave, wave], self.fps, ["", ""])

    def stand_in(self, i: int) -> np.ndarray:
        """Piece `i`'s frames with another moment's mouths (data.mouth_swap)."""
        a, b = self.spans[i]
        donors = donor_frames(a, b, self.donor_span)
        return swap_mouths(self.crops[a:b], self.mouth_xy[a:b], self.crops[donors], self.mouth_xy[donors])

    def piece_audio(self, i: int) -> np.ndarray:
        """The piece's own audio, starting at its first frame (frame j at j / fps)."""
        a, b = self.spans[i]
        start, length = int(round(a / self.fps * SAMPLE_RATE)), int(round((b - a) / self.fps * SAMPLE_RATE))
        wave = np.zeros(length, np.float32)
        piece = self.waveform[start:start + length]
        wave[:len(piece)] = piece
        return wave


def split_pieces(frames: int, fps: float, clip_seconds: float, holdout: float,
                 min_frames: int, max_holdout_seconds: float = float("inf")
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(training spans, held-out spans) of consecutive pieces; the held-out ones are the last
    `holdout` share of the frames, at most `max_holdout_seconds`. Pieces shorter than
    `min_frames` are dropped."""
    length = max(min_frames, round(clip_seconds * fps))
    split = frames - int(round(min(holdout * frames, max_holdout_seconds * fps)))

    def cut(a: int, b: int) -> list[tuple[int, int]]:
        return [(s, min(s + length, b)) for s in range(a, b, length) if min(s + length, b) - s >= min_frames]
    return cut(0, split), cut(split, frames)


class TooShortToAdapt(InputError):
    """The video has too few frames for the training and held-out pieces."""


def read_pieces(analysis: VideoAnalysis, heard: np.ndarray, size: int, config: AdaptConfig,
                min_frames: int) -> tuple[VideoPieces, VideoPieces]:
    """Crop the working region the default dub edits (DubOptions.region_scale) of the frames it
    edits (up to max_source_seconds; on fast video every k-th, at the dub's edit rate, so the
    model learns and is validated at the frame rate it will dub at) and cut the training and
    held-out pieces."""
    defaults = DubOptions()
    track, source_fps = working_track(analysis.track, defaults.region_scale), float(analysis.info.fps)
    every = edit_every(source_fps, defaults.edit_rate)
    fps = source_fps / every
    used = range(0, min(len(track), int(config.max_source_seconds * source_fps)), every)
    count = len(used)

    def enough(frames: int) -> bool:  # two pieces to train on and one held out to validate on
        train, held = split_pieces(frames, fps, config.clip_seconds, config.holdout, min_frames,
                                   config.max_holdout_seconds)
        return len(train) >= 2 and len(held) >= 1
    if not enough(count):
        needed = next((n for n in range(count, count + round(60 * fps)) if enough(n)), count)
        raise TooShortToAdapt(f"{analysis.video.name} is too short to adapt on ({count / fps:.1f} s; adapting "
                              f"takes {needed / fps:.1f} s: two pieces to train on and one to validate on)")
    crops = np.empty((count, size, size, 3), np.uint8)
    with VideoReader(analysis.video) as reader:
        for frame in reader.iter_frames():
            if frame.index >= used.stop:
                break
            if frame.index % every == 0:
                crops[frame.index // every] = crop_region(frame.image, track.box(frame.index), size)
    mouth = track.mouth_in_box(slice(used.start, used.stop, every)).astype(np.float32)
    train_spans, held_spans = split_pieces(count, fps, config.clip_seconds, config.holdout, min_frames,
                                           config.max_holdout_seconds)
    return (VideoPieces(crops, mouth, heard, fps, train_spans, (train_spans[0][0], train_spans[-1][1])),
            VideoPieces(crops, mouth, heard, fps, held_spans, (held_spans[0][0], held_spans[-1][1])))


def sync_weight_for(model_config, weight: float) -> float:
    """`weight` where the bundled sync expert hears the model's audio (train.loop.hears_as),
    else 0: a model with another audio pathway adapts without the sync loss."""
    return weight if hears_as(open_sync_scorer().expert.config, model_config) else 0.0


def preset_of(config, weights: Path) -> tuple[str, dict]:
    """The preset the weights were trained with and the parts a run added to it (the
    default model's displacement head, a grown depth): what a TrainConfig needs to rebuild
    the network."""
    found = preset_and_grown_parts(config)
    if found is None:
        raise ConfigError(f"{weights}: its configuration is none of the presets ({', '.join(PRESETS)}); "
                          "adaptation fine-tunes preset models")
    return found


def check_base_weights(base_weights: Path) -> None:
    """Before the video is tracked: `base_weights` is a model folder (config.json, a readable
    model.safetensors) of a preset that adaptation can rebuild; a wrong --weights is one line,
    not a wait for the tracking."""
    preset_of(check_weights_dir(base_weights), base_weights)


def dubbed_piece(editor: ModelEditor, crops: np.ndarray, mouth_xy: np.ndarray, waveform: np.ndarray,
                 fps: float) -> np.ndarray:
    """`crops` dubbed with `waveform` (frame j at j / fps) in the editor's overlapping segments."""
    features = editor.prepare_audio(waveform)
    items = [SegmentItem(crops[j], j / fps, mouth_xy[j]) for j in range(len(crops))]
    k = editor.reference_frames  # spread over the piece, as a dub spreads them over the video
    pictures = {"references": crops[spread(len(crops), k)]} if k else {}

    def edit(crops, times, mouth):
        return editor.edit(crops, times, mouth, features, **pictures)
    return np.stack([out for _, out in edit_in_segments(items, edit, editor.segment_frames, editor.overlap_frames)])


def mouth_psnr(dubbed: np.ndarray, truth: np.ndarray, mouth_xy: np.ndarray) -> float:
    """PSNR over the stand-in's mouth ellipse (data.mouth_swap.mouth_mask), weighted by it."""
    size = truth.shape[1]
    weights = np.stack([mouth_mask(size, (float(x), float(y))) for x, y in mouth_xy])[..., None]
    error = ((dubbed.astype(np.float64) - truth.astype(np.float64)) ** 2 * weights).sum()
    return psnr_from_mse(error / max(float(weights.sum()) * truth.shape[-1], 1e-9))


def validate(editor: ModelEditor, held: VideoPieces, fallback: VideoPieces) -> dict:
    """How the model dubs the held-out pieces, three ways:

    - sync: each piece's own audio dubbed onto another piece's frames (the next held-out
      piece; the last training piece when only one is held out), mean LSE-C / LSE-D of the
      bundled sync expert (lse_c, lse_d) and of the guard expert (guard_lse_c, guard_lse_d);
    - reconstruction: each piece's stand-in (its frames with another moment's mouths)
      dubbed with its own audio, mean PSNR against its true frames over the mouth area
      (mouth_psnr): whether the model draws this character's lips for these sounds;
    - fidelity: each piece dubbed with its own audio onto its own frames, where the right
      answer is the frames as they are, mean mouth PSNR against them (self_psnr): how much
      the model damages a mouth that already says the sounds."""
    scorers = {"": open_sync_scorer(), "guard_": open_guard_scorer()}
    sync, recon, fidelity = {name: [] for name in scorers}, [], []
    for i in range(len(held)):
        own = held.load(i)
        other = held.load((i + 1) % len(held)) if len(held) > 1 else fallback.load(len(fallback) - 1)
        n = min(len(own.crops[0]), len(other.crops[0]))
        dubbed = dubbed_piece(editor, other.crops[0][:n], other.mouth_xy[0][:n], own.waveforms[0], held.fps)
        for name, scorer in scorers.items():
            if len(dubbed) >= scorer.config.frames:
                score = scorer.score(dubbed, own.waveforms[0], held.fps, other.mouth_xy[0][:n])
                sync[name].append((score.lse_c, score.lse_d))
        rebuilt = dubbed_piece(editor, own.crops[1], own.mouth_xy[0], own.waveforms[0], held.fps)
        recon.append(mouth_psnr(rebuilt, own.crops[0], own.mouth_xy[0]))
        redubbed = dubbed_piece(editor, own.crops[0], own.mouth_xy[0], own.waveforms[0], held.fps)
        fidelity.append(mouth_psnr(redubbed, own.crops[0], own.mouth_xy[0]))
    result = {"mouth_psnr": round(float(np.mean(recon)), 3), "self_psnr": round(float(np.mean(fidelity)), 3)} if recon else {}
    for name, scores in sync.items():
        if scores:
            result.update({f"{name}lse_c": round(float(np.mean([s[0] for s in scores])), 4),
                           f"{name}lse_d": round(float(np.mean([s[1] for s in scores])), 4)})
            result["pieces"] = len(scores)
    return result


def guard_verdict(base: dict, adapted: dict) -> tuple[bool, str]:
    """(keep the adapted model?, why) from the two validations (validate).

    Where the sync experts read the held-out dubs, sync decides: the guard expert, which no
    training scores against, must rise by MIN_GAIN, and the bundled expert (which the sync
    loss trains against) must not fall. Where neither expert reads either model's dubs
    (LSE-C below UNREAD for both), sync cannot decide and mouth error does: the held-out
    reconstruction must rise. Either way, neither the reconstruction nor the fidelity to a
    mouth that already says the sounds may fall."""
    needed = ("guard_lse_c", "lse_c", "mouth_psnr", "self_psnr")
    if not all(key in base and key in adapted for key in needed):
        return False, "the held-out part is too short to score"
    guard = f"guard-expert LSE-C {base['guard_lse_c']:.3f} -> {adapted['guard_lse_c']:.3f}"
    rebuilt = f"rebuilt mouth PSNR {base['mouth_psnr']:.2f} -> {adapted['mouth_psnr']:.2f} dB"
    unread = max(base["guard_lse_c"], adapted["guard_lse_c"], base["lse_c"], adapted["lse_c"]) < UNREAD
    if unread:
        if adapted["mouth_psnr"] <= base["mouth_psnr"]:
            return False, f"the experts cannot read this mouth and the held-out mouths were not rebuilt better ({rebuilt})"
    else:
        if adapted["guard_lse_c"] <= base["guard_lse_c"] + MIN_GAIN:
            gain = adapted["guard_lse_c"] - base["guard_lse_c"]
            change = f"rose by only {gain:.3g}; it must rise by more than {MIN_GAIN:g}" if gain > 0 else "did not rise"
            return False, f"held-out sync {change} ({guard})"
        if adapted["lse_c"] < base["lse_c"]:
            return False, f"the bundled expert scored it lower (LSE-C {base['lse_c']:.3f} -> {adapted['lse_c']:.3f})"
        if adapted["mouth_psnr"] < base["mouth_psnr"]:
            return False, f"it rebuilt the held-out mouths worse ({rebuilt})"
    if adapted["self_psnr"] < base["self_psnr"]:
        return False, (f"it changed held-out mouths that already said the sounds more (PSNR {base['self_psnr']:.2f} -> "
                       f"{adapted['self_psnr']:.2f} dB)")
    if unread:
        return True, f"the experts cannot read this mouth; held-out {rebuilt}"
    return True, f"held-out {guard}, bundled LSE-C {base['lse_c']:.3f} -> {adapted['lse_c']:.3f}"


def heard_source(analysis: VideoAnalysis, config: AdaptConfig = AdaptConfig()) -> tuple[np.ndarray | None, str | None]:
    """The source's own audio as adaptation hears it (with `config.speech_gate` its speech
    alone, media.speech_gate), or None and why it cannot teach the model: no audio track, or
    no speech in it (silence; with the gate, music or noise the voice detector hears no
    speech in)."""
    if not analysis.info.has_audio:
        return None, f"{analysis.video.name} has no audio track: nothing to adapt on, the base model dubs"
    try:
        waveform = load_audio(analysis.video)
    except InputError as exc:
        return None, f"{analysis.video.name}: its audio cannot be used ({exc}); the base model dubs"
    no_speech = f"{analysis.video.name} holds no speech in its audio: nothing to adapt on, the base model dubs"
    if len(waveform) == 0 or float(np.sqrt(np.mean(waveform ** 2))) < MIN_SPEECH_RMS:
        return None, no_speech
    if config.speech_gate:
        spans = speech_spans(waveform)
        if not spans:
            return None, no_speech
        waveform = speech_only(waveform, spans=spans)
    return waveform, None


# What an adapted model's folder holds (`save_model`, `write_card` / `keep_base`): the only
# files `omnisync adapt --overwrite` replaces.
MODEL_FOLDER_FILES = frozenset({"config.json", "model.safetensors", "README.md", ADAPT_FILE})


def check_adapt_output(output: Path, video: Path, overwrite: bool, weights: Path | None = None) -> None:
    """Before any work: `output` is a new folder, or (with `overwrite`) a model folder that
    `omnisync adapt` wrote (its ADAPT_FILE says so), holding nothing else; never a file, nor a
    folder holding the video, nor the base model's folder `weights` (or one in or around it)."""
    output = Path(output)
    if weights is not None:
        mine, base = output.resolve(), Path(weights).resolve()
        if mine == base or mine.is_relative_to(base) or base.is_relative_to(mine):
            # a user tour: --weights mine -o mine --overwrite replaced the model it started from
            raise OutputError(f"{output} is the base model's folder (--weights {weights}) or holds it; write the "
                              "adapted model to a folder of its own")
    if not output.exists():
        folder = output.resolve().parent
        if not folder.is_dir():
            raise OutputError(f"{output}: folder {folder} does not exist; create it first")
        return
    if not output.is_dir():
        raise OutputError(f"{output} is a file; adapt writes a model folder: give a folder name")
    if not overwrite:
        raise OutputError(f"{output} already exists; pass --overwrite to replace it")
    if Path(video).resolve().is_relative_to(output.resolve()):
        raise OutputError(f"{output} holds the video; write the model to a folder of its own")
    others = sorted(p.name for p in output.iterdir() if p.name not in MODEL_FOLDER_FILES)
    if others:
        raise OutputError(f"{output} holds files that are not an adapted model's ({', '.join(others[:3])}"
                          f"{', ...' if len(others) > 3 else ''}); --overwrite replaces only a folder that "
                          "`omnisync adapt` wrote: give a new folder name")
    if any(output.iterdir()) and not (output / ADAPT_FILE).is_file():  # a model trained or copied by hand
        raise OutputError(f"{output} holds a model that `omnisync adapt` did not write (no {ADAPT_FILE}); "
                          "--overwrite replaces only a folder that `omnisync adapt` wrote: give a new folder name")


@contextlib.contextmanager
def adapting_folder(output: Path) -> Iterator[Path]:
    """A new, locked, hidden folder beside `output` to write the model into before it is renamed
    to `output`, removed on the way out, with the folders of killed runs (unlocked) swept: each
    run its own (a user tour: two adapts to one -o shared `.NAME.adapting`, and tracebacks
    ended the runs that finished second)."""
    partial = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".adapting"))
    lock = os.open(partial, os.O_RDONLY)
    hold_lock(lock)
    try:
        yield partial
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        os.close(lock)
        sweep_unlocked(output.parent, re.compile(re.escape(f".{output.name}.") + r"[a-z0-9_]{8}\.adapting"))


def adapt(analysis: VideoAnalysis, base_weights: Path, out_dir: Path, config: AdaptConfig = AdaptConfig(),
          sampler: SamplerConfig = SamplerConfig(), progress: Progress = SilentProgress(),
          candidate_dir: Path | None = None) -> AdaptReport:
    """Fine-tune a copy of `base_weights` on the analysed video and write it (weights, config,
    card, adaptation.json) to `out_dir` when it validates better; see the module docstring.
    `candidate_dir` (benchmarks): also save the adapted model there, whatever the guard says."""
    base_weights, out_dir = Path(base_weights), Path(out_dir)
    if out_dir.resolve() == base_weights.resolve():
        raise ConfigError(f"{out_dir} holds the base model; write the adapted one elsewhere")
    heard, notice = heard_source(analysis, config)
    if heard is None:
        report = AdaptReport(False, notice, str(out_dir))
        keep_base(base_weights, out_dir, analysis, config, report)
        return report
    base_editor = ModelEditor.from_dir(base_weights, sampler)
    model_config = base_editor.model.config
    try:
        train_pieces, held = read_pieces(analysis, heard, model_config.region_size, config,
                                         model_config.segment_frames)
    except TooShortToAdapt as short:  # as a video without speech: nothing to adapt on, the base dubs
        report = AdaptReport(False, f"{short}: the base model dubs", str(out_dir))
        keep_base(base_weights, out_dir, analysis, config, report)
        return report
    validating = time.perf_counter()
    with progress.stage("validating the base model", None) as advance:
        base = validate(base_editor, held, train_pieces)
        advance(1)
    validate_seconds = time.perf_counter() - validating

    budget = config.steps if config.steps > 0 else config.seconds
    with tempfile.TemporaryDirectory(prefix="omnisync-adapt-") as run, \
            progress.stage(f"adapting the model to {analysis.video.name}", int(np.ceil(budget))) as advance:
        started, done = time.perf_counter(), [0]

        def tick(info) -> None:
            now = int(info.step if config.steps > 0 else time.perf_counter() - started)
            advance(max(0, min(now, int(np.ceil(budget))) - done[0]))
            done[0] = max(done[0], now)
        preset, grown = preset_of(model_config, base_weights)
        train_config = TrainConfig(
            preset=preset, **grown, out_dir=run, init_from=str(base_weights), seed=config.seed,
            sync_loss_weight=sync_weight_for(model_config, config.sync_loss_weight),
            steps=config.steps if config.steps > 0 else 1_000_000,
            max_seconds=0.0 if config.steps > 0 else config.seconds,
            batch_size=config.batch_size, lr=config.lr, warmup_steps=5, lr_schedule="constant",
            pair_threshold=config.pair_threshold, source_start_sigma=config.source_start_sigma,
            loss_weighting="x", mouth_loss_weight=10.0,
            sample_every=0, checkpoint_every=10 ** 9, log_every=5, threads=config.threads,
            device=sampler.device)
        train(train_config, train_pieces, progress=False, on_step=tick)
        summary = json.loads((Path(run) / "training.json").read_text())
        adapted_editor = ModelEditor.from_dir(run, sampler)
        if candidate_dir is not None:
            save_model(adapted_editor.model, Path(candidate_dir))
        validating = time.perf_counter()
        adapted = validate(adapted_editor, held, train_pieces)
        validate_seconds += time.perf_counter() - validating
        report = AdaptReport(False, "", str(out_dir), steps=summary["steps"],
                             train_seconds=summary["wall_time_s"], final_loss=summary["final_loss"],
                             validate_seconds=round(validate_seconds, 2),
                             sync_loss_weight=train_config.sync_loss_weight,
                             base=base, adapted=adapted)
        report.kept, why = guard_verdict(base, adapted)
        if report.kept:
            save_model(adapted_editor.model.cpu(), out_dir)
            report.notice = f"adapted to {analysis.video.name} in {report.train_seconds:.0f} s ({report.steps} steps): {why}"
            write_card(out_dir, analysis, base_weights, config, report)
        else:
            report.notice = f"adaptation to {analysis.video.name} did not pass the guard ({why}): the base model dubs"
            keep_base(base_weights, out_dir, analysis, config, report)
    return report


def keep_base(base_weights: Path, out_dir: Path, analysis: VideoAnalysis, config: AdaptConfig,
              report: AdaptReport) -> None:
    """A copy of the base model in `out_dir`, with the card saying why it was not adapted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(base_weights / name, out_dir / name)
    write_card(out_dir, analysis, base_weights, config, report)


def write_card(out_dir: Path, analysis: VideoAnalysis, base_weights: Path, config: AdaptConfig,
               report: AdaptReport) -> None:
    (out_dir / ADAPT_FILE).write_text(json.dumps({
        "source_video": str(analysis.video), "base_weights": str(base_weights),
        # (the report without its "weights": the folder this file lies in, wherever it is moved)
        "config": asdict(config), "report": {k: v for k, v in report.to_dict().items() if k != "weights"}},
        indent=2) + "\n")
    if not report.kept:
        (out_dir / "README.md").write_text(
            f"# Base model kept for {analysis.video.name}\n\n{report.notice}.\n\n"
            f"These are the weights of `{base_weights}`, unchanged.\n")
        return
    (out_dir / "README.md").write_text(
        f"# Adapted model: {analysis.video.name}\n\n"
        f"Fine-tuned by `omnisync adapt` from `{base_weights}` on the source video `{analysis.video}` "
        f"(its own speech), {report.steps} steps in {report.train_seconds:.0f} s, lr {config.lr}, "
        f"batch {config.batch_size}, pair threshold {config.pair_threshold} (above it the condition is a "
        "stand-in pseudo-pair: the piece's own frames with another moment's mouth), "
        f"sync-expert loss weight {report.sync_loss_weight}.\n\n"
        f"Validation on the last {config.holdout:.0%} of the source (at most {config.max_holdout_seconds:g} s): sync, each held-out piece's audio dubbed onto "
        "another piece's frames and scored by the guard sync expert (never trained against; it decides) and the "
        "bundled one (LSE-C); reconstruction, each held-out piece's stand-in dubbed with its own audio, mouth PSNR "
        "against its true frames; fidelity, each held-out piece re-dubbed with its own audio, mouth PSNR against "
        "itself:\n\n"
        "| model | guard LSE-C | bundled LSE-C | rebuilt mouth PSNR dB | own-audio re-dub mouth PSNR dB |\n"
        "|---|---|---|---|---|\n"
        + "".join(f"| {name} | {v['guard_lse_c']:.3f} | {v['lse_c']:.3f} | {v['mouth_psnr']:.2f} | {v['self_psnr']:.2f} |\n"
                  for name, v in (("base", report.base), ("adapted", report.adapted)))
        + "\n"
        f"Use: `omnisync dub other.mp4 speech.wav -o out.mp4 --weights {out_dir}`\n")


def dub_adapted(video: Path, audio: Path, output: Path, base_weights: Path, sampler: SamplerConfig,
                prompt: str = "", config: AdaptConfig = AdaptConfig(), options: DubOptions = DubOptions(),
                progress: Progress = SilentProgress()) -> tuple[DubReport, AdaptReport]:
    """`dub --adapt`: analyse the video, adapt a copy of the model to it (kept in a temporary
    folder), render the new speech with whichever model validated better."""
    video, audio, output = Path(video), Path(audio), Path(output)
    check_options(options)
    check_paths(video, audio, output, options.overwrite)
    waveform = load_speech(audio)  # a bad speech file fails before tracking and training
    check_base_weights(base_weights)
    analysis = analyse(video, options, progress)
    with tempfile.TemporaryDirectory(prefix="omnisync-adapted-") as folder:
        adapted = adapt(analysis, base_weights, Path(folder) / "model", config, sampler, progress)
        editor = ModelEditor.from_dir(adapted.weights, sampler, prompt)
        dubbed = render(analysis, audio, output, editor, options, progress, waveform)
    return dubbed, adapted
