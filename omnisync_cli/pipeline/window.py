"""The part of a frame a dub reads, so that only it goes through RGB, and the edit's paste.

A dub crops the working region out of each frame and pastes the edit back; everything else
is written as decoded (media.yuv). Converting the whole frame to RGB for that costs ~7 ms a
1080p frame; the window around the region costs a fraction of it and gives the same bytes:
it holds every pixel the crop reads (face.region.crop_source_bounds) and every pixel the
paste reads (face.paste.paste_bounds), plus a margin for the chroma interpolation of the
conversion to RGB, and it is cut at even coordinates so its chroma samples are the frame's.
The paste itself adds the edit's change to the decoded planes (media.yuv.add_rgb_change):
the picture never goes back from RGB to YUV.
"""

from dataclasses import dataclass

import numpy as np

from omnisync_cli.face.paste import focus_weight, paste_bounds, paste_change
from omnisync_cli.face.region import RegionBox, crop_region, crop_source_bounds
from omnisync_cli.media.yuv import HdrPlanes, Planes, add_rgb_change, chroma_rect, hdr_replace_rect, planes_to_rgb

# Pixels around what is read for the bilinear chroma interpolation of YUV -> RGB to see the
# frame's own neighbours (two chroma samples).
CHROMA_MARGIN = 4
# Window sides are grown to a multiple of this: a conversion frame of a new size costs about
# 0.6 ms to make (media.yuv._sited_frame), and a moving region would ask for a new size at
# nearly every frame (1 s of a 60 s 720p pass-through went to it).
SIDE_STEP = 32


@dataclass(frozen=True)
class Window:
    """An RGB part of a frame whose top-left pixel is (left, top) of the frame."""

    left: int
    top: int
    image: np.ndarray  # (h, w, 3) uint8

    def box(self, box: RegionBox) -> RegionBox:
        """A frame box in window coordinates (integer shifts: exact in float)."""
        return RegionBox(box.cx - self.left, box.cy - self.top, box.side)


def window_bounds(box: RegionBox, size: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, even-aligned inside a width x height frame: what a
    crop of `box` at `size` and its paste back read."""
    cx0, cy0, cx1, cy1 = crop_source_bounds(box, size, width, height)
    px0, py0, px1, py1 = paste_bounds(box, width, height)
    if px1 > px0 and py1 > py0:
        cx0, cy0, cx1, cy1 = min(cx0, px0), min(cy0, py0), max(cx1, px1), max(cy1, py1)
    x0, x1 = _grown(cx0 - CHROMA_MARGIN, cx1 + CHROMA_MARGIN, width)
    y0, y1 = _grown(cy0 - CHROMA_MARGIN, cy1 + CHROMA_MARGIN, height)
    return x0, y0, x1, y1


def _grown(start: int, stop: int, length: int) -> tuple[int, int]:
    """[start, stop) at even ends, grown to a multiple of SIDE_STEP where the frame allows
    (to the right first, then to the left), inside [0, length)."""
    start, stop = max(0, start // 2 * 2), min(length, -(-stop // 2) * 2)
    side = -(-(stop - start) // SIDE_STEP) * SIDE_STEP
    stop = min(length, start + side)
    start = max(0, stop - side)
    return start, stop


def window_of(planes: Planes, box: RegionBox, size: int) -> Window:
    """The RGB window of `planes` for `box`; inside CHROMA_MARGIN of its edges its pixels are
    those of `planes_to_rgb(planes)`. An odd-sized frame (which a dub refuses anyway) gets
    its whole RGB: its chroma is converted at a slightly different scale."""
    if planes.width % 2 or planes.height % 2:
        return Window(0, 0, planes_to_rgb(planes))
    x0, y0, x1, y1 = window_bounds(box, size, planes.width, planes.height)
    part = Planes(np.ascontiguousarray(planes.y[y0:y1, x0:x1]),
                  np.ascontiguousarray(planes.u[y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2]),
                  np.ascontiguousarray(planes.v[y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2]))
    return Window(x0, y0, planes_to_rgb(part))


def crop_from_window(window: Window, box: RegionBox, size: int) -> np.ndarray:
    """face.region.crop_region of the whole frame, from the window."""
    return crop_region(window.image, window.box(box), size)


def paste_into_planes(planes: Planes, window: Window, edited: np.ndarray, box: RegionBox, feather: float,
                      original: np.ndarray, mouth: tuple[float, float], focus: float, redrawn: float = 0.0,
                      chroma_focus: float = 0.0) -> Planes:
    """The change face.paste.paste_change makes to the window, held inside the RGB cube and
    added to the planes (media.yuv.add_rgb_change); `mouth` in frame pixels. With
    `chroma_focus` > 0 the change's chroma also fades with the distance from the mouth, a
    Gaussian of `chroma_focus` x the box side."""
    if np.array_equal(edited, original):  # nothing edited (a pass-through, a kept frame): nothing to paste
        return planes
    x0, y0, change = paste_change(window.image, edited, window.box(box), feather, original=original,
                                  mouth=(mouth[0] - window.left, mouth[1] - window.top), focus=focus,
                                  redrawn=redrawn)
    # The change the frame can show: the pasted colour stays inside the RGB cube, as a paste
    # in RGB would have kept it (unclipped, a change past black or full red would spill into
    # the neighbours sharing its chroma sample).
    shown = window.image[y0:y0 + change.shape[0], x0:x0 + change.shape[1]].astype(np.float32)
    change = np.clip(shown + change, 0.0, 255.0) - shown
    left, top = x0 + window.left, y0 + window.top
    gain = None
    if chroma_focus > 0 and change.size:
        cx0, cy0, cx1, cy1 = chroma_rect(planes, left, top, left + change.shape[1], top + change.shape[0])
        xs, ys = 2.0 * np.arange(cx0, cx1) + 1.0, 2.0 * np.arange(cy0, cy1) + 1.0  # sample centres, luma pixels
        gain = focus_weight((xs - mouth[0])[None, :], (ys - mouth[1])[:, None], chroma_focus * box.side)
    return add_rgb_change(planes, change, left, top, gain)


def paste_into_hdr(hdr: HdrPlanes, before: Planes, after: Planes, box: RegionBox) -> HdrPlanes:
    """The decoded 10-bit planes of an HDR frame with the change that `paste_into_planes` made
    to their 8-bit reading (`before` -> `after`) carried into them, inside the paste's box."""
    return hdr_replace_rect(hdr, before, after, *paste_bounds(box, before.width, before.height))
