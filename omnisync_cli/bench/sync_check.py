"""How good the sync expert is, measured on a corpus's benchmark split (held-out style families).

    clips = load_sync_clips("corpus/")            # ground-truth mouths + speech, no-op mouths
    acc = window_accuracy(scorer, clips)           # in sync vs shifted / other clip, per group
    table = reference_table(scorer, clips)         # LSE-C / LSE-D of ground truth and no-op

A benchmark clip's target.mp4 is in sync with speech.wav by construction (the ground-truth
dub); its source.mp4, re-timed by the dub's own length rule, played with speech.wav is the
no-op. Mouth crops are the benchmark's own (`metrics.crop_mouths` of the manifest boxes).
"""

from dataclasses import dataclass

import numpy as np
import torch

from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import BenchClip, load_manifest, read_video
from omnisync_cli.bench.sync import SyncScorer, audio_windows, mouth_windows, stack_windows, summarise_distances
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.timeline import plan_source_frames

MIN_SHIFT = 3  # frames: nearer shifts overlap the true window too much to count as "off sync"
SEGMENT = 15   # windows per segment (0.5-0.6 s): SyncNet averages over such a context too


@dataclass
class SyncClip:
    id: str
    group: str
    fps: float
    target: np.ndarray  # (F, 96, 96, 3) ground-truth mouth crops, in sync with `speech`
    noop: np.ndarray    # (F, 96, 96, 3) source mouth crops re-timed to the speech (the no-op dub)
    speech: np.ndarray  # 16 kHz mono


def load_sync_clip(clip: BenchClip) -> SyncClip:
    source, times = read_video(clip.source)
    target, _ = read_video(clip.target)
    speech = load_audio(clip.speech)
    plan = plan_source_frames(times, clip.fps, len(source) / clip.fps, len(speech) / SAMPLE_RATE, DubOptions().extend)
    n = min(len(target), len(plan), len(clip.face_width))
    boxes = metrics.mouth_boxes(clip.mouth_xy[:n], clip.face_width[:n])
    # The no-op shows source frame plan[j] at output frame j; its mouth is where the manifest
    # puts the source's (the same head track: source and target share the scene).
    return SyncClip(id=clip.id, group=clip.group, fps=clip.fps,
                    target=metrics.crop_mouths(target[:n], boxes),
                    noop=metrics.crop_mouths(source[plan[:n]], [boxes[min(int(k), n - 1)] for k in plan[:n]]),
                    speech=speech)


def load_sync_clips(corpus_dir, groups: tuple[str, ...] | None = None) -> list[SyncClip]:
    """Every benchmark clip of `corpus_dir` (of `groups`, if given), decoded and cropped."""
    return [load_sync_clip(c) for c in load_manifest(corpus_dir) if groups is None or c.group in groups]


def window_accuracy(scorer: SyncScorer, clips: list[SyncClip], seed: int = 0) -> dict[str, dict[str, float]]:
    """Per style group (and "all"): for every 5-frame window of the ground truth,
    `shift`: share of (window, shift) pairs, 3 <= |shift| <= max_offset, where the in-sync audio
    is nearer than the shifted audio; `other`: share of windows where it is nearer than another
    clip's speech at the same time; `*_speech`: the same over the windows that hold speech
    (in a pause, silence shifted is still silence: no expert can tell); `segment_*`: the same
    decisions on mean distances over SEGMENT consecutive windows of speech (at least half of
    them speaking), per (segment, shift) and per segment; `offset_ok`: share of
    clips whose best offset is within +-1 frame of 0; `windows`, `speech_windows`: counts."""
    cfg = scorer.config
    rng = np.random.default_rng(seed)
    half, k = cfg.frames // 2, cfg.max_offset
    feats = [scorer.features(c.speech) for c in clips]
    rows: dict[str, list] = {}
    for i, clip in enumerate(clips):
        mouths = mouth_windows(clip.target, None, cfg)
        centres = np.arange(len(mouths) - cfg.frames + 1) + half
        other = feats[(i + 1 + int(rng.integers(len(clips) - 1))) % len(clips)] if len(clips) > 1 else feats[i]
        with torch.no_grad():
            video = scorer.expert.embed_video(stack_windows(mouths, centres - half, cfg.frames))  # (N, D)
            audio = scorer.expert.embed_audio(audio_windows(feats[i], np.arange(-k, len(mouths) + k), clip.fps, cfg))
            wrong = scorer.expert.embed_audio(audio_windows(other, centres, clip.fps, cfg))
        d = torch.cdist(video, audio).numpy()  # (N, F + 2K): column j is audio frame j - K
        true = d[np.arange(len(centres)), centres + k]
        shifts = [s for s in range(-k, k + 1) if abs(s) >= MIN_SHIFT]
        shifted = np.stack([d[np.arange(len(centres)), centres + k + s] for s in shifts], 1)  # (N, S)
        dists = np.array([d[np.arange(len(centres)), centres + k + s].mean() for s in range(-k, k + 1)])
        score = summarise_distances(dists, k)
        other_d = torch.linalg.vector_norm(video - wrong, dim=-1).numpy()  # (N,)
        shift_ok = (true[:, None] < shifted).mean(1)  # (N,)
        other_ok = true < other_d
        speech = speaking(clip.speech, centres, clip.fps, cfg.frames)
        # Segments of SEGMENT consecutive windows with speech in most of them: mean distances.
        segs = [np.arange(a, a + SEGMENT) for a in range(0, len(centres) - SEGMENT + 1, SEGMENT)]
        segs = [g for g in segs if speech[g].mean() >= 0.5]
        seg_shift = [float((true[g].mean() < shifted[g].mean(0)).mean()) for g in segs]
        seg_other = [float(true[g].mean() < other_d[g].mean()) for g in segs]
        row = (shift_ok, other_ok, speech, float(abs(score.offset) <= 1), seg_shift, seg_other)
        for key in dict.fromkeys((clip.group, "seen" if clip.group == "seen" else "heldout", "all")):
            rows.setdefault(key, []).append(row)
    table = {}
    for group, rs in rows.items():
        shift_ok, other_ok, speech = (np.concatenate([r[k] for r in rs]) for k in range(3))
        table[group] = {"shift": round(float(shift_ok.mean()), 4), "other": round(float(other_ok.mean()), 4),
                        "shift_speech": round(float(shift_ok[speech].mean()), 4) if speech.any() else None,
                        "other_speech": round(float(other_ok[speech].mean()), 4) if speech.any() else None,
                        "segment_shift": _mean([x for r in rs for x in r[4]]),
                        "segment_other": _mean([x for r in rs for x in r[5]]),
                        "segments": sum(len(r[4]) for r in rs),
                        "offset_ok": round(float(np.mean([r[3] for r in rs])), 4),
                        "clips": len(rs), "windows": int(len(shift_ok)), "speech_windows": int(speech.sum())}
    return table


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def speaking(speech: np.ndarray, centres: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """(N,) bool: the window of `frames` frames around each centre holds speech, i.e. its
    loudest 20 ms has an RMS above a tenth of the clip's loud level (95th percentile)."""
    hop = SAMPLE_RATE // 50
    n = max(1, len(speech) // hop)
    rms = np.sqrt((np.asarray(speech[:n * hop], np.float64).reshape(n, hop) ** 2).mean(1)) if len(speech) >= hop \
        else np.zeros(1)
    loud = np.percentile(rms, 95)
    half = frames / 2 / fps
    out = np.zeros(len(centres), bool)
    for i, c in enumerate(centres):
        a, b = int((c / fps - half) * 50), int(np.ceil((c / fps + half) * 50))
        seg = rms[max(0, a):max(0, min(n, b))]
        out[i] = seg.size > 0 and seg.max() > 0.1 * loud
    return out


def reference_scores(scorer: SyncScorer, clip: SyncClip) -> dict[str, dict[str, float]]:
    """LSE-D, LSE-C and offset of the ground truth and of the no-op, against the new speech."""
    feats = scorer.features(clip.speech)
    out = {}
    for name, crops in (("target", clip.target), ("noop", clip.noop)):
        s = scorer.score(crops, feats, clip.fps)
        out[name] = {"lse_d": round(s.lse_d, 4), "lse_c": round(s.lse_c, 4), "offset": s.offset}
    return out


def reference_table(scorer: SyncScorer, clips: list[SyncClip]) -> dict[str, dict[str, float]]:
    """Mean ground-truth and no-op LSE-C / LSE-D per style group, all held-out ones and all;
    `target_above_noop`: share of clips whose ground truth has the higher LSE-C."""
    per = [(c.group, reference_scores(scorer, c)) for c in clips]
    table = {}
    for group in sorted({g for g, _ in per}) + ["heldout", "all"]:
        rs = [r for g, r in per if group in (g, "all") or (group == "heldout" and g != "seen")]
        if not rs:
            continue
        table[group] = {f"{who}_{key}": round(float(np.mean([r[who][key] for r in rs])), 4)
                        for who in ("target", "noop") for key in ("lse_c", "lse_d")}
        table[group]["target_offset_ok"] = round(float(np.mean([abs(r["target"]["offset"]) <= 1 for r in rs])), 4)
        table[group]["target_above_noop"] = round(float(np.mean([r["target"]["lse_c"] > r["noop"]["lse_c"] for r in rs])), 4)
        table[group]["clips"] = len(rs)
    return table
