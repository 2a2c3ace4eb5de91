"""The square working region around the mouth, and cropping it out of a frame.

Training crops (synthetic corpus, prepared real videos) and inference crops use this one
rule, so that the model always sees a face framed the same way.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Side of the working region as a multiple of the cheek-to-cheek face width: wide enough to
# hold the lips, jaw and chin at any opening, small enough to leave eyes and hair outside.
REGION_SCALE = 1.0


@dataclass(frozen=True)
class RegionBox:
    """An axis-aligned square of side `side` pixels centred on (cx, cy), the mouth centre."""

    cx: float
    cy: float
    side: float

    @classmethod
    def around_mouth(cls, mouth_x: float, mouth_y: float, face_width: float) -> "RegionBox":
        return cls(float(mouth_x), float(mouth_y), float(REGION_SCALE * face_width))

    @property
    def left(self) -> float:
        return self.cx - self.side / 2

    @property
    def top(self) -> float:
        return self.cy - self.side / 2


def antialias_sigma(shrink: float) -> float:
    """Gaussian sigma (source pixels) to blur with before shrinking by `shrink` (> 1).

    (shrink - 1) / 2, scikit-image's choice for `rescale(anti_aliasing=True)`: without it a
    box several times the crop size aliases (bilinear reads only 2x2 of the source pixels).
    """
    return max(0.0, (shrink - 1.0) / 2.0)


def crop_source_bounds(box: RegionBox, size: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive: the frame pixels `crop_region` reads for this box,
    the box plus the anti-alias blur's reach, clipped to the frame (the warp's border
    replication then stands in for everything outside it)."""
    margin = math.ceil(3 * antialias_sigma(1.0 / (size / box.side))) + 2
    x0 = min(max(math.floor(box.left) - margin, 0), width - 1)
    y0 = min(max(math.floor(box.top) - margin, 0), height - 1)
    x1 = max(min(math.ceil(box.left + box.side) + margin, width), x0 + 1)
    y1 = max(min(math.ceil(box.top + box.side) + margin, height), y0 + 1)
    return x0, y0, x1, y1


def crop_region(frame: np.ndarray, box: RegionBox, size: int) -> np.ndarray:
    """Resample the box out of `frame` (H, W, 3) into a (size, size, 3) crop.

    Sub-pixel exact (an affine warp, not an integer slice), and parts of the box outside the
    frame repeat the border pixels, so a face at the edge of the picture still gives a crop.
    A box larger than `size` is low-pass filtered first (only around the box) so that fine
    texture does not alias.
    """
    scale = size / box.side
    height, width = frame.shape[:2]
    sigma = antialias_sigma(1.0 / scale)
    x0, y0, x1, y1 = crop_source_bounds(box, size, width, height)
    source = frame[y0:y1, x0:x1]
    if sigma > 0:
        source = cv2.GaussianBlur(source, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    # Maps frame pixel centres to crop pixel centres: crop = (frame - box.left) * scale.
    matrix = np.array(
        [[scale, 0.0, (x0 - box.left) * scale + 0.5 * scale - 0.5],
         [0.0, scale, (y0 - box.top) * scale + 0.5 * scale - 0.5]],
        dtype=np.float64,
    )
    return cv2.warpAffine(source, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
