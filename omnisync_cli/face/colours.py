"""Do no harm to colour: the edit may change how light a pixel is, but not give it a hue the
source region never had.

A model trained on drawn characters paints drawn-character colours (pink lips on a real
face). The editor's output is therefore held to the source crops' own colours: in YCrCb,
each chroma channel of an edited pixel is clamped to the range (quantiles) that channel
spans in the source crops of the same segment. Luma is left alone (an opening mouth gets
darker), and pixels the editor did not change stay exactly as decoded.
"""

import cv2
import numpy as np

from omnisync_cli.media.pixels import any_channel

GAMUT_QUANTILE = 0.005  # the source's chroma range ignores this share at each end (noise, stray pixels)


def chroma_range(source: np.ndarray, quantile: float = GAMUT_QUANTILE) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of Cr and Cb over (F, S, S, 3) uint8 RGB crops, each shape (2,)."""
    ycc = cv2.cvtColor(source.reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(-1, 3)[:, 1:]
    return np.quantile(ycc, quantile, axis=0), np.quantile(ycc, 1 - quantile, axis=0)


def keep_source_colours(edited: np.ndarray, source: np.ndarray, quantile: float = GAMUT_QUANTILE) -> np.ndarray:
    """`edited` (F, S, S, 3) uint8 RGB with every changed pixel's chroma clamped into the
    chroma range of `source` (the same crops before the edit)."""
    if np.array_equal(edited, source):  # nothing edited (a pass-through dub): nothing to hold
        return edited
    low, high = chroma_range(source, quantile)
    ycc = cv2.cvtColor(edited.reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(edited.shape).astype(np.float32)
    ycc[..., 1:] = np.clip(ycc[..., 1:], low, high)
    held = cv2.cvtColor(np.rint(ycc).astype(np.uint8).reshape(-1, 1, 3), cv2.COLOR_YCrCb2RGB).reshape(edited.shape)
    changed = any_channel(edited != source)[..., None]
    return np.where(changed, held, edited)
