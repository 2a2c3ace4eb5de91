import numpy as np
import pytest

from omnisync_cli.face.region import REGION_SCALE, RegionBox, crop_region
from tests.face.images import textured_frame


def test_around_mouth_uses_the_region_scale():
    box = RegionBox.around_mouth(50, 60, 40)
    assert (box.cx, box.cy, box.side) == (50, 60, REGION_SCALE * 40)
    assert (box.left, box.top) == (50 - box.side / 2, 60 - box.side / 2)


def test_integer_aligned_box_of_crop_size_is_a_plain_slice():
    frame = textured_frame(120, 160)
    crop = crop_region(frame, RegionBox(70, 50, 32), 32)  # covers pixels 54..85 x 34..65
    np.testing.assert_array_equal(crop, frame[34:66, 54:86])


def test_half_pixel_shift_averages_neighbours():
    frame = np.zeros((8, 8, 3), np.uint8)
    frame[:, ::2] = 200
    crop = crop_region(frame, RegionBox(4.5, 4, 4), 4)
    assert np.all(np.abs(crop.astype(int) - 100) <= 1)


def test_box_past_the_frame_border_repeats_the_border():
    frame = textured_frame(60, 80)
    crop = crop_region(frame, RegionBox(4, 30, 16), 16)  # its left quarter is outside
    assert crop.shape == (16, 16, 3)
    np.testing.assert_array_equal(crop[:, 4:], frame[22:38, 0:12])
    np.testing.assert_array_equal(crop[:, :4], np.repeat(frame[22:38, :1], 4, axis=1))


def test_large_box_is_antialiased():
    # A one-pixel checkerboard seen through a box 8x the crop: the honest answer is grey;
    # bilinear sampling without a low-pass would show the pattern's aliases.
    yy, xx = np.mgrid[:400, :400]
    frame = np.repeat((((xx + yy) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    crop = crop_region(frame, RegionBox(200.3, 199.6, 256), 32)
    assert crop.mean() == pytest.approx(127.5, abs=3)
    assert crop.std() < 4


def test_antialiasing_uses_only_pixels_near_the_box():
    # The low-pass reads the box and a margin, so a change far away does not touch the crop.
    frame = textured_frame(300, 300)
    box = RegionBox(150, 150, 100)
    before = crop_region(frame, box, 24)
    frame[:, :60] = 0
    np.testing.assert_array_equal(crop_region(frame, box, 24), before)
