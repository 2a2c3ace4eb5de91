"""What the benchmark measures on one dubbed clip, and what counts as a success.

A scorer takes a `ScoredClip` (the decoded output, ground truth and source, with the boxes)
and returns named numbers; every number it can return has a `Metric` entry that the report
turns into a column. The sync score (SyncNet-style LSE-C / LSE-D, `bench.sync`) is one more
scorer, `sync_scores(clip)` reading `clip.output_mouths` and `clip.speech`; its recovery R
needs the no-op's and the ground truth's scores of the same clip, which the runner has
(`sync_recovery`).
"""

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.opening import open_opening_meter, pause_frames, true_opening
from omnisync_cli.bench.sync import open_sync_scorer
from omnisync_cli.face.region import RegionBox


@dataclass(frozen=True)
class Metric:
    key: str  # name in results.json
    label: str  # column header
    fmt: str  # format spec of a value
    better: str  # "higher", "lower", or "1" (closest to one)
    about: str  # definition, printed under the table


@dataclass(eq=False)
class ScoredClip:
    """One dubbed clip, frame-aligned: output frame j is the dub at audio time j / fps."""

    output: np.ndarray  # (F, H, W, 3) uint8, the dub
    target: np.ndarray  # (F, H, W, 3) the ground-truth dub (same scene, new utterance)
    source: np.ndarray  # (F, H, W, 3) the source frame each output frame was made from
    mouth_boxes: list[RegionBox]  # ground-truth mouth region of each frame (manifest)
    edit_boxes: list[RegionBox]  # the working region the pipeline tracked (what it may change)
    speech: np.ndarray  # 16 kHz mono waveform the clip was dubbed with
    fps: float
    mouth_rects: np.ndarray | None = None  # (F, 4) true mouth box x0, y0, x1, y1 (corpus v2 manifests)
    utterance: dict | None = None  # the new speech's phonemes and amplitude (synthetic manifests)
    source_quiet: np.ndarray | None = None  # (F,) bool: the source frame shown is in a pause of the old speech

    @cached_property
    def output_mouths(self) -> np.ndarray:
        return metrics.crop_mouths(self.output, self.mouth_boxes)  # (F, 96, 96, 3)

    @cached_property
    def target_mouths(self) -> np.ndarray:
        return metrics.crop_mouths(self.target, self.mouth_boxes)

    @cached_property
    def source_mouths(self) -> np.ndarray:
        return metrics.crop_mouths(self.source, self.mouth_boxes)


Scorer = Callable[[ScoredClip], dict[str, float]]


def picture_scores(clip: ScoredClip) -> dict[str, float]:
    """Mouth and full-frame fidelity to the ground truth, change outside the working region
    against the source, and temporal stability of the mouth (see PICTURE_METRICS)."""
    out_mad, out_psnr = metrics.outside_change(clip.output, clip.source, clip.edit_boxes)
    return {
        "mouth_psnr": metrics.clip_psnr(clip.output_mouths, clip.target_mouths),
        "mouth_ssim": metrics.mean_ssim(clip.output_mouths, clip.target_mouths),
        "frame_psnr": metrics.clip_psnr(clip.output, clip.target),
        "outside_psnr": out_psnr,
        "outside_mad": out_mad,
        "flicker": metrics.flicker_ratio(clip.output_mouths, clip.target_mouths),
        "temporal_error": metrics.temporal_error(clip.output_mouths, clip.target_mouths),
        "change_r": metrics.change_correlation(clip.output_mouths, clip.target_mouths,
                                               clip.source_mouths),
        "edit_cosine": metrics.edit_cosine(clip.output_mouths, clip.target_mouths, clip.source_mouths),
    }


def edit_location_scores(clip: ScoredClip) -> dict[str, float]:
    """Where the edit landed: the share of it inside the true mouth box grown by half its size."""
    if clip.mouth_rects is None:
        return {}
    share = metrics.edit_share(clip.output, clip.source, clip.mouth_rects, grow=0.5)
    return {} if share is None else {"edit_on_mouth": share}


LOCATION_METRICS: tuple[Metric, ...] = (
    Metric("edit_on_mouth", "edit on mouth", ".3f", "higher",
           "share of the edit (per-pixel change vs the source above the re-encode's noise, "
           "weighted by its size) inside the true mouth box grown by half its size; "
           "1 = the whole edit is on the mouth"),
)

PICTURE_METRICS: tuple[Metric, ...] = (
    Metric("mouth_psnr", "mouth PSNR", ".2f", "higher",
           "PSNR (dB) of the ground-truth mouth region (side = face width, resampled to 96 px) "
           "of the output vs the ground-truth dub, from the MSE over all frames"),
    Metric("mouth_ssim", "mouth SSIM", ".4f", "higher",
           "SSIM (Gaussian 11x11, sigma 1.5) of the same crops, mean over frames"),
    Metric("frame_psnr", "frame PSNR", ".2f", "higher",
           "PSNR (dB) of the whole frame vs the ground-truth dub, from the MSE over all frames"),
    Metric("outside_psnr", "outside PSNR", ".1f", "higher",
           "PSNR (dB) vs the SOURCE over the pixels outside the tracked working region "
           "(the re-encode's loss only; capped at 100)"),
    Metric("outside_mad", "outside MAD", ".3f", "lower",
           "mean abs difference (8-bit levels) vs the source over the same pixels; ~0"),
    Metric("flicker", "flicker", ".3f", "1",
           "mean abs frame-to-frame change of the output's mouth crops / the ground truth's: "
           "1 = as lively as the truth, > 1 flicker or jitter, < 1 a frozen mouth"),
    Metric("temporal_error", "temp. err", ".2f", "lower",
           "mean abs difference (8-bit levels) of the output's and the truth's frame-to-frame "
           "changes of the mouth crops: 0 = moves exactly like the truth"),
    Metric("change_r", "change r", ".3f", "higher",
           "Pearson r over frames of the output's and the truth's per-frame mouth difference "
           "from the source: 1 = changes the mouth exactly where the new speech needs it, "
           "~0 = ignores the speech (the no-op)"),
    Metric("edit_cosine", "edit cos", ".3f", "higher",
           "cosine over all mouth pixels of the output's and the truth's change from the source: "
           "1 = the needed change at some strength, ~0 = unrelated (blur); at the best strength "
           "the edit beats the no-op by at most -10 log10(1 - cos^2) dB (+2 dB needs 0.61)"),
)

def sync_scores(clip: ScoredClip) -> dict[str, float]:
    """The sync expert's LSE-D, LSE-C and best offset (frames, either way) of the output's mouths against the
    speech (`bench.sync`; the expert in $OMNISYNC_SYNC_EXPERT or the bundled one)."""
    return mouth_sync_scores(clip.output_mouths, clip.speech, clip.fps)


def mouth_sync_scores(mouths: np.ndarray, speech: np.ndarray, fps: float) -> dict[str, float]:
    """LSE scores of (F, S, S, 3) face-width mouth crops against a 16 kHz waveform; {} when
    the clip is shorter than one video window of the expert."""
    scorer = open_sync_scorer(os.environ.get("OMNISYNC_SYNC_EXPERT", ""))
    if len(mouths) < scorer.config.frames:
        return {}
    score = scorer.score(mouths, speech, fps)
    return {"lse_c": score.lse_c, "lse_d": score.lse_d, "sync_offset": float(abs(score.offset))}


def sync_recovery(out: dict, noop: dict, truth: dict) -> dict[str, float]:
    """{"sync_r": (S_out - S_noop) / (S_gt - S_noop)} with S = LSE-C: 0 = the no-op's sync,
    1 = the ground truth's; {} when a score is missing or the truth is no surer than the no-op."""
    keys = [d.get("lse_c") for d in (out, noop, truth)]
    if any(k is None for k in keys) or keys[2] - keys[1] <= SYNC_R_MIN_GAP:
        return {}
    return {"sync_r": (keys[0] - keys[1]) / (keys[2] - keys[1])}


# Below this LSE-C gap between ground truth and no-op the ratio R is noise, not a measure.
SYNC_R_MIN_GAP = 1e-3

SYNC_METRICS: tuple[Metric, ...] = (
    Metric("lse_c", "LSE-C", ".3f", "higher",
           "sync confidence of the sync expert (weights/sync-expert): median minus minimum over "
           "offsets of +-15 frames of the mean mouth-audio embedding distance"),
    Metric("lse_d", "LSE-D", ".3f", "lower",
           "the minimum itself: mean distance of mouth and audio embeddings at the best offset"),
    Metric("sync_offset", "|offset|", ".1f", "lower",
           "frames of audio shift (either way) at the minimum: 0 = in sync"),
    Metric("sync_r", "sync R", ".3f", "1",
           "sync recovery (LSE-C_out - LSE-C_noop) / (LSE-C_truth - LSE-C_noop): 0 = no-op, 1 = ground truth"),
)


def opening_scores(clip: ScoredClip) -> dict[str, float]:
    """The output mouth's opening (the opening meter, `bench.opening`; the meter in
    $OMNISYNC_OPENING_METER or the bundled one) against the opening that drew the truth:
    their correlation over the clip, and the mean opening inside the new speech's pauses
    against outside them. {} without a synthetic utterance in the manifest."""
    if not clip.utterance or "phonemes" not in clip.utterance:
        return {}
    opening = open_opening_meter(os.environ.get("OMNISYNC_OPENING_METER", "")).measure(clip.output_mouths)
    n = len(opening)
    truth = true_opening(clip.utterance, clip.fps, n)
    quiet = pause_frames(clip.utterance, clip.fps, n)
    scores = {}
    if truth.std() > 1e-3 and opening.std() > 1e-6:
        scores["open_r"] = float(np.corrcoef(opening, truth)[0, 1])
    if quiet.sum() >= 3 and (~quiet).sum() >= 3:
        scores["silence_open"] = float(opening[quiet].mean())
        scores["speech_open"] = float(opening[~quiet].mean())
        if scores["speech_open"] > MIN_SPEECH_OPENING:
            scores["silence_ratio"] = scores["silence_open"] / scores["speech_open"]
    if clip.source_quiet is not None:
        woken = clip.source_quiet[:n] & ~quiet  # the old speech was silent there, the new one is not
        if woken.sum() >= 3:
            scores["woken_open"] = float(opening[woken].mean())
        hushed = quiet & ~clip.source_quiet[:n]  # the new speech is silent there, the old one was not
        if hushed.sum() >= 3:
            scores["hushed_open"] = float(opening[hushed].mean())
    return scores


# Below this mean opening in speech the mouth barely moves and a silence ratio means nothing.
MIN_SPEECH_OPENING = 0.05

OPENING_METRICS: tuple[Metric, ...] = (
    Metric("open_r", "open r", ".3f", "higher",
           "Pearson r over frames of the output mouth's opening (opening meter) and the opening "
           "that drew the ground truth: 1 = opens exactly with the new speech, ~0 = ignores it"),
    Metric("speech_open", "open in speech", ".3f", "higher",
           "mean opening (meter; 0 closed, ~1 wide) outside the new speech's pauses"),
    Metric("silence_open", "open in silence", ".3f", "lower",
           "mean opening inside the new speech's pauses of 0.3 s or more (0.1 s margins)"),
    Metric("silence_ratio", "silence / speech", ".2f", "lower",
           "opening in silence / opening in speech: ~0 = closes in silence, 1 = keeps talking"),
    Metric("woken_open", "open where only new speech", ".3f", "higher",
           "mean opening on frames where the source was in a pause of its own speech and the new "
           "speech is not: the no-op's mouth is shut there, a dub's should move"),
    Metric("hushed_open", "open where only old speech", ".3f", "lower",
           "mean opening on frames in a pause of the new speech where the source was speaking: "
           "the no-op's mouth talks there, a dub's should close (the model's part of the silence "
           "figures; where both speeches pause the dub keeps the source)"),
)

DEFAULT_SCORERS: tuple[Scorer, ...] = (picture_scores, edit_location_scores, sync_scores, opening_scores)
DEFAULT_METRICS: tuple[Metric, ...] = PICTURE_METRICS + LOCATION_METRICS + SYNC_METRICS + OPENING_METRICS


@dataclass(frozen=True)
class SuccessRule:
    """A clip passes when the dub finished and it did not make the picture worse than
    leaving the video alone: its mouth PSNR is at most `max_mouth_drop_db` below that of the
    no-op dub of the same clip (the source re-encoded with the new audio) and nothing
    outside the working region changed beyond the re-encode (where the region leaves any
    pixel outside it: a close-up whose region covers the frame has no outside figure)."""

    # 1 dB is about the smallest PSNR drop that shows side by side on these crops.
    max_mouth_drop_db: float = 1.0
    # The writer's default quality keeps untouched pixels at ~45-48 dB; 40 leaves slack.
    min_outside_psnr_db: float = 40.0

    def passes(self, scores: dict[str, float], noop_mouth_psnr: float) -> bool:
        outside = scores.get("outside_psnr")
        return (scores["mouth_psnr"] >= noop_mouth_psnr - self.max_mouth_drop_db
                and (outside is None or math.isnan(outside) or outside >= self.min_outside_psnr_db))
