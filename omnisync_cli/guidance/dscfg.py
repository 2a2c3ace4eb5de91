"""Dynamic spatiotemporal classifier-free guidance (paper Sec. 3.4, Eq. 7-9), static CFG, none.

Each equation is one pure function; `guided_model` wraps the network into the
`velocity(x, sigma)` a sampler integrates, running the conditional and unconditional passes
as ONE batched forward. "Unconditional" replaces the audio by the learned null audio
embedding; the source clip V_cd always stays (it is the picture being edited, not a
condition to amplify). The prompt stays in both passes by default, so the guided direction
is the audio's alone and a prompt like "speaking loudly" is not multiplied by w_peak;
`drop_text_in_uncond=True` guides audio and prompt together.
"""

from dataclasses import dataclass

import torch

from omnisync_cli.errors import ConfigError

GUIDANCE_MODES = ("ds", "static", "none")


@dataclass(frozen=True)
class GuidanceConfig:
    mode: str = "ds"  # ds: Eq. 7-9; static: w_peak everywhere and at every step; none: conditional only
    # Measured on the shipped stage-6 model (bench/results/change-weight/, tuning split, 8
    # clips): peak 2 gives mouth PSNR 32.70 dB and flicker 1.076, peak 4 31.17 dB and 1.144
    # (no-op 34.68) while syncing more (R 1.11 vs 0.82); the older models' sweeps
    # (bench/results/quality, ds-peak2, guidance-sweep) chose the same. Hence peak 2 (the
    # paper's large model used more) with two sampler steps. The dub now samples in one step,
    # whose edit is the first step's, undecayed: on the held-out split peak 1.25 gains 0.13 dB
    # of mouth PSNR over two steps at 2 with the same opening r, peak 1.5 0.00 dB and peak 2
    # -0.23 dB, each syncing a little more (bench/results/one-step/). w_base 1
    # leaves the face outside the mouth at the plain conditional prediction; s 0.15 of the
    # region side puts the half-maximum ring (1.18 s = 0.18) about at the lip corners of a
    # mouth a third of the region wide; gamma 1.5 is the paper's.
    w_peak: float = 1.25  # guidance scale at the mouth centre (and the static scale)
    w_base: float = 1.0  # guidance scale far from the mouth
    s: float = 0.15  # Gaussian spread as a fraction of the region side
    gamma: float = 1.5  # decay exponent of Eq. 8 (paper: 1.5)
    drop_text_in_uncond: bool = False  # also drop the prompt in the unconditional pass
    # What Eq. 8's decay decays toward. "uncond" (the paper's Eq. 9): G * w(t) -> 0, so the
    # last steps take the unconditional prediction. "cond": 1 + (G - 1) * w(t) -> 1, the
    # conditional prediction (still guided by the audio, never amplified); for a small model
    # whose unconditional prediction ignores the audio (weights/cpu-small/README.md).
    decay_to: str = "uncond"
    # Speed (the real-time issue): run the unconditional pass at the first sampler call only
    # and reuse its guidance direction at the later ones (`uncond_from_direction`), so a 2-step
    # dub runs 3 passes instead of 4. Off: every call runs both passes (Eq. 9 as written).
    reuse_direction: bool = False

    def __post_init__(self) -> None:
        if self.mode not in GUIDANCE_MODES:
            raise ConfigError(f"guidance mode must be one of {GUIDANCE_MODES}, got {self.mode!r}")
        if self.s <= 0:
            raise ConfigError(f"guidance spread s must be positive, got {self.s}")
        if self.gamma < 0:
            raise ConfigError(f"guidance gamma must be >= 0, got {self.gamma}")
        if self.decay_to not in ("uncond", "cond"):
            raise ConfigError(f"guidance decay_to must be 'uncond' or 'cond', got {self.decay_to!r}")


def spatial_guidance_map(mouth_xy: torch.Tensor, size: int, w_peak: float | torch.Tensor, w_base: float,
                         s: float) -> torch.Tensor:
    """Paper Eq. 7: G(x, y) = w_base + (w_peak - w_base) exp(-((x - xm)^2 + (y - ym)^2) / (2 s^2)).

    mouth_xy (..., 2) holds (xm, ym) in [0, 1] crop coordinates (x to the right, y down);
    pixel (row i, col j) of a size x size crop sits at ((j + 0.5) / size, (i + 0.5) / size),
    and s is in the same units (a fraction of the region side). Returns (..., size, size).
    """
    centres = (torch.arange(size, dtype=torch.float32, device=mouth_xy.device) + 0.5) / size
    xm = mouth_xy[..., 0, None, None].float()
    ym = mouth_xy[..., 1, None, None].float()
    d2 = (centres[None, :] - xm) ** 2 + (centres[:, None] - ym) ** 2  # (..., rows, cols)
    return w_base + (w_peak - w_base) * torch.exp(-d2 / (2 * s ** 2))


def temporal_guidance_scale(sigma: torch.Tensor, tau: float, gamma: float) -> torch.Tensor:
    """Paper Eq. 8's decay, normalised to the run: (sigma / tau) ** gamma, clipped to [0, 1].

    The paper writes w(t) = w_peak (t / T)^gamma for runs that start at T. With progressive
    init the run starts at sigma = tau, so dividing by tau (not by 1) gives the first step
    the full map whatever tau is; otherwise tau = 0.92 would start at 0.88 of it. w_peak
    is already inside the spatial map (Eq. 7), so the factor here is dimensionless, and
    Eq. 9's product G * w(t) does not apply w_peak twice. For tau = 1 this is the paper's.
    """
    return (torch.as_tensor(sigma, dtype=torch.float32) / tau).clamp(0.0, 1.0) ** gamma


def guided_velocity(v_cond: torch.Tensor, v_uncond: torch.Tensor, weight) -> torch.Tensor:
    """Paper Eq. 9: v = v_uncond + w * (v_cond - v_uncond); w a scalar or a broadcastable map."""
    return v_uncond + weight * (v_cond - v_uncond)


def guidance_direction(v_cond: torch.Tensor, v_uncond: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The audio's guidance direction in clean-picture units: sigma (v_cond - v_uncond).

    Both passes see the same x, so with v = (x - x_hat) / sigma this is x_hat_uncond -
    x_hat_cond, which does not carry the velocity's 1 / sigma and can be carried to another
    noise level (exact above an x-predicting model's sigma floor, model.dit.SIGMA_FLOOR)."""
    return (v_cond - v_uncond) * sigma.float().reshape(-1, *([1] * (v_cond.dim() - 1)))


def uncond_from_direction(v_cond: torch.Tensor, direction: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The unconditional velocity a guidance direction implies at noise level sigma:
    v_cond - direction / sigma (the inverse of `guidance_direction`)."""
    return v_cond - direction / sigma.float().reshape(-1, *([1] * (v_cond.dim() - 1)))


def guidance_weight(config: GuidanceConfig, mouth_xy: torch.Tensor, size: int,
                    sigma: torch.Tensor, tau: float, frame_peak: torch.Tensor | None = None) -> torch.Tensor:
    """The CFG weight at noise level sigma (B,): (B, F, 1, S, S) for ds, (B, 1, 1, 1, 1) otherwise.

    mouth_xy (B, F, 2). ds = Eq. 7 map x Eq. 8 decay; static = w_peak; none = 1 (conditional).
    `frame_peak` (B, F), ds only: each frame's own w_peak instead of the config's.
    """
    sigma = sigma.float().reshape(-1, 1, 1, 1, 1)  # (B, 1, 1, 1, 1)
    if config.mode == "ds":
        peak = config.w_peak if frame_peak is None else frame_peak.float().to(mouth_xy.device)[..., None, None]
        g = spatial_guidance_map(mouth_xy, size, peak, config.w_base, config.s)[:, :, None]
        decay = temporal_guidance_scale(sigma, tau, config.gamma)
        if config.decay_to == "cond":
            return 1.0 + (g - 1.0) * decay
        return g * decay
    value = config.w_peak if config.mode == "static" else 1.0
    return torch.full_like(sigma, value)


def guided_model(model, config: GuidanceConfig, tau: float, mouth_xy: torch.Tensor, *,
                 source: torch.Tensor, audio: torch.Tensor, text: torch.Tensor | None = None,
                 attribution=None, frame_peak: torch.Tensor | None = None,
                 references: torch.Tensor | None = None):
    """Wrap `model` into velocity(x, sigma) with guidance; the conditions are fixed here.

    ds/static: the batch is doubled, [conditional; null audio], run as one forward, split,
    and combined by Eq. 9. none: one conditional forward. `attribution` (an
    attribution.AudioAttribution) is given both passes of every call. `frame_peak` (B, F):
    per-frame DS-CFG peaks (`guidance_weight`). With config.reuse_direction only the first
    call runs both passes; later calls run the conditional one and `uncond_from_direction`.
    `references` (B, K, 3, S, S), for a model with reference frames, go to both passes: like
    the source, they are the picture being edited, not a condition to amplify.
    """
    b = source.shape[0]
    size = source.shape[-1]
    mouth_xy = mouth_xy.to(source.device)

    reused = []  # the first call's guidance direction, with config.reuse_direction
    # A model without reference frames is called without the argument.
    pictures = {} if references is None else {"references": references}
    doubled = {} if references is None else {"references": torch.cat([references, references])}

    def velocity(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if config.mode == "none":
            return model(x, sigma, source, audio, text, **pictures)
        w = guidance_weight(config, mouth_xy, size, sigma.to(x.device), tau, frame_peak)
        if reused:  # one conditional pass; the unconditional one from the first call's direction
            v_cond = model(x, sigma, source, audio, text, **pictures).float()
            v_uncond = uncond_from_direction(v_cond, reused[0], sigma)
            if attribution is not None:
                attribution.add(v_cond, v_uncond, sigma)
            return guided_velocity(v_cond, v_uncond, w).to(x.dtype)
        drop_audio = torch.arange(2 * b, device=x.device) >= b  # second half unconditional
        drop_text = drop_audio if config.drop_text_in_uncond else None
        v = model(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([source, source]),
                  torch.cat([audio, audio]), None if text is None else torch.cat([text, text]),
                  drop_audio=drop_audio, drop_text=drop_text, **doubled)
        v_cond, v_uncond = v.float().chunk(2)
        if attribution is not None:
            attribution.add(v_cond, v_uncond, sigma)
        if config.reuse_direction:
            reused.append(guidance_direction(v_cond, v_uncond, sigma))
        return guided_velocity(v_cond, v_uncond, w).to(x.dtype)

    return velocity
