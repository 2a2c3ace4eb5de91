"""Where the mouth is when no finder says: the user's overrides (`--mouth`, `--region`), or the
frame centre with a region of `fallback_size` x the shorter frame side (only with
`--centre-fallback`): the design's "centred-Gaussian fallback", on whose estimate DS-CFG
centres its Gaussian.

Also OpenCV's frontal-face Haar cascade (`HaarFaceFinder`, mouth placed in the lower part of
the face box). The tracker no longer uses it (the learned mouth localiser finds what MediaPipe
does not); the finders' benchmark (`bench/localiser.py`) compares against it, as the localiser
issue asks.
"""

import cv2
import numpy as np

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.region import REGION_SCALE, RegionBox

# Where the mouth and cheeks sit inside an OpenCV frontal-face Haar box, as fractions of
# the box: measured on the corpus generator's drawn human faces, whose true mouth and face
# width it knows (`python bench/haar_fractions.py`: 21 of 40 faces found once; medians 0.503,
# 0.718, 0.795). No photograph may be used for it here (the one installed face photo is kept
# for independent evaluation). Real faces are MediaPipe's; this runs only without it.
HAAR_MOUTH_X, HAAR_MOUTH_Y, HAAR_FACE_WIDTH = 0.5, 0.72, 0.8

# The cascade runs on a copy whose longer side is at most this: Haar cost grows with the
# pixel count, and a face big enough to dub (8% of the shorter side or more) is found at this scale.
HAAR_MAX_SIDE = 320


class HaarFaceFinder:
    """OpenCV's `haarcascade_frontalface_default.xml` (ships with opencv-contrib-python)."""

    def __init__(self) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ConfigError(f"OpenCV's Haar face cascade is missing ({path}); reinstall opencv-contrib-python")

    def detect(self, image: np.ndarray) -> list[FaceObservation]:
        """Frontal faces in an RGB uint8 frame, each with an estimated mouth centre."""
        height, width = image.shape[:2]
        scale = min(1.0, HAAR_MAX_SIDE / max(height, width))
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        min_side = max(24, round(0.08 * min(gray.shape)))
        boxes = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        return [haar_box_observation(x / scale, y / scale, w / scale, h / scale) for x, y, w, h in boxes]


def haar_box_observation(left: float, top: float, width: float, height: float) -> FaceObservation:
    """Mouth and face width estimated from a Haar face box (left, top, width, height)."""
    return FaceObservation(left + HAAR_MOUTH_X * width, top + HAAR_MOUTH_Y * height,
                           HAAR_FACE_WIDTH * width, (left, top, left + width, top + height))


def centre_box(frame_width: int, frame_height: int, fallback_size: float) -> RegionBox:
    """The last resort: a square of `fallback_size` x the shorter side at the frame centre."""
    side = fallback_size * min(frame_width, frame_height)
    return RegionBox.around_mouth(frame_width / 2, frame_height / 2, side / REGION_SCALE)


def _check_inside(x: float, y: float, frame_width: int, frame_height: int, what: str) -> None:
    if not (0 <= x <= frame_width and 0 <= y <= frame_height):
        raise ConfigError(f"{what} ({x:g}, {y:g}) lies outside the {frame_width}x{frame_height} frame; "
                          "give pixel coordinates inside the video")


def override_box(mouth: tuple[float, float] | None, region: tuple[float, float, float, float] | None,
                 frame_width: int, frame_height: int, fallback_size: float
                 ) -> tuple[RegionBox, tuple[float, float]]:
    """The constant (box, mouth centre) of `--mouth X,Y` and/or `--region X,Y,W,H`.

    `--region`: the square of side max(W, H) around the rectangle's centre; the mouth is at
    that centre unless `--mouth` places it. `--mouth` alone: a box centred on it, sized like
    the centre fallback (`fallback_size` x the shorter frame side).
    """
    if region is not None:
        left, top, width, height = region
        cx, cy = left + width / 2, top + height / 2
        _check_inside(cx, cy, frame_width, frame_height, "the centre of --region")
        box = RegionBox(cx, cy, max(width, height))
    if mouth is not None:
        _check_inside(mouth[0], mouth[1], frame_width, frame_height, "--mouth")
        if region is None:
            box = RegionBox.around_mouth(*mouth, fallback_size * min(frame_width, frame_height) / REGION_SCALE)
        return box, (float(mouth[0]), float(mouth[1]))
    if region is None:
        raise ValueError("override_box needs a mouth or a region")
    return box, (box.cx, box.cy)
