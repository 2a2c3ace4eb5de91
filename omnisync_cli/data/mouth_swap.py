"""Stand-in pseudo-pairs for a real video: its own frames with another moment's mouth.

Eq. 3's pseudo-pair is the target's frames rendered with another utterance: the same pose,
other lips. The corpus renders it; a real video (one utterance per scene) has none, so
training on one video alone could only learn the low noise levels, where the target's own
mouth still shows through the noise and copying it wins (measured: per-video adaptation made
sync worse, bench/results/adapt-long.md). The stand-in: each working-region crop with its
mouth area replaced by the mouth area of another moment of the same video, moved so the two
tracked mouth centres coincide and blended in through a feathered ellipse. The pose, the
face and the background are the target's; the lips say something else, so only the audio
can tell the network what the target's lips look like.

The ellipse is sized from the working region, not from the mouth (a drawn character's mouth
size is not known): the working region is 0.8 x the face width, and the ellipse covers
0.64 x 0.48 of it, wider than a human mouth (about 0.45 x the face width) and most drawn
ones, so that no part of the target's own lips is left to copy.
"""

import cv2
import numpy as np

HALF_WIDTH = 0.32  # the ellipse's semi-axes, as fractions of the crop side
HALF_HEIGHT = 0.24
FEATHER = 0.35  # the outer share of each semi-axis over which the donor fades out


def mouth_mask(size: int, centre_xy: tuple[float, float], half_width: float = HALF_WIDTH,
               half_height: float = HALF_HEIGHT, feather: float = FEATHER) -> np.ndarray:
    """(size, size) float32 weight of the donor: 1 inside the ellipse's core, falling linearly
    in the elliptic radius to 0 at its rim. `centre_xy` in [0, 1] crop coordinates."""
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    dx = (coords[None, :] - centre_xy[0]) / half_width
    dy = (coords[:, None] - centre_xy[1]) / half_height
    radius = np.sqrt(dx ** 2 + dy ** 2)
    return np.clip((1.0 - radius) / feather, 0.0, 1.0).astype(np.float32)


def shifted(crop: np.ndarray, dx_px: float, dy_px: float) -> np.ndarray:
    """`crop` moved by (dx, dy) pixels, the uncovered border filled by reflection."""
    matrix = np.float32([[1, 0, dx_px], [0, 1, dy_px]])
    size = crop.shape[1], crop.shape[0]
    return cv2.warpAffine(crop, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def swap_mouths(crops: np.ndarray, mouth_xy: np.ndarray, donors: np.ndarray,
                donor_mouth_xy: np.ndarray, reach: float | np.ndarray = 1.0) -> np.ndarray:
    """(T, S, S, 3) uint8: frame t of `crops` with the mouth area of `donors[t]`, the donor's
    tracked mouth centre moved onto the frame's own. Mouth centres: (T, 2) in [0, 1]; `reach`
    (one for all frames, or (T,)): the ellipse's semi-axes as multiples of HALF_WIDTH / HALF_HEIGHT."""
    if len(crops) != len(donors):
        raise ValueError(f"{len(crops)} frames but {len(donors)} donors")
    size = crops.shape[1]
    reach = np.broadcast_to(np.asarray(reach, np.float32), (len(crops),))
    out = np.empty_like(crops)
    for t, (crop, donor) in enumerate(zip(crops, donors)):
        (x, y), (dx, dy) = mouth_xy[t], donor_mouth_xy[t]
        moved = shifted(donor, (x - dx) * size, (y - dy) * size).astype(np.float32)
        weight = mouth_mask(size, (float(x), float(y)), HALF_WIDTH * reach[t], HALF_HEIGHT * reach[t])[..., None]
        out[t] = np.rint(weight * moved + (1 - weight) * crop.astype(np.float32)).astype(np.uint8)
    return out


def donor_frames(start: int, stop: int, span: tuple[int, int]) -> np.ndarray:
    """Indices of the donors for frames [start, stop) of `span` = [first, last): the same run
    of frames taken half the span later, wrapping inside the span, so that the donated mouth
    moves as speech does and comes from another moment (at least a second away in a span of
    two seconds or more)."""
    first, last = span
    length = last - first
    if length < 2 or not first <= start <= stop <= last:
        raise ValueError(f"frames [{start}, {stop}) need a donor span of two frames or more around them, got {span}")
    return first + (np.arange(start, stop) - first + length // 2) % length
