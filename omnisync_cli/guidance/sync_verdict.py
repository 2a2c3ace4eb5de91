"""Keep an edit only where a sync expert hears it follow the speech better than the source.

The network cannot dub every character: on a style it has never seen it may smudge the mouth,
or paint beside it, and the dub is then worse than the source. A sync expert (bench.sync: a
SyncNet-style pair of encoders) scores how well a few frames of mouth go with the audio at
their middle frame. Per frame, the verdict compares the expert's agreement of the edited mouth
with the new speech against that of the source's mouth, on the same frames and audio:

    gain_j = mean over the expert's windows w that hold frame j of  cos(edited_w, a_w) - cos(source_w, a_w)

and keeps the edit in the share clip((gain_j - margin) / ramp, 0, 1); the rest is the source.
Where the model does not help, the source stays as it was (do no harm).

The expert that judges should be one the network was not trained to please: the guard expert
(bench.sync.GUARD_SYNC_EXPERT), not the bundled one of the sync loss.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class VerdictConfig:
    margin: float = 0.0   # the gain in cosine an edit must show before any of it is kept
    ramp: float = 0.05    # the further gain over which the kept share rises from 0 to 1


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


def window_agreement(expert, glimpses: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """(B, n) cosine of the expert's video and audio embeddings for every window of
    `expert.config.frames` consecutive glimpses (B, F, 3, P, P) in [0, 1], against the audio
    window (B, F, W, C) of the window's middle frame; n = F - frames + 1."""
    k = expert.config.frames
    b, f = glimpses.shape[:2]
    starts = range(f - k + 1)
    video = torch.cat([glimpses[:, i:i + k].flatten(1, 2) for i in starts])  # (n*B, k*3, P, P)
    sound = torch.cat([audio[:, i + k // 2] for i in starts])  # (n*B, W, C)
    cos = (expert.embed_video(video) * expert.embed_audio(sound)).sum(-1)
    return cos.view(len(starts), b).T


def frame_gain(window_gain: torch.Tensor, frames: int, window: int) -> torch.Tensor:
    """(B, n) per-window gains -> (B, frames): each frame's mean over the windows holding it."""
    b, n = window_gain.shape
    cover = torch.zeros(n, frames)
    for i in range(n):
        cover[i, i:i + window] = 1.0
    return (window_gain @ cover) / cover.sum(0)


def kept_share(gain: torch.Tensor, config: VerdictConfig) -> torch.Tensor:
    """The share of the edit kept, from a frame's gain: 0 up to the margin, 1 past margin + ramp."""
    return ((gain - config.margin) / config.ramp).clamp(0.0, 1.0)


@torch.no_grad()
def verdict(expert, source: torch.Tensor, edited: torch.Tensor, mouth_xy: torch.Tensor, audio: torch.Tensor,
            span: float, config: VerdictConfig = VerdictConfig()) -> torch.Tensor:
    """(B, F) share of the edit to keep per frame. `source`, `edited`: (B, F, 3, S, S) clips in
    [-1, 1]; `mouth_xy` (B, F, 2) in [0, 1] crop coordinates; `audio` (B, F, W, C) the expert's
    windows; `span`: the expert's mouth square as a share of the crop side. A segment shorter
    than the expert's window keeps everything (nothing to judge)."""
    b, f = source.shape[:2]
    k = expert.config.frames
    if f < k:
        return torch.ones(b, f)
    px = expert.config.mouth_px
    ours = window_agreement(expert, mouth_glimpses(edited.float(), mouth_xy, span, px), audio.float())
    theirs = window_agreement(expert, mouth_glimpses(source.float(), mouth_xy, span, px), audio.float())
    return kept_share(frame_gain((ours - theirs).cpu(), f, k), config)
