"""Cropping and pasting through a window of the frame gives exactly the bytes of doing it on
the whole frame's RGB, and a paste moves only the samples its change reaches."""

import numpy as np
import pytest

from omnisync_cli.face.paste import paste_change
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.media.yuv import Planes, add_rgb_change, planes_to_rgb, rgb_to_planes
from omnisync_cli.pipeline.window import (
    CHROMA_MARGIN, SIDE_STEP, crop_from_window, paste_into_planes, window_bounds, window_of,
)


def textured_planes(height, width, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    rgb[height // 3:, :, 0] = 255  # a hard, saturated edge for the chroma filters
    return rgb_to_planes(rgb)


BOXES = [  # (cx, cy, side) in a 240 x 320 frame: inside, at each edge, past a corner, big, tiny
    (160.3, 120.7, 90.2), (20.5, 119.25, 70.0), (300.75, 60.1, 80.9), (150.0, 10.2, 64.0),
    (170.6, 230.4, 100.3), (5.0, 5.0, 60.0), (160.0, 120.0, 400.0), (100.37, 80.11, 17.3),
]


@pytest.mark.parametrize("size", [16, 64])
@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("shape", [(240, 320), (239, 321)])
def test_window_crop_and_paste_equal_the_whole_frame(box, size, shape):
    planes = textured_planes(*shape)
    box = RegionBox(*box)
    whole = planes_to_rgb(planes)
    window = window_of(planes, box, size)
    assert window.left % 2 == 0 and window.top % 2 == 0
    # Inside its chroma margin (its edges that are not the frame's see no neighbours) the
    # window is the whole frame's RGB.
    h, w = window.image.shape[:2]
    top = 0 if window.top == 0 else CHROMA_MARGIN
    left = 0 if window.left == 0 else CHROMA_MARGIN
    bottom = h if window.top + h == shape[0] else h - CHROMA_MARGIN
    right = w if window.left + w == shape[1] else w - CHROMA_MARGIN
    np.testing.assert_array_equal(window.image[top:bottom, left:right],
                                  whole[window.top + top:window.top + bottom, window.left + left:window.left + right])
    crop = crop_from_window(window, box, size)
    np.testing.assert_array_equal(crop, crop_region(whole, box, size))

    edited = np.random.default_rng(1).integers(0, 256, crop.shape, dtype=np.uint8)
    mouth = (box.cx + 0.31 * box.side / 4, box.cy + 0.17 * box.side / 3)
    ours = paste_into_planes(planes, window, edited, box, 0.2, crop, mouth, 0.3, redrawn=24.0)
    x0, y0, change = paste_change(whole, edited, box, 0.2, original=crop, mouth=mouth, focus=0.3, redrawn=24.0)
    shown = whole[y0:y0 + change.shape[0], x0:x0 + change.shape[1]].astype(np.float32)
    theirs = add_rgb_change(planes, np.clip(shown + change, 0, 255) - shown, x0, y0)
    for a, b in zip((ours.y, ours.u, ours.v), (theirs.y, theirs.u, theirs.v)):
        np.testing.assert_array_equal(a, b)


def test_the_window_is_a_small_part_of_a_large_frame():
    planes = textured_planes(1080, 1920)
    window = window_of(planes, RegionBox(900.0, 600.0, 240.0), 64)
    assert window.image.size < 0.05 * 1080 * 1920 * 3


def test_a_moving_region_asks_for_few_window_sizes():
    # Each new window size costs a conversion frame (media.yuv._sited_frame); a region that
    # drifts and breathes by fractions of a pixel must not ask for a new one at every frame.
    sizes = set()
    for t in range(200):
        box = RegionBox(640.0 + 30 * np.sin(t / 20), 360.0 + 0.37 * t, 250.0 + 6 * np.sin(t / 7))
        x0, y0, x1, y1 = window_bounds(box, 64, 1280, 720)
        assert x0 % 2 == 0 and y0 % 2 == 0 and (x1 - x0) % SIDE_STEP == 0 and (y1 - y0) % SIDE_STEP == 0
        sizes.add((x1 - x0, y1 - y0))
    assert len(sizes) <= 4


def test_pixels_the_paste_left_alone_keep_their_decoded_values_on_saturated_video():
    """Saturated colours clip on the way through RGB: converting the whole pasted rectangle back
    would move its untouched pixels by a few levels (a step at the box's edge); they are kept."""
    rng = np.random.default_rng(3)
    y = rng.integers(40, 200, (64, 64), dtype=np.uint8)
    u = np.full((32, 32), 240, np.uint8)  # far outside the RGB cube with most lumas
    v = np.full((32, 32), 20, np.uint8)
    planes = Planes(y, u, v)
    assert not np.array_equal(rgb_to_planes(planes_to_rgb(planes)).y, y)  # the round trip is lossy here
    box = RegionBox(32.0, 32.0, 40.0)
    window = window_of(planes, box, 16)
    crop = crop_from_window(window, box, 16)
    edited = crop.copy()
    edited[7:9, 7:9] = 0  # a small dark mouth at the centre
    out = paste_into_planes(planes, window, edited, box, 0.0, crop, (32.0, 32.0), 0.05)
    changed = np.argwhere(out.y != planes.y)
    assert len(changed) > 0
    assert np.abs(changed - 32).max() <= 8  # only around the centre, not at the box's edge (12..52)
