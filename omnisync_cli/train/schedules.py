"""Schedules of a training run as pure functions of the step: learning rate, EMA decay, and
the noise-level distribution that Eq. 3's branch choice draws from."""

import math
from collections.abc import Callable

import torch

from omnisync_cli.diffusion.flow import sample_training_sigma


def lr_factor(step: int, warmup_steps: int, total_steps: int, schedule: str = "cosine",
              min_ratio: float = 0.1) -> float:
    """Multiplier of the peak lr at `step` (0-based): linear warm-up over `warmup_steps`
    (step 0 already moves, at lr / warmup_steps), then constant or a cosine down to
    `min_ratio` at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay for the update after optimizer step `step` (0-based): min(decay,
    (1 + step) / (10 + step)), so the average forgets the random init quickly in short runs
    (as timm's and diffusers' EMA warm-up) and settles at `decay`."""
    return min(decay, (1 + step) / (10 + step))


def sigma_sampler(dist: str, generator: torch.Generator, mean: float = 0.8, std: float = 0.8,
                  uniform_weight: float = 0.2, levels: tuple[float, ...] = (0.92, 0.46),
                  jitter: float = 0.03) -> Callable[[], float]:
    """A function drawing one training sigma from `generator`.

    uniform / logit_normal: diffusion.flow.sample_training_sigma. mixture: uniform with
    probability `uniform_weight` w, else logit-normal(mean, std): P(sigma > 0.85) is
    0.15 w + 0.121 (1 - w) for mean = std = 0.8 (~13 % at w = 0.2). sampler: uniform with
    probability w, else one of `levels` (the noise levels the shipped sampler evaluates the
    network at: tau and tau / 2 for 2 steps from 0.92), each equally often, moved by
    N(0, jitter), within [0.01, 0.999].
    """
    def draw() -> float:
        kind = dist
        if dist in ("mixture", "sampler") and torch.rand(1, generator=generator).item() < uniform_weight:
            kind = "uniform"
        elif dist == "mixture":
            kind = "logit_normal"
        elif dist == "sampler":
            level = levels[int(torch.randint(len(levels), (1,), generator=generator))]
            return float(min(0.999, max(0.01, level + jitter * torch.randn(1, generator=generator).item())))
        return sample_training_sigma(1, generator, kind, mean, std).item()
    return draw
