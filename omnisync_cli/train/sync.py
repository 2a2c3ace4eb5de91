"""Training the sync expert (`bench.sync`) contrastively on a corpus's training shards.

    train_sync(SyncTrainConfig(corpus="corpus/", out_dir="runs/sync", steps=6000))

Each step draws `batch_size` video windows (5 mouth crops of one rendering of a clip) and,
for each, three audio windows: the one in sync, the same track shifted by 2..15 frames,
and the clip's other rendering at the same time (same face, same scene, another
utterance: the hardest "other clip"). An InfoNCE loss pulls every video window to its
in-sync audio and away from all other audio of the batch (and the reverse direction over
the in-sync pairs). Colour, flip and small shifts are randomised per window so that the
expert looks at mouth motion, not at the palette of the training families.

Corpus shards hold only the training style families, so every held-out family is unseen;
`val_corpus` (a corpus's benchmark split) is measured at each checkpoint.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from omnisync_cli.bench.sync import (SyncConfig, SyncExpert, audio_windows, mouth_windows, save_sync_expert,
                                     stack_windows)
from omnisync_cli.data.shards import CorpusReader
from omnisync_cli.model.audio import AudioFeatures, build_audio_frontend
from omnisync_cli.stopping import stop_requested
from omnisync_cli.train.checkpoint import (check_run_kind, check_same_settings, load_checkpoint, other_run,
                                          save_checkpoint)

MIN_SHIFT = 2  # frames: the nearest shift trained as off-sync


@dataclass(frozen=True)
class SyncTrainConfig:
    corpus: str | tuple[str, ...]  # corpus folder(s) with training shards (`omnisync synth`)
    out_dir: str                  # run folder: checkpoint.pt, training.json, final weights
    steps: int = 5000             # optimizer steps in total (resumes from the checkpoint)
    batch_size: int = 64          # video windows per step
    lr: float = 1e-3              # AdamW peak learning rate (warm-up, cosine to 0)
    temperature: float = 0.07     # InfoNCE temperature on cosine similarities
    max_clips: int = 0            # clips read from each corpus (0 = all)
    val_corpus: str = ""          # corpus whose benchmark split is measured at checkpoints ("" = none)
    checkpoint_every: int = 500   # steps between checkpoints (and validation)
    seed: int = 0
    threads: int = 1              # torch threads (0 = the library default)
    model: SyncConfig = field(default_factory=SyncConfig)


# What a resumed run may change; any other setting differs from the checkpoint's run: an error.
SYNC_RESUME_MAY_CHANGE = {"steps", "out_dir", "threads", "checkpoint_every", "val_corpus", "corpus"}


def run_settings(cfg: SyncTrainConfig) -> dict:
    """The settings a checkpoint records (JSON types), less those a resume may change."""
    return {k: v for k, v in json.loads(json.dumps(asdict(cfg))).items() if k not in SYNC_RESUME_MAY_CHANGE}


@dataclass
class SyncData:
    """Per rendering: mouth crops (F, P, P, 3) uint8, its audio features, fps."""

    mouths: list[np.ndarray]
    features: list[AudioFeatures]
    fps: list[float]
    partner: list[int]  # index of another rendering of the same clip (itself if none)


def load_sync_data(sources: list, model: SyncConfig, max_clips: int = 0, say=print) -> SyncData:
    """Read the clips of `sources` (`CorpusReader`s or any train `ClipSource`s; `max_clips`
    of each, 0 = all) once: mouth crops around the true mouth and the audio frontend's
    features of every rendering."""
    frontend = build_audio_frontend(model)
    data = SyncData([], [], [], [])
    started = time.perf_counter()
    for source in sources:
        count = len(source) if max_clips <= 0 else min(max_clips, len(source))
        for i in range(count):
            clip = source.load(i)
            first = len(data.mouths)
            renderings = len(clip.crops)
            for r in range(renderings):
                data.mouths.append(mouth_windows(clip.crops[r], clip.mouth_xy[r], model))
                data.features.append(frontend.features(clip.waveforms[r]))
                data.fps.append(clip.fps)
                data.partner.append(first + (r + 1) % renderings)
            if (i + 1) % 50 == 0:
                say(f"read {i + 1}/{count} clips ({time.perf_counter() - started:.0f} s)")
    return data


def augment(x: torch.Tensor, frames: int, rng: np.random.Generator) -> torch.Tensor:
    """Per window, the same for all its frames: colour channel order, gain and offset,
    sometimes grey, a horizontal flip and a shift of up to 3 px. x: (N, frames * 3, P, P)."""
    n, _, p, _ = x.shape
    x = x.reshape(n, frames, 3, p, p)  # (N, frames, 3, P, P)
    perm = torch.from_numpy(np.stack([rng.permutation(3) for _ in range(n)]))  # (N, 3)
    x = torch.gather(x, 2, perm[:, None, :, None, None].expand_as(x))
    grey = torch.from_numpy(rng.random(n) < 0.2)
    x = torch.where(grey[:, None, None, None, None], x.mean(2, keepdim=True).expand_as(x), x)
    gain = torch.from_numpy(rng.uniform(0.6, 1.4, (n, 1, 3, 1, 1)).astype(np.float32))
    offset = torch.from_numpy(rng.uniform(-0.2, 0.2, (n, 1, 1, 1, 1)).astype(np.float32))
    x = ((x - 0.5) * gain + 0.5 + offset).clamp(0, 1)
    flip = torch.from_numpy(rng.random(n) < 0.5)
    x = torch.where(flip[:, None, None, None, None], x.flip(-1), x)
    out = torch.empty_like(x)
    for b, (dx, dy) in enumerate(rng.integers(-3, 4, (n, 2))):
        out[b] = torch.roll(x[b], (int(dy), int(dx)), dims=(-2, -1))
    return out.reshape(n, frames * 3, p, p)


def draw_batch(data: SyncData, cfg: SyncTrainConfig, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Video windows (B, frames * 3, P, P) and audio windows (3B, W, C): in sync first, then
    shifted, then the partner rendering's (row b of each third belongs to video window b)."""
    m = cfg.model
    half = m.frames // 2
    videos, sync, shifted, partner = [], [], [], []
    for r in rng.integers(0, len(data.mouths), cfg.batch_size):
        mouths, fps = data.mouths[r], data.fps[r]
        c = int(rng.integers(half, len(mouths) - half))
        s = int(rng.integers(MIN_SHIFT, m.max_offset + 1)) * (1 if rng.random() < 0.5 else -1)
        videos.append(stack_windows(mouths, np.array([c - half]), m.frames))
        sync.append(audio_windows(data.features[r], np.array([c]), fps, m))
        shifted.append(audio_windows(data.features[r], np.array([c + s]), fps, m))
        partner.append(audio_windows(data.features[data.partner[r]], np.array([c]), fps, m))
    video = augment(torch.cat(videos), m.frames, rng)
    return video, torch.cat(sync + shifted + partner)


def info_nce(video: torch.Tensor, audio: torch.Tensor, temperature: float) -> torch.Tensor:
    """Video b's positive is audio b (of 3B candidates); plus audio b -> video b over the B positives."""
    b = video.shape[0]
    logits = video @ audio.T / temperature  # (B, 3B)
    target = torch.arange(b, device=video.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits[:, :b].T, target))


def pair_accuracy(video: torch.Tensor, audio: torch.Tensor) -> float:
    """Share of windows whose in-sync audio is nearer than both its shifted and partner audio."""
    b = video.shape[0]
    d = torch.linalg.vector_norm(video[:, None] - audio.reshape(3, b, -1).transpose(0, 1), dim=-1)  # (B, 3)
    return float(((d[:, 0] < d[:, 1]) & (d[:, 0] < d[:, 2])).float().mean())


def validate(expert: SyncExpert, val_corpus: str, clips_cache: dict) -> dict:
    """Window accuracy on the benchmark split of `val_corpus` (its clips decoded once)."""
    from omnisync_cli.bench.sync import SyncScorer
    from omnisync_cli.bench.sync_check import load_sync_clips, window_accuracy
    if "clips" not in clips_cache:
        clips_cache["clips"] = load_sync_clips(val_corpus)
    expert.eval()
    acc = window_accuracy(SyncScorer(expert), clips_cache["clips"])
    expert.train()
    return acc


def train_sync(cfg: SyncTrainConfig, say=print) -> Path:
    """Train (or resume) and write the expert's weights, config and training.json to `out_dir`."""
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    started = time.perf_counter()
    corpora = [cfg.corpus] if isinstance(cfg.corpus, str) else list(cfg.corpus)
    data = load_sync_data([CorpusReader(c) for c in corpora], cfg.model, cfg.max_clips, say)
    say(f"{len(data.mouths)} renderings read in {time.perf_counter() - started:.0f} s")
    expert = SyncExpert(cfg.model, data.features[0].values.shape[1])
    opt = torch.optim.AdamW(expert.parameters(), lr=cfg.lr, weight_decay=1e-4)
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine to zero
        opt, lambda k: min(1.0, (k + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(k, cfg.steps) / cfg.steps)))
    step, log, spent = 0, [], 0.0
    ckpt = out / "checkpoint.pt"
    if ckpt.is_file():
        state = load_checkpoint(ckpt)
        check_run_kind(out, state, ("model", "optimizer", "scheduler", "step", "log", "seconds"), "train-sync")
        if "sampler" in state:  # a localiser run's, which keeps the same keys and more
            raise other_run(out, "train-sync")
        saved = json.loads(state["settings"]) if "settings" in state else None  # older runs did not record them
        check_same_settings(out, saved, run_settings(cfg))
        try:
            expert.load_state_dict(state["model"])
        except RuntimeError:  # another network's weights under the same keys
            raise other_run(out, "train-sync") from None
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, log, spent = int(state["step"]), json.loads(state["log"]), float(state["seconds"])
        say(f"resumed at step {step}")
    rng = np.random.default_rng([cfg.seed, step])
    val_cache: dict = {}
    tick = time.perf_counter()
    def checkpoint() -> None:
        save_checkpoint(ckpt, {"model": expert.state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "step": step, "log": json.dumps(log),
                               "seconds": spent + time.perf_counter() - tick, "settings": json.dumps(run_settings(cfg))})
        save_sync_expert(expert.eval(), out)
        expert.train()

    expert.train()
    with stop_requested() as stop:  # a stop signal ends the run at the next step, checkpointed
        while step < cfg.steps and stop.signal is None:
            video, audio = draw_batch(data, cfg, rng)
            v, a = expert.embed_video(video), expert.embed_audio(audio)
            loss = info_nce(v, a, cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == cfg.steps:
                seconds = spent + time.perf_counter() - tick
                entry = {"step": step, "loss": round(loss.item(), 4),
                         "pair_acc": round(pair_accuracy(v.detach(), a.detach()), 3), "seconds": round(seconds, 1)}
                log.append(entry)
                say(f"step {step}/{cfg.steps} loss {entry['loss']:.4f} batch acc {entry['pair_acc']:.3f} ({seconds:.0f} s)")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                if cfg.val_corpus:
                    log.append({"step": step, "val": validate(expert, cfg.val_corpus, val_cache)})
                    say(f"step {step} held-out: {json.dumps(log[-1]['val'].get('heldout', log[-1]['val'].get('all')))}")
                checkpoint()
        if stop.signal is not None:
            checkpoint()
            say(f"stopped at step {step}; the same command resumes the run")
    stop.raise_if_asked()
    doc = {"config": asdict(cfg), "renderings": len(data.mouths), "log": log,
           "train_seconds": round(spent + time.perf_counter() - tick, 1), "threads": torch.get_num_threads()}
    (out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
    return save_sync_expert(expert.eval(), out)
