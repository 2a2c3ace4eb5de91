"""Loss weights: sigma weighting (velocity / x) and the mouth bump, against hand values."""

import math

import pytest
import torch

from omnisync_cli.diffusion.flow import cfm_loss
from omnisync_cli.train.objectives import (change_weight_map, loss_weights, mouth_weight_map, sigma_weight,
                                          viseme_loss)


def test_sigma_weight_velocity_is_one_and_x_is_sigma_squared():
    sigma = torch.tensor([0.1, 0.5, 0.92])
    assert torch.equal(sigma_weight(sigma, "velocity"), torch.ones(3))
    assert torch.allclose(sigma_weight(sigma, "x"), torch.tensor([0.01, 0.25, 0.8464]))
    with pytest.raises(ValueError):
        sigma_weight(sigma, "eps")


def test_x_weighting_turns_the_velocity_loss_into_the_x_error():
    """For v = (x_sigma - x_hat) / sigma, sigma^2 |v - (eps - x)|^2 = |x_hat - x|^2."""
    g = torch.Generator().manual_seed(0)
    x, eps, x_hat = (torch.randn(2, 3, generator=g) for _ in range(3))
    sigma = torch.tensor([0.3, 0.8])

    def model(xs, s, **_):
        return (xs - x_hat) / s[:, None]
    loss = cfm_loss(model, x, sigma, eps, weight=sigma_weight(sigma, "x")[:, None])
    assert torch.isclose(loss, torch.mean((x_hat - x) ** 2), atol=1e-6)


def test_mouth_map_peaks_at_the_mouth_and_falls_as_a_gaussian():
    size, radius = 20, 0.1
    mouth = torch.tensor([[[0.525, 0.725]]])  # the centre of pixel (x 10, y 14)
    w = mouth_weight_map(mouth, size, strength=9.0, radius=radius)
    assert w.shape == (1, 1, 1, size, size)
    assert torch.isclose(w[0, 0, 0, 14, 10], torch.tensor(10.0))
    assert torch.equal(w.flatten().argmax(), torch.tensor(14 * size + 10))
    d = 4 / size  # four pixels right of the centre
    assert torch.isclose(w[0, 0, 0, 14, 14], torch.tensor(1 + 9 * math.exp(-d ** 2 / (2 * radius ** 2))))
    assert w.min() >= 1.0
    assert torch.equal(mouth_weight_map(mouth, size, 0.0, radius), torch.ones(1, 1, 1, size, size))


def test_loss_weights_is_the_product():
    sigma = torch.tensor([0.5, 1.0])
    mouth = torch.full((2, 3, 2), 0.5)
    w = loss_weights(sigma, mouth, 8, "x", 2.0, 0.2)
    assert w.shape == (2, 3, 1, 8, 8)
    assert torch.allclose(w[0], 0.25 * mouth_weight_map(mouth, 8, 2.0, 0.2)[0])
    assert torch.allclose(w[1], mouth_weight_map(mouth, 8, 2.0, 0.2)[1])


def test_change_map_weighs_what_the_speech_changed_on_pseudo_pairs_only():
    x = torch.zeros(2, 1, 3, 4, 4)  # targets: mid-grey
    source = x.clone()
    source[:, :, :, 1, 2] = 1.0  # one pixel differs by 1 in [-1, 1] units: 0.5 of the range
    source[:, :, 0, 3, 3] = -1.0  # one pixel differs in one channel only: 0.5 / 3
    w = change_weight_map(x, source, torch.tensor([True, False]), strength=4.0)
    assert w.shape == (2, 1, 1, 4, 4)
    assert torch.isclose(w[0, 0, 0, 1, 2], torch.tensor(1 + 4 * 0.5))
    assert torch.isclose(w[0, 0, 0, 3, 3], torch.tensor(1 + 4 * 0.5 / 3))
    assert w[0].sum() - 16 == pytest.approx(4 * (0.5 + 0.5 / 3))  # every other pixel weighs 1
    assert torch.equal(w[1], torch.ones(1, 1, 4, 4))  # an arbitrary pair: unchanged
    assert torch.equal(change_weight_map(x, source, torch.tensor([True, True]), 0.0), torch.ones(2, 1, 1, 4, 4))


def test_viseme_loss_skips_unknown_targets():
    pred = torch.tensor([[[0.5, 0.0, 0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0, 1.0, 1.0]]], requires_grad=True)
    target = torch.tensor([[[0.0, 0.0, 0.0, 0.0, 0.0]], [[float("nan")] * 5]])
    loss = viseme_loss(pred, target)  # only the first clip counts: mean(0.25, 0, 0, 0, 0)
    assert torch.isclose(loss, torch.tensor(0.05))
    loss.backward()
    assert torch.equal(pred.grad[1], torch.zeros(1, 5))
    none_known = viseme_loss(pred, torch.full_like(target, float("nan")))
    assert none_known.item() == 0.0 and none_known.requires_grad
