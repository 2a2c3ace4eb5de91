"""Put an edited working-region crop back into its frame with a feathered edge.

The inverse of `region.crop_region`: the crop's pixel grid is mapped back onto the box
(same continuous convention, pixel k covers [k, k + 1)) and blended in with a mask that
ramps from 0 at the box edge to 1 at `feather` x side inside it, so the edit fades into
the untouched source without a seam. Pixels whose centre lies outside the box, and pixels
where the mask is 0, keep the source frame's values bit for bit.
"""

import math

import cv2
import numpy as np

from omnisync_cli.face.region import RegionBox, antialias_sigma
from omnisync_cli.media.pixels import max_channel


def paste_bounds(box: RegionBox, frame_width: int, frame_height: int) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1), end-exclusive: the frame pixels whose centre is inside the box.

    Only these pixels can change when pasting; all others are the source frame's.
    May be empty (x1 <= x0 or y1 <= y0) when the box lies outside the frame.
    """
    def span(low: float, high: float, limit: int) -> tuple[int, int]:
        # pixel k is inside when low < k + 0.5 < high
        return (min(max(math.floor(low - 0.5) + 1, 0), limit),
                min(max(math.ceil(high - 0.5), 0), limit))
    x0, x1 = span(box.left, box.left + box.side, frame_width)
    y0, y1 = span(box.top, box.top + box.side, frame_height)
    return x0, y0, x1, y1


def feather_ramp(distance: np.ndarray, width: float) -> np.ndarray:
    """Smoothstep from 0 (at the box edge) to 1 (at `width` pixels inside it)."""
    if width <= 0:
        return (distance > 0).astype(np.float32)
    r = np.clip(distance / width, 0.0, 1.0)
    return (r * r * (3.0 - 2.0 * r)).astype(np.float32)


def focus_weight(dx: np.ndarray, dy: np.ndarray, spread: float) -> np.ndarray:
    """exp(-(dx^2 + dy^2) / (2 spread^2)): how much of the edit is kept at an offset from the
    mouth (pixels); `spread` <= 0 keeps all of it."""
    if spread <= 0:
        return np.ones(np.broadcast_shapes(dy.shape, dx.shape), np.float32)
    return np.exp(-(dx ** 2 + dy ** 2) / (2.0 * spread ** 2)).astype(np.float32)


def paste_region(frame: np.ndarray, patch: np.ndarray, box: RegionBox, feather: float = 0.1,
                 original: np.ndarray | None = None, mouth: tuple[float, float] | None = None,
                 focus: float = 0.0, redrawn: float = 0.0) -> np.ndarray:
    """`frame` with `paste_change` added (rounded, clipped): a new uint8 frame; `frame` is not
    modified."""
    out = frame.copy()
    x0, y0, change = paste_change(frame, patch, box, feather, original, mouth, focus, redrawn)
    if change.size:
        part = out[y0:y0 + change.shape[0], x0:x0 + change.shape[1]]
        part[...] = np.clip(np.rint(part.reshape(change.shape) + change), 0, 255).astype(np.uint8).reshape(part.shape)
    return out


def paste_change(frame: np.ndarray, patch: np.ndarray, box: RegionBox, feather: float = 0.1,
                 original: np.ndarray | None = None, mouth: tuple[float, float] | None = None,
                 focus: float = 0.0, redrawn: float = 0.0) -> tuple[int, int, np.ndarray]:
    """What blending an edited crop `patch` (S, S, C) back into `frame` (H, W, C) at `box`
    adds to it: (x0, y0, change), `change` (h, w, C) float32 levels over the frame pixels
    [x0, x0 + w) x [y0, y0 + h) (`paste_bounds`; empty where the box misses the frame).

    `feather` is the fraction of the box side over which the blend ramps up from the edge
    (0: hard edge, at most 0.5). Parts of the box outside the frame are dropped.

    With `original` (the unedited crop the patch was made from), only the edit
    `patch - original` is resized and added to the frame: where the model changed
    nothing, the frame keeps its full-resolution detail (a 64 px crop of a 180 px face
    otherwise blurs the whole box), at the price of the source's fine detail showing
    through where the mouth changed. With `redrawn` > 0 (levels) that detail is dropped where
    the edit is that large or larger (in proportion below it): a mouth the model redrew, closed
    where the source's was open, shows no ring of the old mouth's outline (a user tour measured
    half its edge contrast left), while the unchanged skin around it keeps its detail.

    With `focus` > 0 the edit also fades with the distance from `mouth` (frame px; default
    the box centre): a Gaussian of `focus` x side, so what the model changes far from the
    mouth (cheeks, background) stays the source.
    """
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather must be in [0, 0.5] of the box side, got {feather}")
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = paste_bounds(box, width, height)
    if x1 <= x0 or y1 <= y0:
        return x0, y0, np.zeros((0, 0, frame.shape[2] if frame.ndim == 3 else 1), np.float32)
    size = patch.shape[0]
    scale = size / box.side  # patch pixels per frame pixel
    # Frame pixel centre x + 0.5 sits at patch continuous coordinate (x + 0.5 - left) * scale,
    # i.e. patch pixel index that minus 0.5. Maps ROI pixel (j, i) -> patch (u, v).
    matrix = np.array(
        [[scale, 0.0, (x0 + 0.5 - box.left) * scale - 0.5],
         [0.0, scale, (y0 + 0.5 - box.top) * scale - 0.5]],
        dtype=np.float64,
    )

    def to_frame(picture: np.ndarray) -> np.ndarray:  # (S, S, C) patch pixels -> (h, w, C) frame pixels
        picture = picture.astype(np.float32)
        if scale > 1.0:  # the box is smaller than the patch: low-pass before shrinking
            picture = cv2.GaussianBlur(picture, (0, 0), antialias_sigma(scale), borderType=cv2.BORDER_REPLICATE)
        warped = cv2.warpAffine(picture, matrix, (x1 - x0, y1 - y0),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        return warped.reshape(y1 - y0, x1 - x0, -1)  # warpAffine drops a channel axis of 1

    warped = to_frame(patch if original is None else patch.astype(np.float32) - original.astype(np.float32))
    # Distance of each pixel centre to the nearer box edge, per axis.
    xs = np.arange(x0, x1) + 0.5
    ys = np.arange(y0, y1) + 0.5
    dx = np.minimum(xs - box.left, box.left + box.side - xs)
    dy = np.minimum(ys - box.top, box.top + box.side - ys)
    ramp_width = feather * box.side
    mask = feather_ramp(dy, ramp_width)[:, None] * feather_ramp(dx, ramp_width)[None, :]  # (h, w)
    mx, my = mouth if mouth is not None else (box.cx, box.cy)
    mask = mask * focus_weight((xs - mx)[None, :], (ys - my)[:, None], focus * box.side)
    source = frame[y0:y1, x0:x1].astype(np.float32).reshape(warped.shape)
    edit = warped if original is not None else warped - source
    if original is not None and redrawn > 0:
        detail = source - to_frame(original)  # what the model's resolution does not hold
        strength = np.clip(max_channel(np.abs(edit)) / redrawn, 0.0, 1.0)
        strength = cv2.GaussianBlur(strength, (0, 0), max(1.0, 1.0 / scale))  # a patch pixel's reach
        edit = edit - strength[..., None] * detail
    return x0, y0, edit * mask[..., None]
