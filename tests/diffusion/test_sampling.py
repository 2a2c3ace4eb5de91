"""Samplers and progressive init (paper Eq. 5-6) on data whose velocity has a closed form."""

import math

import pytest
import torch

from omnisync_cli.diffusion.sampling import (progressive_init, sample_euler, sample_heun,
                                             sigma_schedule)


def gaussian_velocity(mu: float, std: float):
    """Exact flow-matching velocity E[eps - x | x_sigma] for data x ~ N(mu, std^2).

    x_sigma = (1 - s) x + s eps is Gaussian with mean (1 - s) mu and variance
    V = (1 - s)^2 std^2 + s^2; the posterior means of x and eps are linear in x_sigma.
    """
    def velocity(x, sigma):
        s = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        var = (1 - s) ** 2 * std ** 2 + s ** 2
        r = x - (1 - s) * mu
        e_x = mu + (1 - s) * std ** 2 / var * r
        e_eps = s / var * r
        return e_eps - e_x
    return velocity


def test_schedule_runs_from_tau_to_zero():
    assert torch.allclose(sigma_schedule(4, 0.92), torch.tensor([0.92, 0.69, 0.46, 0.23, 0.0]))
    with pytest.raises(ValueError):
        sigma_schedule(0)


def test_progressive_init_is_eq5():
    source = torch.tensor([1.0, -0.5])
    eps = torch.tensor([3.0, 2.0])
    # 0.08 * 1 + 0.92 * 3 = 2.84 ; 0.08 * -0.5 + 0.92 * 2 = 1.80
    assert torch.allclose(progressive_init(source, 0.92, eps), torch.tensor([2.84, 1.80]))
    assert torch.equal(progressive_init(source, 1.0, eps), eps)


@pytest.mark.parametrize("sampler,steps", [(sample_euler, 200), (sample_heun, 25)])
def test_sampling_from_pure_noise_recovers_the_data_distribution(sampler, steps):
    mu, std = 1.5, 0.4
    noise = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0))
    out = sampler(gaussian_velocity(mu, std), noise, sigma_schedule(steps, 1.0))
    assert abs(out.mean().item() - mu) < 0.02
    assert abs(out.std().item() - std) < 0.02


@pytest.mark.parametrize("tau", [0.3, 0.6, 1.0])
def test_progressive_init_keeps_the_source_structure(tau):
    # Data N(0, 1): the flow maps x_tau to x_tau / sqrt((1 - tau)^2 + tau^2), so the output's
    # correlation with the source is (1 - tau) / sqrt((1 - tau)^2 + tau^2): 0.92 at tau 0.3,
    # 0 at tau 1 (pure noise forgets the source).
    g = torch.Generator().manual_seed(1)
    source, eps = torch.randn(20000, generator=g), torch.randn(20000, generator=g)
    out = sample_heun(gaussian_velocity(0.0, 1.0), progressive_init(source, tau, eps),
                      sigma_schedule(20, tau))
    corr = torch.corrcoef(torch.stack([out, source]))[0, 1].item()
    expected = (1 - tau) / math.sqrt((1 - tau) ** 2 + tau ** 2)
    assert abs(corr - expected) < 0.02
    assert abs(out.std().item() - 1.0) < 0.03


def test_progressive_run_calls_the_network_only_for_the_remaining_steps():
    calls = []

    def velocity(x, sigma):
        calls.append(sigma[0].item())
        return torch.zeros_like(x)

    x = torch.zeros(2, 3)
    sample_euler(velocity, x, sigma_schedule(6, 0.5))
    assert len(calls) == 6 and calls[0] == pytest.approx(0.5) and max(calls) <= 0.5
    calls.clear()
    sample_heun(velocity, x, sigma_schedule(6, 0.5))
    assert len(calls) == 11  # two per step, one for the last (to sigma 0)
    assert max(calls) <= 0.5 + 1e-6 and min(calls) > 0


def test_euler_step_is_one_line_of_flux():
    # x + (sigma_next - sigma) * v with constant v = 2 from 0.8 to 0 in 2 steps: x - 1.6
    out = sample_euler(lambda x, s: torch.full_like(x, 2.0), torch.ones(1), sigma_schedule(2, 0.8))
    assert torch.allclose(out, torch.tensor([1.0 - 1.6]))
