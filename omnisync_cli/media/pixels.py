"""Per-pixel reductions over an image's colour channels, written as element-wise operations.

numpy's reductions over a short last axis (`mask.any(axis=-1)`, `values.max(axis=-1)` on
(H, W, 3) arrays) run through its general reduction machinery and are 5-20x slower than
the same result from the channel planes combined pairwise (a 320 x 320 RGB mask: 2.2 ms
against 0.4 ms; the maximum of its float values 4.7 ms against 0.23 ms). A dub computes
these on every frame it pastes.
"""

import numpy as np


def any_channel(mask: np.ndarray) -> np.ndarray:
    """(..., C) bool -> (...): whether any channel is set; `mask.any(axis=-1)`."""
    out = mask[..., 0].copy()
    for c in range(1, mask.shape[-1]):
        out |= mask[..., c]
    return out


def max_channel(values: np.ndarray) -> np.ndarray:
    """(..., C) -> (...): the largest channel; `values.max(axis=-1)`."""
    out = values[..., 0].copy()
    for c in range(1, values.shape[-1]):
        np.maximum(out, values[..., c], out=out)
    return out

