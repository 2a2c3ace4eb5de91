"""Training the mouth localiser on corpus-v2 frames drawn on the fly from the training seed space.

    train_localiser(LocaliserTrainConfig(out_dir="runs/loc", samples=8000, steps=3000))

Each sample is one frame of a random training identity (seen style families only) in a
random framing, with a random mouth shape; some frames hold other characters (every mouth
is a positive: which one speaks is decided later, from the audio), some hold no character
at all, and some are close crops around the mouth at the scale of the localiser's
refinement look. Samples are rendered once into memory by worker processes, then the
network trains on them with flips for `steps` steps (penalty-reduced focal loss on the heat
map, L1 on the offsets and the log face width at each mouth).

Every `checkpoint_every` steps, and when a stop signal arrives, the run writes
`out_dir/checkpoint.pt` (network, optimizer, schedule, sampler state) beside the weights; the
same command resumes it from there after a kill or a stop, rendering the same samples again
from the seed (a changed setting other than `steps`, `workers` or `threads` is refused).
"""

import json
import math
import multiprocessing
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from omnisync_cli.data.captions import draw_caption
from omnisync_cli.data.corpus import TRAIN, ClipJob, CorpusConfig, character_for, draw_framing
from omnisync_cli.data.scene import make_scene, render_scene
from omnisync_cli.errors import ConfigError
from omnisync_cli.stopping import stop_requested
from omnisync_cli.train.checkpoint import (CHECKPOINT_FILE, check_run_kind, check_same_settings, load_checkpoint,
                                          save_checkpoint)
from omnisync_cli.face.localiser import REFINE_FACES, STRIDE, LocaliserConfig, _crop, letterbox
from omnisync_cli.face.localiser_net import LocaliserNet, load_localiser_net, save_localiser

EMPTY_SHARE = 0.1   # frames with no character at all
CLOSE_SHARE = 0.3   # close crops around the speaker's mouth


@dataclass(frozen=True)
class LocaliserTrainConfig:
    out_dir: str
    samples: int = 8000
    steps: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    workers: int = 2
    threads: int = 2
    model: LocaliserConfig = LocaliserConfig()
    init_from: str | None = None  # start from these localiser weights (a fine-tune) instead of fresh ones
    captions: float = 0.0  # share of frames with burned-in text (data.captions), never over a mouth
    wide_mouths: float = 0.0  # share of characters with a mouth 0.4-0.9 of the head wide (CorpusConfig)
    slit_eyes: float = 0.0  # share of characters with slit-pupil eyes, much like closed mouths (CorpusConfig)
    checkpoint_every: int = 500  # steps between checkpoints (weights and checkpoint.pt)


# Settings a resumed run may change; any other change would make it another run.
RESUME_MAY_CHANGE = {"out_dir", "steps", "workers", "threads", "checkpoint_every"}


def run_settings(cfg: LocaliserTrainConfig) -> dict:
    """The settings a checkpoint records (JSON types), less those a resume may change."""
    return {k: v for k, v in json.loads(json.dumps(asdict(cfg))).items() if k not in RESUME_MAY_CHANGE}


def render_scene_frame(rng: np.random.Generator, job: ClipJob, empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One full frame of `job`'s character (sometimes with others) in a random framing, or of its
    scene without any character (`empty`); returns it and every mouth (K, 3): x, y, face width."""
    corpus = job.config
    character = character_for(job)
    framing = draw_framing(rng, corpus)
    extras = []
    if rng.random() < 0.2:
        for k in range(int(rng.integers(1, 3))):
            extras.append((character_for(job, extra=k + 1), rng.uniform(0, 1, (1, 5)).astype(np.float32)))
    scene = make_scene(character, int(rng.integers(1 << 62)), 25.0, 1, 0, framing, tuple(extras))
    if empty:
        spec = scene.frame_spec(0)
        frame = np.clip(spec.background * spec.light + (0 if spec.noise is None else spec.noise), 0, 255)
        return frame.astype(np.uint8), np.zeros((0, 3), np.float32)
    shape = rng.uniform(0, 1, (1, 5)).astype(np.float32) * np.float32([rng.uniform(0.2, 1.0), 1, 1, 1, 1])
    clip = render_scene(scene, shape)
    mouths = [(*clip.mouth_xy[0], clip.face_width[0])]
    if clip.others is not None:
        mouths += [tuple(o) for o in clip.others[0]]
    return clip.frames[0], np.asarray(mouths, np.float32)


def render_sample(seed: int, size: int, corpus: CorpusConfig = CorpusConfig(),
                  captions: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One training sample of side `size` and its mouths (K, 3): x, y, face width in its px;
    with burned-in text on a `captions` share of the frames (its own random stream: the rest of
    the sample is the same with or without)."""
    rng = np.random.default_rng([seed, 77])
    job = ClipJob(TRAIN, "seen", int(rng.integers(1 << 30)), 0, corpus)
    kind = rng.random()
    frame, mouths = render_scene_frame(rng, job, empty=kind < EMPTY_SHARE)
    text_rng = np.random.default_rng([seed, 78])
    if text_rng.random() < captions:
        frame = draw_caption(text_rng, frame, mouths)
    mouths = mouths.astype(np.float64)
    if len(mouths) and kind < EMPTY_SHARE + CLOSE_SHARE:  # a close look, like the refinement pass
        x, y, fw = mouths[0]
        side = fw * rng.uniform(0.6, 1.6) * REFINE_FACES
        cx, cy = x + rng.uniform(-0.3, 0.3) * side, y + rng.uniform(-0.3, 0.3) * side
        image = _crop(frame, cx, cy, side, size)
        k = size / side
        mouths[:, 0], mouths[:, 1], mouths[:, 2] = (mouths[:, 0] - cx) * k + size / 2, \
            (mouths[:, 1] - cy) * k + size / 2, mouths[:, 2] * k
    else:
        image, scale, ox, oy = letterbox(frame, size)
        mouths[:, :3] *= scale
        mouths[:, 0] += ox
        mouths[:, 1] += oy
    inside = (mouths[:, 0] >= 0) & (mouths[:, 0] < size) & (mouths[:, 1] >= 0) & (mouths[:, 1] < size)
    return image, mouths[inside].astype(np.float32)


def _render(args):
    cv2.setNumThreads(1)
    return render_sample(*args)


def render_samples(count: int, size: int, seed: int, workers: int, captions: float = 0.0,
                   wide_mouths: float = 0.0, slit_eyes: float = 0.0) -> tuple[np.ndarray, list[np.ndarray]]:
    corpus = CorpusConfig(wide_mouth_share=wide_mouths, slit_eye_share=slit_eyes)
    jobs = [(seed * 1_000_003 + i, size, corpus, captions) for i in range(count)]
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            out = pool.map(_render, jobs, chunksize=16)
    else:
        out = [_render(j) for j in jobs]
    return np.stack([o[0] for o in out]), [o[1] for o in out]


def targets(mouths: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heat maps (B, H, W), regression targets (B, H, W, 3) and their mask (B, H, W) at stride 4."""
    n = size // STRIDE
    heat = np.zeros((len(mouths), n, n), np.float32)
    reg = np.zeros((len(mouths), n, n, 3), np.float32)
    mask = np.zeros((len(mouths), n, n), np.float32)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
    for b, ms in enumerate(mouths):
        for x, y, fw in ms:
            gx, gy = x / STRIDE, y / STRIDE
            sigma = max(0.8, 0.08 * fw / STRIDE)
            heat[b] = np.maximum(heat[b], np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * sigma ** 2)))
            ix, iy = min(int(gx), n - 1), min(int(gy), n - 1)
            heat[b, iy, ix] = 1.0
            reg[b, iy, ix] = (gx - ix - 0.5, gy - iy - 0.5, np.log(max(fw, 1.0)))
            mask[b, iy, ix] = 1.0
    return heat, reg, mask


def localiser_loss(output: torch.Tensor, heat: torch.Tensor, reg: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on the heat map + L1 on offsets and log width at the peaks."""
    p = torch.sigmoid(output[:, 0]).clamp(1e-4, 1 - 1e-4)
    peak = heat >= 1.0
    pos = -((1 - p) ** 2 * torch.log(p))[peak].sum()
    neg = -(((1 - heat) ** 4) * p ** 2 * torch.log(1 - p))[~peak].sum()
    n = peak.sum().clamp(min=1)
    l1 = (torch.abs(output[:, 1:].permute(0, 2, 3, 1) - reg).sum(-1) * mask).sum() / mask.sum().clamp(min=1)
    return (pos + neg) / n + l1


def train_localiser(cfg: LocaliserTrainConfig, say=print) -> Path:
    """Train (or resume, from `out_dir/checkpoint.pt`) and write the localiser to `out_dir`."""
    torch.manual_seed(cfg.seed)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    size = cfg.model.input_size
    out = Path(cfg.out_dir)
    # The network is set up, resumed or started from --init-from before the samples are
    # rendered (minutes): a wrong --init-from or a changed setting is told at once.
    net = LocaliserNet(cfg.model)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine to zero
        opt, lambda k: min(1.0, (k + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(k, cfg.steps) / cfg.steps)))
    rng = np.random.default_rng(cfg.seed)
    step, log, spent = 0, [], 0.0
    if (out / CHECKPOINT_FILE).is_file():
        state = load_checkpoint(out / CHECKPOINT_FILE)
        check_run_kind(out, state, ("settings", "model", "optimizer", "scheduler", "sampler", "step", "log", "seconds"),
                       "train-localiser")
        check_same_settings(out, json.loads(state["settings"]), run_settings(cfg))
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["sampler"])
        step, log, spent = int(state["step"]), json.loads(state["log"]), float(state["seconds"])
        say(f"resumed at step {step}")
    elif cfg.init_from:
        start, start_config = load_localiser_net(cfg.init_from)
        if start_config != cfg.model:
            raise ConfigError(f"--init-from {cfg.init_from} holds a localiser of another shape ({start_config})")
        net.load_state_dict(start.state_dict())
    started = time.perf_counter()
    images, mouths = render_samples(cfg.samples, size, cfg.seed, cfg.workers, cfg.captions, cfg.wide_mouths,
                                    cfg.slit_eyes)
    say(f"rendered {len(images)} samples in {time.perf_counter() - started:.0f} s")
    tick = time.perf_counter()

    def seconds() -> float:
        return spent + time.perf_counter() - tick

    def checkpoint() -> None:
        save_localiser(net.eval(), cfg.model, out)
        save_checkpoint(out / CHECKPOINT_FILE, {
            "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "sampler": json.dumps(rng.bit_generator.state), "step": step, "log": json.dumps(log),
            "seconds": seconds(), "settings": json.dumps(run_settings(cfg))})
        net.train()

    net.train()
    with stop_requested() as stop:  # a stop signal ends the run at the next step, checkpointed
        while step < cfg.steps and stop.signal is None:
            pick = rng.integers(0, len(images), cfg.batch_size)
            batch, ms = images[pick].copy(), [mouths[i].copy() for i in pick]
            for b in np.nonzero(rng.random(cfg.batch_size) < 0.5)[0]:  # horizontal flips
                batch[b] = batch[b, :, ::-1]
                ms[b][:, 0] = size - ms[b][:, 0]
            heat, reg, mask = (torch.from_numpy(a) for a in targets(ms, size))
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
            loss = localiser_loss(net(x), heat, reg, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == cfg.steps:
                log.append({"step": step, "loss": round(loss.item(), 4), "seconds": round(seconds(), 1)})
                say(f"step {step}/{cfg.steps} loss {loss.item():.4f} ({seconds():.0f} s)")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                checkpoint()
        if stop.signal is not None:
            checkpoint()
            say(f"stopped at step {step}; the same command resumes the run")
    stop.raise_if_asked()
    out = save_localiser(net.eval(), cfg.model, out)
    doc = {"config": asdict(cfg), "log": log, "seconds": round(seconds(), 1), "threads": cfg.threads}
    (out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
    return out
