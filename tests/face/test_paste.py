import numpy as np
import pytest

from omnisync_cli.face.paste import paste_bounds, paste_region
from omnisync_cli.face.region import RegionBox, crop_region
from tests.face.images import psnr, textured_frame


def outside(bounds, shape):
    x0, y0, x1, y1 = bounds
    mask = np.ones(shape[:2], bool)
    mask[y0:y1, x0:x1] = False
    return mask


def test_pixels_outside_the_box_are_bit_exact():
    frame = textured_frame(180, 240)
    before = frame.copy()
    box = RegionBox(101.3, 77.8, 63.4)
    patch = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    out = paste_region(frame, patch, box, feather=0.15)
    np.testing.assert_array_equal(frame, before)                   # the input is not touched
    x0, y0, x1, y1 = bounds = paste_bounds(box, 240, 180)
    assert (x0, y0, x1, y1) == (70, 46, 133, 109)                  # centres in (69.6, 133.0)
    keep = outside(bounds, frame.shape)
    np.testing.assert_array_equal(out[keep], frame[keep])
    assert np.mean(out[~keep] != frame[~keep]) > 0.5               # and the inside did change


def test_feather_has_no_seam_and_reaches_the_patch():
    frame = np.zeros((200, 200, 3), np.uint8)
    patch = np.full((64, 64, 3), 255, np.uint8)
    out = paste_region(frame, patch, RegionBox(100, 100, 100), feather=0.2).astype(int)
    row = out[100, 50:150, 0]                                       # a line across the box
    assert row[0] <= 2 and row[-1] <= 2                             # ~0 at the edge: no seam
    assert np.all(np.abs(np.diff(row)) <= 255 * 0.2)                # a ramp, not a step
    assert np.all(row[20:80] == 255)                                # full patch past the feather
    assert np.all(np.diff(row[:20]) >= 0)
    hard = paste_region(frame, patch, RegionBox(100, 100, 100), feather=0.0)
    assert np.all(hard[50:150, 50:150] == 255) and hard[49].max() == 0


def test_round_trip_of_an_aligned_box_is_exact():
    frame = textured_frame(120, 160)
    box = RegionBox(80, 60, 64)
    np.testing.assert_array_equal(paste_region(frame, crop_region(frame, box, 64), box, 0.1), frame)


@pytest.mark.parametrize("box, size, min_psnr", [
    (RegionBox(81.37, 63.81, 64.0), 64, 35.0),       # sub-pixel position, same size (37.0 dB)
    (RegionBox(90.2, 70.6, 48.5), 64, 37.0),         # patch larger than the box (39.6 dB)
    (RegionBox(90.2, 70.6, 120.3), 96, 33.0),        # patch smaller than the box: detail lost (36.4 dB)
])
def test_round_trip_stays_close_inside_the_box(box, size, min_psnr):
    frame = textured_frame(180, 200, seed=3)
    out = paste_region(frame, crop_region(frame, box, size), box, feather=0.1)
    x0, y0, x1, y1 = paste_bounds(box, 200, 180)
    assert psnr(out[y0:y1, x0:x1], frame[y0:y1, x0:x1]) > min_psnr


def test_box_across_the_frame_border_is_clipped():
    frame = textured_frame(100, 120)
    box = RegionBox(5.0, 95.0, 40.0)                                 # three quarters outside
    patch = np.full((32, 32, 3), 7, np.uint8)
    out = paste_region(frame, patch, box, feather=0.1)
    bounds = paste_bounds(box, 120, 100)
    assert bounds == (0, 75, 25, 100)
    keep = outside(bounds, frame.shape)
    np.testing.assert_array_equal(out[keep], frame[keep])
    assert np.all(out[95:100, 0:15] == 7)                              # the patch's own centre region


def test_box_outside_the_frame_changes_nothing():
    frame = textured_frame(50, 60)
    out = paste_region(frame, np.zeros((16, 16, 3), np.uint8), RegionBox(-30, 20, 20), 0.1)
    np.testing.assert_array_equal(out, frame)


def test_shrinking_a_fine_patch_does_not_alias():
    yy, xx = np.mgrid[:128, :128]
    patch = np.repeat((((xx + yy) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    out = paste_region(np.zeros((100, 100, 3), np.uint8), patch, RegionBox(50.4, 50.2, 32.0), feather=0.0)
    inside = out[40:60, 40:60].astype(float)
    assert inside.mean() == pytest.approx(127.5, abs=4) and inside.std() < 6


def test_feather_out_of_range_is_refused():
    with pytest.raises(ValueError, match="feather"):
        paste_region(np.zeros((10, 10, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), RegionBox(5, 5, 4), 0.8)


def test_pasting_the_edit_only_keeps_full_resolution_detail():
    frame = textured_frame(180, 200, seed=5)
    box = RegionBox(100.4, 90.7, 120.0)
    crop = crop_region(frame, box, 48)                              # heavy downscale
    np.testing.assert_array_equal(paste_region(frame, crop, box, 0.1, original=crop), frame)
    edited = crop.copy()
    edited[20:28, 16:32] = 0                                        # the "mouth" changed
    out = paste_region(frame, edited, box, 0.1, original=crop).astype(int)
    x0, y0, x1, y1 = paste_bounds(box, 200, 180)
    changed = np.abs(out - frame).max(axis=2) > 0
    assert changed[y0:y1, x0:x1].mean() < 0.2                      # only around the edit
    assert out[91, 95].max() < 40                                   # and there it is dark


def test_a_redrawn_place_drops_the_source_detail_and_the_rest_keeps_it():
    """`redrawn`: where the edit reaches that many levels the pasted picture is the model's own
    (no outline of the old mouth shows through); where the model changed nothing, the source's."""
    frame = textured_frame(180, 200, seed=5)
    box = RegionBox(100.4, 90.7, 120.0)
    crop = crop_region(frame, box, 48)
    edited = crop.copy()
    edited[18:30, 14:34] = 200  # a flat redrawn mouth, 100+ levels from the textured source
    kept = paste_region(frame, edited, box, 0.1, original=crop).astype(float)
    dropped = paste_region(frame, edited, box, 0.1, original=crop, redrawn=24).astype(float)
    inside = (slice(88, 94), slice(92, 108))  # well inside the redrawn place, frame pixels
    assert kept[inside].std() > 10 * max(dropped[inside].std(), 0.5)  # the source's texture showed through
    assert np.abs(dropped[inside] - 200).max() <= 2
    far = (slice(125, 140), slice(60, 80))  # unchanged skin: the source's detail, bit for bit
    np.testing.assert_array_equal(dropped[far], kept[far])
    np.testing.assert_array_equal(paste_region(frame, crop, box, 0.1, original=crop, redrawn=24), frame)
