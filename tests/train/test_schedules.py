"""Learning-rate warm-up and decay, EMA decay warm-up, the training sigma distribution."""

import math

import pytest
import torch

from omnisync_cli.train.schedules import ema_decay_at, lr_factor, sigma_sampler


def test_lr_warms_up_linearly_then_follows_cosine_to_the_floor():
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert lr_factor(4, 10, 100) == pytest.approx(0.5)
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100, min_ratio=0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(100, 10, 100, min_ratio=0.1) == pytest.approx(0.1)
    assert lr_factor(500, 10, 100, schedule="constant") == 1.0
    assert lr_factor(0, 0, 100) == pytest.approx(1.0)


def test_ema_decay_warms_up_and_caps():
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1)
    assert ema_decay_at(90, 0.999) == pytest.approx(91 / 100)
    assert ema_decay_at(10 ** 6, 0.999) == 0.999


LOGIT_NORMAL_ABOVE = 0.5 * math.erfc((math.log(0.85 / 0.15) - 0.8) / 0.8 / math.sqrt(2))  # 0.121


@pytest.mark.parametrize("dist,expected", [
    ("uniform", 0.15),
    ("logit_normal", LOGIT_NORMAL_ABOVE),
    ("mixture", 0.2 * 0.15 + 0.8 * LOGIT_NORMAL_ABOVE),
])
def test_sigma_distribution_keeps_mass_for_the_pseudo_pair_branch(dist, expected):
    draw = sigma_sampler(dist, torch.Generator().manual_seed(0))
    sigmas = torch.tensor([draw() for _ in range(20000)])
    assert 0 <= sigmas.min() and sigmas.max() <= 1
    assert (sigmas > 0.85).float().mean().item() == pytest.approx(expected, abs=0.01)


def test_the_sampler_distribution_trains_where_the_shipped_sampler_runs():
    """A fifth uniform; the rest within a few jitters of 0.92 or 0.46, equally often."""
    draw = sigma_sampler("sampler", torch.Generator().manual_seed(0), uniform_weight=0.2,
                         levels=(0.92, 0.46), jitter=0.03)
    sigmas = torch.tensor([draw() for _ in range(20000)])
    assert 0 <= sigmas.min() and sigmas.max() <= 1
    near_top, near_half = (sigmas - 0.92).abs() < 0.09, (sigmas - 0.46).abs() < 0.09
    # each level's two fifths, plus the uniform fifth's share of the window around it
    # ([0.83, 0.999] and [0.37, 0.55])
    assert near_top.float().mean().item() == pytest.approx(0.4 + 0.2 * 0.169, abs=0.015)
    assert near_half.float().mean().item() == pytest.approx(0.4 + 0.2 * 0.18, abs=0.015)
    assert (sigmas < 0.3).float().mean().item() == pytest.approx(0.2 * 0.3, abs=0.01)
