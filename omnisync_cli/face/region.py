"""The square working region around the mouth, and cropping it out of a frame.

Training crops (synthetic corpus, prepared real videos) and inference crops use this one
rule, so that the model always sees a face framed the same way.
"""

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


def crop_region(frame: np.ndarray, box: RegionBox, size: int) -> np.ndarray:
    """Resample the box out of `frame` (H, W, 3) into a (size, size, 3) crop.

    Sub-pixel exact (an affine warp, not an integer slice), and parts of the box outside the
    frame repeat the border pixels, so a face at the edge of the picture still gives a crop.
    """
    scale = size / box.side
    # Maps frame pixel centres to crop pixel centres: crop = (frame - box.left) * scale.
    matrix = np.array(
        [[scale, 0.0, -box.left * scale + 0.5 * scale - 0.5],
         [0.0, scale, -box.top * scale + 0.5 * scale - 0.5]],
        dtype=np.float64,
    )
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
