"""Hiding the source's mouth from the model: a box around each frame's mouth filled with the
frame's mean colour, so the mouth must come from the audio and the reference frames instead
of being copied from the source (the lower-half mask of Wav2Lip and LatentSync, as a box)."""

import torch

HIDDEN_SIDE = 0.4  # side of the hidden box, as a share of the crop (the mouth's working region)


def hide_mouth(clips: torch.Tensor, mouth_xy: torch.Tensor, side: float = HIDDEN_SIDE) -> torch.Tensor:
    """(..., 3, S, S) clips with a square of `side` x S around each frame's mouth (..., 2) in
    [0, 1] crop coordinates (x, y) filled with that frame's mean colour."""
    s = clips.shape[-1]
    centres = (torch.arange(s, dtype=torch.float32, device=clips.device) + 0.5) / s
    mouth = mouth_xy.to(clips.device, torch.float32)
    inside_x = (centres - mouth[..., 0, None]).abs() <= side / 2  # (..., S) over columns
    inside_y = (centres - mouth[..., 1, None]).abs() <= side / 2  # (..., S) over rows
    box = (inside_y[..., :, None] & inside_x[..., None, :])[..., None, :, :]  # (..., 1, S, S)
    return torch.where(box, clips.mean(dim=(-2, -1), keepdim=True), clips)
