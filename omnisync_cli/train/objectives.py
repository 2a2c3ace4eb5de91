"""What training minimises besides Eq. 2 as written: per-element weights of the flow-matching
loss (flow.cfm_loss's `weight`) and the auxiliary viseme loss; pure functions.

Eq. 2 weighs every pixel and noise level alike in velocity space. With the x-predicting
head that is an x-error weighted by 1 / sigma^2, so the nearly clean levels (sigma ~0.1,
weight ~100) outweigh the noisy ones where the condition clip is a pseudo-pair and the
mouth has to come from the audio (sigma > 0.85, weight ~1.3); and the mouth is a few per
cent of the working region. Both made a small model trained on 2 CPU cores learn to copy
the source and ignore the audio (measured: the same mouth error with the clip's own audio,
with another clip's audio and with the null audio). These two weights move the loss to
where the lip-sync is decided; the defaults keep Eq. 2 as written. The viseme loss goes
further: it trains the audio encoder directly on the mouth parameters that drove each
synthetic rendering (data.visemes), which the diffusion loss only teaches through the pixels.
"""

import torch
import torch.nn.functional as F

LOSS_WEIGHTINGS = ("velocity", "x")


def sigma_weight(sigma: torch.Tensor, weighting: str = "velocity") -> torch.Tensor:
    """(B,) weight of each example's velocity error by its noise level.

    velocity: 1 (Eq. 2 as written). x: sigma^2, which makes the velocity error of an
    x-predicting model its x error, || x_hat - x_data ||^2 (v = (x_sigma - x_hat) / sigma).
    """
    if weighting == "velocity":
        return torch.ones_like(sigma)
    if weighting == "x":
        return sigma ** 2
    raise ValueError(f"unknown loss weighting {weighting!r}; use one of {LOSS_WEIGHTINGS}")


def mouth_weight_map(mouth_xy: torch.Tensor, size: int, strength: float, radius: float) -> torch.Tensor:
    """(B, F, 1, S, S) pixel weights 1 + strength * exp(-d^2 / (2 radius^2)).

    mouth_xy (B, F, 2): each frame's mouth centre in [0, 1] crop coordinates (x, y); d is a
    pixel centre's distance to it in the same units, so `radius` is a fraction of the crop.
    strength 0 gives all ones.
    """
    coords = (torch.arange(size, dtype=torch.float32, device=mouth_xy.device) + 0.5) / size  # pixel centres
    dx = coords[None, None, None, :] - mouth_xy[..., 0, None, None].float()  # (B, F, 1, S)
    dy = coords[None, None, :, None] - mouth_xy[..., 1, None, None].float()  # (B, F, S, 1)
    bump = torch.exp(-(dx ** 2 + dy ** 2) / (2 * radius ** 2))  # (B, F, S, S)
    return (1.0 + strength * bump)[:, :, None]


def change_weight_map(x: torch.Tensor, source: torch.Tensor, pseudo: torch.Tensor,
                      strength: float) -> torch.Tensor:
    """(B, F, 1, S, S) pixel weights 1 + strength * |x - source| (mean over colour, in [0, 1]
    units: clips x, source (B, F, 3, S, S) in [-1, 1]) on pseudo-pair examples (`pseudo` (B,)
    bool), 1 elsewhere. A pseudo-pair's condition is the same frames with another utterance,
    so the pixels where it differs from the target are exactly those the speech changed: the
    ones a dub must redraw (a mouth closing in a pause), which copying the source gets wrong."""
    change = (x.float() - source.float()).abs().mean(2, keepdim=True) / 2  # (B, F, 1, S, S)
    return 1.0 + strength * change * pseudo.float().view(-1, 1, 1, 1, 1)


def loss_weights(sigma: torch.Tensor, mouth_xy: torch.Tensor, size: int, weighting: str,
                 mouth_strength: float, mouth_radius: float) -> torch.Tensor:
    """The product of the noise-level and mouth weights, (B, F, 1, S, S), for cfm_loss."""
    per_example = sigma_weight(sigma, weighting).view(-1, 1, 1, 1, 1)
    return per_example * mouth_weight_map(mouth_xy, size, mouth_strength, mouth_radius)


def viseme_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of (B, F, 5) predicted mouth parameters over the known targets;
    NaN targets (clips from real videos) are skipped, and a batch without any gives 0
    (still connected to the graph, so every parameter gets a gradient, as DDP wants)."""
    known = ~torch.isnan(target)
    if not known.any():
        return predicted.sum() * 0.0
    return torch.mean((predicted.float()[known] - target.float()[known]) ** 2)


def mouth_glimpses(clips: torch.Tensor, mouth_xy: torch.Tensor, span: float, size: int) -> torch.Tensor:
    """(B, F, 3, S, S) clips in [-1, 1] -> (B, F, 3, size, size) in [0, 1]: a square of side
    `span` x the crop's around each frame's mouth (mouth_xy (B, F, 2) in [0, 1] crop
    coordinates), resampled bilinearly, so gradients reach the clips. It cuts the same
    square as bench.sync.mouth_windows does with OpenCV, for the sync expert."""
    b, f, c, s, _ = clips.shape
    xy = mouth_xy.reshape(b * f, 2).float()
    theta = torch.zeros(b * f, 2, 3, device=clips.device)
    theta[:, 0, 0] = theta[:, 1, 1] = span  # affine_grid's [-1, 1] spans the whole crop
    theta[:, :, 2] = 2 * xy - 1
    grid = F.affine_grid(theta, [b * f, c, size, size], align_corners=False)
    out = F.grid_sample(clips.flatten(0, 1).float(), grid, mode="bilinear", padding_mode="border",
                        align_corners=False)
    return ((out + 1) / 2).reshape(b, f, c, size, size)


def sync_loss(expert, glimpses: torch.Tensor, audio: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Wav2Lip's expert loss in cosine form: mean 1 - cos(video, audio embedding) over every
    window of `expert.config.frames` consecutive mouth glimpses (B, F, 3, P, P) and the audio
    window of its middle frame (audio (B, F, W, C): the DiT's own windows, which are the
    expert's when both use the same frontend and window length). `keep` (B,) selects the
    examples whose audio was not dropped; with none kept the loss is 0 (still in the graph).
    The expert is frozen; only the clips it looks at get gradients."""
    k = expert.config.frames
    b, f = glimpses.shape[:2]
    starts = range(f - k + 1)
    video = torch.cat([glimpses[:, i:i + k].flatten(1, 2) for i in starts])  # (n*B, k*3, P, P)
    sound = torch.cat([audio[:, i + k // 2] for i in starts])  # (n*B, W, C)
    cos = (expert.embed_video(video) * expert.embed_audio(sound)).sum(-1)  # (n*B,)
    mask = keep.repeat(len(starts)).float()
    return ((1 - cos) * mask).sum() / mask.sum().clamp(min=1.0)
