"""Progressive noise initialization (paper Eq. 5) and flow-matching samplers over an explicit
tensor of noise levels (after k-diffusion's `sample_euler` and flux's one-line step).

A sampler takes `velocity(x, sigma) -> v` (the network, usually wrapped by guidance) and
integrates dx/dsigma = v from sigmas[0] down to sigmas[-1] = 0. With progressive init the
schedule starts at tau, so only the remaining steps run (paper Eq. 6).
"""

import torch


def sigma_schedule(steps: int, start: float = 1.0) -> torch.Tensor:
    """(steps + 1,) evenly spaced noise levels from `start` (tau) down to 0: `steps` network
    evaluations cover only the part of the path actually run."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return torch.linspace(start, 0.0, steps + 1)


def progressive_init(source: torch.Tensor, tau: float, noise: torch.Tensor) -> torch.Tensor:
    """Paper Eq. 5: x_init = (1 - tau) V_source + tau eps, the noise path at sigma = tau.

    The pose, identity and background of the source survive in x_init; denoising from tau
    re-draws what the audio asks for. tau = 1 starts from pure noise (the ablation).
    """
    return (1 - tau) * source + tau * noise


def _sigma_batch(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return sigma.to(x.device, torch.float32).expand(x.shape[0])


@torch.no_grad()
def sample_euler(velocity, x: torch.Tensor, sigmas: torch.Tensor, callback=None) -> torch.Tensor:
    """Euler integration of the flow ODE (paper Eq. 6): one velocity call per step."""
    for i in range(len(sigmas) - 1):
        v = velocity(x, _sigma_batch(x, sigmas[i]))
        if callback is not None:
            callback(i, x, sigmas[i], v)
        x = x + (sigmas[i + 1] - sigmas[i]).to(x.dtype) * v
    return x


@torch.no_grad()
def sample_heun(velocity, x: torch.Tensor, sigmas: torch.Tensor, callback=None) -> torch.Tensor:
    """Heun's method (Karras et al. 2022, Algorithm 1): Euler plus a trapezoidal correction,
    two velocity calls per step except the last (to sigma = 0), which stays Euler."""
    for i in range(len(sigmas) - 1):
        dt = (sigmas[i + 1] - sigmas[i]).to(x.dtype)
        v = velocity(x, _sigma_batch(x, sigmas[i]))
        if callback is not None:
            callback(i, x, sigmas[i], v)
        x_next = x + dt * v
        if sigmas[i + 1] > 0:
            v_next = velocity(x_next, _sigma_batch(x, sigmas[i + 1]))
            x_next = x + dt * (v + v_next) / 2
        x = x_next
    return x


SAMPLERS = {"euler": sample_euler, "heun": sample_heun}
