"""Training the opening meter (`bench.opening`) on a corpus's training shards.

    train_opening(OpeningTrainConfig(corpus="corpus/", out_dir="runs/opening"))

Every `frame_stride`-th frame of every rendering is one example: the mouth crop around the
true mouth (the sync expert's framing) and the `open` parameter that drew it. Regression
with a Huber loss; colour, flip and small shifts are randomised per crop (`train.sync.augment`)
so that the meter reads the mouth's shape, not the palettes of the training families. The
shards hold only the training style families, so the held-out families stay unseen (their
error is measured by `bench/opening_meter.py`). A few minutes on one core: no checkpoints.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from omnisync_cli.bench.opening import OpeningConfig, OpeningMeter, save_opening_meter
from omnisync_cli.bench.sync import mouth_windows
from omnisync_cli.data.shards import CorpusReader
from omnisync_cli.data.visemes import MOUTH_FIELDS
from omnisync_cli.train.sync import augment

OPEN = MOUTH_FIELDS.index("open")


@dataclass(frozen=True)
class OpeningTrainConfig:
    corpus: str | tuple[str, ...]  # corpus folder(s) with training shards (`omnisync synth`)
    out_dir: str                  # the weights, config and training.json go here
    steps: int = 3000             # optimizer steps
    batch_size: int = 128         # crops per step
    lr: float = 2e-3              # AdamW peak learning rate (warm-up, cosine to 0)
    frame_stride: int = 2         # every n-th frame of a rendering is an example
    max_clips: int = 0            # clips read from each corpus (0 = all)
    seed: int = 0
    threads: int = 1              # torch threads (0 = the library default)
    model: OpeningConfig = field(default_factory=OpeningConfig)


def load_opening_data(sources: list, model: OpeningConfig, stride: int,
                      max_clips: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, P, P, 3) uint8 mouth crops and (N,) float32 openings of every `stride`-th frame."""
    crops, openings = [], []
    for source in sources:
        count = len(source) if max_clips <= 0 else min(max_clips, len(source))
        for i in range(count):
            clip = source.load(i)
            for r in range(len(clip.crops)):
                if not len(clip.visemes):
                    continue
                frames = slice(None, None, stride)
                crops.append(mouth_windows(clip.crops[r][frames], clip.mouth_xy[r][frames], model.crop_config()))
                openings.append(np.asarray(clip.visemes[r][frames, OPEN], np.float32))
    if not crops:
        raise ValueError("no clip with known mouth parameters (synthetic shards) to train the opening meter on")
    return np.concatenate(crops), np.concatenate(openings)


def train_opening(cfg: OpeningTrainConfig, say=print) -> Path:
    """Train and write the meter's weights, config and training.json to `out_dir`."""
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    started = time.perf_counter()
    corpora = [cfg.corpus] if isinstance(cfg.corpus, str) else list(cfg.corpus)
    crops, openings = load_opening_data([CorpusReader(c) for c in corpora], cfg.model, cfg.frame_stride,
                                        cfg.max_clips)
    say(f"{len(crops)} crops read in {time.perf_counter() - started:.0f} s")
    meter = OpeningMeter(cfg.model)
    opt = torch.optim.AdamW(meter.parameters(), lr=cfg.lr, weight_decay=1e-4)
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine to zero
        opt, lambda k: min(1.0, (k + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(k, cfg.steps) / cfg.steps)))
    rng = np.random.default_rng(cfg.seed)
    log, tick = [], time.perf_counter()
    meter.train()
    for step in range(1, cfg.steps + 1):
        pick = rng.integers(len(crops), size=cfg.batch_size)
        x = torch.from_numpy(crops[pick]).permute(0, 3, 1, 2).float() / 255.0
        x = augment(x, 1, rng)
        loss = F.smooth_l1_loss(meter(x), torch.from_numpy(openings[pick]), beta=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == cfg.steps:
            log.append({"step": step, "loss": round(loss.item(), 5), "seconds": round(time.perf_counter() - tick, 1)})
            say(f"step {step}/{cfg.steps} loss {log[-1]['loss']:.5f} ({log[-1]['seconds']:.0f} s)")
    out = save_opening_meter(meter.eval(), cfg.out_dir)
    doc = {"config": asdict(cfg), "examples": len(crops), "opening_mean": round(float(openings.mean()), 4),
           "opening_sd": round(float(openings.std()), 4), "log": log,
           "train_seconds": round(time.perf_counter() - tick, 1), "threads": torch.get_num_threads()}
    (out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
    return out
