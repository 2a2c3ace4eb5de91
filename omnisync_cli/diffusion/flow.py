"""Flow matching (Lipman et al. 2023) as OmniSync trains it (paper Eq. 2), one function each.

Convention (DESIGN.md): noise level sigma in [0, 1], 1 = pure noise, 0 = data,

    x_sigma = (1 - sigma) * x_data + sigma * eps,      eps ~ N(0, I)

and the network predicts the velocity d x_sigma / d sigma = eps - x_data. (The paper writes
the same straight path with t/T = sigma and the velocity pointing the other way; predicting
`eps - x_data` makes an Euler step from sigma to sigma_next `x + (sigma_next - sigma) * v`.)
"""

import torch


def noise_path(x_data: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_sigma = (1 - sigma) x_data + sigma eps; sigma (B,) broadcast over the other dims."""
    s = sigma.reshape(-1, *([1] * (x_data.ndim - 1))).to(x_data.dtype)
    return (1 - s) * x_data + s * noise


def source_start_noise(noise: torch.Tensor, x_data: torch.Tensor, source: torch.Tensor,
                       sigma: torch.Tensor) -> torch.Tensor:
    """The eps' that puts a training example where a dub starts: noise_path(x_data, eps', sigma)
    equals the progressive initialisation of the source, (1 - sigma) V_source + sigma eps (Eq. 5).

    eps' = eps + (1 - sigma) / sigma (V_source - x_data). Training on it shows the network at
    high sigma the noised *source* (whose mouth says nothing about the new speech), not the
    noised target, whose faint mouth is a shortcut a dub never has; with the x-prediction
    head and the sigma^2 weighting the loss stays || x_hat - x_data ||^2. sigma must be > 0.
    """
    s = sigma.reshape(-1, *([1] * (x_data.ndim - 1))).to(x_data.dtype)
    return noise + (1 - s) / s * (source - x_data)


def velocity_target(x_data: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """u(x_sigma | x_data) = d x_sigma / d sigma = eps - x_data (paper Eq. 2's target)."""
    return noise - x_data


def cfm_loss(model, x_data: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor,
             weight: torch.Tensor | None = None, **cond) -> torch.Tensor:
    """Conditional flow-matching loss, paper Eq. 2: E || v_theta(x_sigma, V_cd, A_ab, sigma) - u ||^2.

    `cond` goes to the model unchanged (source=V_cd, audio=A_ab windows, text, drop_audio,
    drop_text). Mean over every element, so the value does not depend on clip size. The
    model returns a velocity whatever its head predicts; for an x-predicting head this is
    the "x-prediction, v-loss" of Li & He (2025), i.e. an x-loss weighted by 1 / sigma^2.

    `weight` (optional, broadcastable to x_data, e.g. (B, 1, 1, 1, 1) per example or
    (B, F, 1, S, S) per pixel): the squared error is multiplied by it before the mean
    (train.objectives.loss_weights builds it); None is Eq. 2 unweighted.
    """
    return velocity_error(model(noise_path(x_data, noise, sigma), sigma, **cond), x_data, noise, weight)


def velocity_error(v: torch.Tensor, x_data: torch.Tensor, noise: torch.Tensor,
                   weight: torch.Tensor | None = None) -> torch.Tensor:
    """The mean (weighted) squared error of a predicted velocity against Eq. 2's target;
    cfm_loss's second half, for callers that also need the prediction itself."""
    error = (v.float() - velocity_target(x_data, noise).float()) ** 2
    if weight is not None:
        error = error * weight.float()
    return torch.mean(error)


def sample_training_sigma(batch: int, generator: torch.Generator | None = None,
                          dist: str = "logit_normal", mean: float = 0.8, std: float = 0.8) -> torch.Tensor:
    """(batch,) noise levels for training.

    logit_normal (default): sigmoid(N(mean, std)) (Esser et al. 2024, SD3; Li & He 2025 use
    it with x-prediction). mean 0.8 puts the median at sigma 0.69, toward the noisy levels
    where a progressive run from tau = 0.92 decides the mouth; x-prediction's velocity loss
    already weighs low sigma by 1 / sigma^2. On the overfit test's clips this took the
    sample error from 15.2 (uniform) to 3.9 grey levels in the same 300 steps.
    uniform: U(0, 1).
    """
    if dist == "uniform":
        return torch.rand(batch, generator=generator)
    if dist == "logit_normal":
        return torch.sigmoid(mean + std * torch.randn(batch, generator=generator))
    raise ValueError(f"unknown sigma distribution {dist!r}; use 'uniform' or 'logit_normal'")
