"""Flow-matching maths (paper Eq. 2), checked against hand-computed values."""

import torch

from omnisync_cli.diffusion.flow import (cfm_loss, noise_path, sample_training_sigma, source_start_noise,
                                         velocity_target)
from omnisync_cli.diffusion.sampling import progressive_init


def test_noise_path_is_the_straight_line_between_data_and_noise():
    x = torch.tensor([[2.0, -1.0]])
    eps = torch.tensor([[-1.0, 3.0]])
    # sigma 0.25: 0.75 * 2 + 0.25 * -1 = 1.25 ; 0.75 * -1 + 0.25 * 3 = 0.0
    assert torch.allclose(noise_path(x, eps, torch.tensor([0.25])), torch.tensor([[1.25, 0.0]]))
    assert torch.equal(noise_path(x, eps, torch.tensor([0.0])), x)
    assert torch.equal(noise_path(x, eps, torch.tensor([1.0])), eps)


def test_noise_path_broadcasts_one_sigma_per_clip():
    x = torch.zeros(2, 3, 3, 4, 4)
    eps = torch.ones(2, 3, 3, 4, 4)
    out = noise_path(x, eps, torch.tensor([0.1, 0.7]))
    assert torch.allclose(out[0], torch.full_like(out[0], 0.1))
    assert torch.allclose(out[1], torch.full_like(out[1], 0.7))


def test_velocity_is_the_derivative_of_the_path():
    x = torch.tensor([2.0, -1.0])
    eps = torch.tensor([-1.0, 3.0])
    assert torch.equal(velocity_target(x, eps), torch.tensor([-3.0, 4.0]))
    h = 1e-3
    sig = torch.tensor([0.4])
    numeric = (noise_path(x[None], eps[None], sig + h) - noise_path(x[None], eps[None], sig - h)) / (2 * h)
    assert torch.allclose(numeric[0], velocity_target(x, eps), atol=1e-3)


def test_cfm_loss_is_the_mean_squared_velocity_error():
    x = torch.tensor([[1.0, 2.0]])
    eps = torch.tensor([[0.0, 0.0]])
    seen = {}

    def zero_model(x_sigma, sigma, source=None):
        seen.update(x_sigma=x_sigma, sigma=sigma, source=source)
        return torch.zeros_like(x_sigma)

    # target eps - x = (-1, -2): mean(1, 4) = 2.5
    loss = cfm_loss(zero_model, x, torch.tensor([0.5]), eps, source="V_cd")
    assert torch.isclose(loss, torch.tensor(2.5))
    assert torch.allclose(seen["x_sigma"], torch.tensor([[0.5, 1.0]]))
    assert seen["source"] == "V_cd"
    exact = cfm_loss(lambda xs, s, **_: eps - x, x, torch.tensor([0.5]), eps)
    assert exact.item() == 0.0


def test_training_sigma_sampler_is_seeded_and_in_range():
    for dist, median in (("uniform", 0.5), ("logit_normal", 0.69)):  # sigmoid(0.8) = 0.690
        a = sample_training_sigma(4000, torch.Generator().manual_seed(3), dist)
        b = sample_training_sigma(4000, torch.Generator().manual_seed(3), dist)
        assert torch.equal(a, b)
        assert a.min() >= 0 and a.max() <= 1
        assert abs(a.median().item() - median) < 0.03


def test_cfm_loss_weight_multiplies_each_squared_error():
    x = torch.tensor([[1.0, 2.0]])
    eps = torch.zeros(1, 2)
    zero_model = lambda xs, s, **_: torch.zeros_like(xs)  # noqa: E731
    # errors (1, 4) weighted (3, 0.5): mean(3, 2) = 2.5; weight None = plain Eq. 2 = 2.5 too
    weighted = cfm_loss(zero_model, x, torch.tensor([0.5]), eps, weight=torch.tensor([[3.0, 0.5]]))
    assert torch.isclose(weighted, torch.tensor(2.5))
    only_second = cfm_loss(zero_model, x, torch.tensor([0.5]), eps, weight=torch.tensor([[0.0, 1.0]]))
    assert torch.isclose(only_second, torch.tensor(2.0))


def test_source_start_noise_puts_the_example_at_the_dubs_start_with_the_x_error_as_loss():
    g = torch.Generator().manual_seed(0)
    x, source, eps = (torch.randn(2, 4, 3, 8, 8, generator=g) for _ in range(3))
    sigma = torch.tensor([0.92, 0.92])
    shifted = source_start_noise(eps, x, source, sigma)
    s = sigma.view(-1, 1, 1, 1, 1)
    # Eq. 5 of the source (a dub's start at tau 0.92), reached on Eq. 2's path towards the target
    assert torch.allclose(noise_path(x, shifted, sigma), progressive_init(source, 0.92, eps), atol=1e-6)
    other = source_start_noise(eps, x, source, torch.tensor([0.5, 0.85]))
    assert torch.allclose(noise_path(x, other, torch.tensor([0.5, 0.85])),
                          torch.stack([progressive_init(source[0], 0.5, eps[0]),
                                       progressive_init(source[1], 0.85, eps[1])]), atol=1e-6)
    # the x-weighted velocity error is the error of the clean clip the velocity implies
    x_sigma = noise_path(x, shifted, sigma)
    x_hat = torch.randn(x.shape, generator=g)
    v = (x_sigma - x_hat) / s
    assert torch.allclose(s ** 2 * (v - velocity_target(x, shifted)) ** 2, (x_hat - x) ** 2, atol=1e-5)
