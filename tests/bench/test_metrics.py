"""The benchmark's picture metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from omnisync_cli.bench import metrics
from omnisync_cli.face.region import RegionBox


def test_psnr_of_a_known_mse():
    a = np.zeros((8, 8, 3), np.uint8)
    b = np.full((8, 8, 3), 5, np.uint8)  # MSE 25
    assert metrics.mse(a, b) == 25.0
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 25))  # 34.15 dB
    assert metrics.psnr(a, a) == math.inf
    assert metrics.clip_psnr(np.stack([a, a]), np.stack([a, a])) == metrics.PSNR_CAP_DB


def test_clip_psnr_pools_the_mse_over_frames():
    # Frame 0 identical (MSE 0), frame 1 off by 10 (MSE 100): pooled MSE 50, not a mean of inf and 28 dB.
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[1] = 10
    assert metrics.clip_psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 50))


def test_shapes_must_match():
    with pytest.raises(ValueError):
        metrics.mse(np.zeros((4, 4)), np.zeros((4, 5)))


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    noisy = [np.clip(image + rng.normal(0, s, image.shape), 0, 255).astype(np.uint8) for s in (5, 20, 60)]
    values = [metrics.ssim(image, n) for n in noisy]
    assert 1.0 > values[0] > values[1] > values[2]
    assert metrics.ssim(noisy[1], image) == pytest.approx(values[1])  # symmetric


def test_ssim_of_two_flat_images_is_the_luminance_term():
    # No variance: SSIM = (2 ab + C1) / (a^2 + b^2 + C1), the contrast-structure term being C2 / C2.
    a, b = 100.0, 120.0
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = metrics.ssim(np.full((16, 16), a, np.uint8), np.full((16, 16), b, np.uint8))
    assert got == pytest.approx(expected, abs=1e-9)


def test_ssim_needs_a_whole_window():
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(np.zeros((10, 20)), np.zeros((10, 20)))


def test_mouth_crops_follow_the_manifest_boxes():
    frames = np.zeros((2, 64, 64, 3), np.uint8)
    frames[:, 20:40, 20:40] = 200  # a bright square
    boxes = metrics.mouth_boxes(np.array([[30.0, 30.0], [30.0, 30.0]]), np.array([20.0, 20.0]))
    assert boxes[0] == RegionBox(30.0, 30.0, 20.0)
    crops = metrics.crop_mouths(frames, boxes, size=16)
    assert crops.shape == (2, 16, 16, 3)
    assert crops[:, 2:-2, 2:-2].min() == 200  # the box is exactly the square


def test_editable_rect_grows_to_even_pixels_and_clips_to_the_frame():
    # paste_bounds of this box is (11, 11, 20, 20); chroma needs even edges: (10, 10, 20, 20).
    assert metrics.editable_rect(RegionBox(15.5, 15.5, 9.0), 64, 48) == (10, 10, 20, 20)
    assert metrics.editable_rect(RegionBox(2.0, 2.0, 10.0), 64, 48) == (0, 0, 8, 8)
    assert metrics.editable_rect(RegionBox(-50.0, -50.0, 10.0), 64, 48) == (0, 0, 0, 0)


def test_outside_change_ignores_the_working_region():
    rng = np.random.default_rng(1)
    source = rng.integers(0, 250, (3, 48, 64, 3)).astype(np.uint8)
    boxes = [RegionBox(32.0, 24.0, 16.0)] * 3  # editable rect (24, 16, 40, 32): 256 pixels
    assert metrics.outside_change(source, source.copy(), boxes) == (0.0, metrics.PSNR_CAP_DB)
    edited = source.copy()
    edited[:, 16:32, 24:40] = 0  # anything inside the region is allowed
    assert metrics.outside_change(edited, source, boxes) == (0.0, metrics.PSNR_CAP_DB)
    brighter = source.copy()
    brighter[:, :8] += 4  # the top 8 rows (512 pixels, all outside) change by 4 levels
    share = 512 / (48 * 64 - 256)
    mad, value = metrics.outside_change(brighter, source, boxes)
    assert mad == pytest.approx(4 * share)
    assert value == pytest.approx(10 * math.log10(255 ** 2 / (16 * share)))


def ramp(levels: list[float]) -> np.ndarray:
    """(F, 4, 4, 3) frames, each one flat grey level."""
    return np.stack([np.full((4, 4, 3), v, np.uint8) for v in levels])


def test_flicker_ratio_and_temporal_error_by_hand():
    target = ramp([100, 104, 108, 112, 116])  # changes by 4 a frame
    assert metrics.temporal_activity(target) == 4.0
    assert metrics.flicker_ratio(target, target) == 1.0
    assert metrics.temporal_error(target, target) == 0.0
    # +-3 jitter on top: changes 10, -2, 10, -2 -> mean abs 6, ratio 1.5; each differs from 4 by 6.
    jitter = ramp([103, 101, 111, 109, 119])
    assert metrics.flicker_ratio(jitter, target) == pytest.approx(1.5)
    assert metrics.temporal_error(jitter, target) == pytest.approx(6.0)
    frozen = ramp([100] * 5)
    assert metrics.flicker_ratio(frozen, target) == 0.0
    assert metrics.temporal_error(frozen, target) == pytest.approx(4.0)
    assert metrics.flicker_ratio(target, frozen) == math.inf  # a still truth: any motion is infinite


def test_change_correlation_by_hand():
    source = np.zeros((4, 2, 2, 3), np.uint8)
    truth = source.copy()
    truth[[1, 3]] = 40  # the new speech needs another mouth in frames 1 and 3
    follows = source.copy()
    follows[[1, 3]] = 20  # changes the same frames, less strongly: r = 1
    wrong = source.copy()
    wrong[[0, 2]] = 20  # changes the other frames: r = -1
    assert np.allclose(metrics.mouth_change(truth, source), [0, 40, 0, 40])
    assert metrics.change_correlation(follows, truth, source) == pytest.approx(1.0)
    assert metrics.change_correlation(wrong, truth, source) == pytest.approx(-1.0)
    assert metrics.change_correlation(source, truth, source) == 0.0  # the no-op: constant 0


def test_edit_share_is_the_part_of_the_edit_inside_the_grown_mouth_box():
    source = np.full((2, 40, 60, 3), 100, np.uint8)
    output = source.copy()
    output[:, 8:22, 8:22] = 160             # 14x14 px; the box 12..18 grown by half covers 10..20
    rects = np.array([[12.0, 12.0, 18.0, 18.0]] * 2)
    assert metrics.edit_share(output, source, rects) == pytest.approx(100 / 196)
    output[:, 26:40, 40:54] = 160           # as much again painted on the background
    assert metrics.edit_share(output, source, rects) == pytest.approx(100 / 392)
    noise = source + np.random.default_rng(0).integers(0, 5, source.shape).astype(np.uint8)
    assert metrics.edit_share(noise, source, rects) is None  # re-encode noise is no edit
    np.testing.assert_allclose(metrics.mouth_rects(np.array([[15.0, 15.0]]), np.array([[6.0, 4.0]])),
                               [[12, 13, 18, 17]])


def test_a_region_covering_every_frame_leaves_no_outside_figure_and_passes_on_the_mouth():
    from omnisync_cli.bench.scores import SuccessRule
    source = np.zeros((2, 16, 16, 3), np.uint8)
    whole = [RegionBox(8.0, 8.0, 40.0)] * 2  # a close-up: the region is larger than the frame
    mad, value = metrics.outside_change(source + 9, source, whole)
    assert math.isnan(mad) and math.isnan(value)
    rule = SuccessRule(max_mouth_drop_db=1.0, min_outside_psnr_db=40.0)
    assert rule.passes({"mouth_psnr": 30.5, "outside_psnr": None}, 31.0)  # as JSON stores a nan
    assert rule.passes({"mouth_psnr": 30.5, "outside_psnr": value}, 31.0)
    assert not rule.passes({"mouth_psnr": 29.5, "outside_psnr": None}, 31.0)
    assert not rule.passes({"mouth_psnr": 30.5, "outside_psnr": 35.0}, 31.0)


def test_grown_rect_adds_half_the_growth_on_each_side_and_clips_to_the_frame():
    assert metrics.grown_rect((10.0, 20.0, 30.0, 30.0), 0.5, 64, 48) == (5, 17, 35, 33)
    assert metrics.grown_rect((0.5, 40.0, 8.5, 47.0), 1.0, 64, 48) == (0, 36, 13, 48)


def test_edit_cosine_and_the_gain_it_allows_at_the_best_strength():
    rng = np.random.default_rng(0)
    source = rng.integers(60, 120, (3, 8, 8, 3)).astype(np.uint8)
    truth = source.copy()
    truth[:, 2:6, 2:6] += 60  # the new speech needs a lighter mouth interior
    half = source.copy()
    half[:, 2:6, 2:6] += 30  # the right change at half strength
    assert metrics.edit_cosine(half, truth, source) == pytest.approx(1.0)
    assert metrics.edit_cosine(source, truth, source) == 0.0  # the no-op
    darker = source.copy()
    darker[:, 2:6, 2:6] -= 30
    assert metrics.edit_cosine(darker, truth, source) == pytest.approx(-1.0)
    # A smeared edit: the needed change (energy 16 px x 30^2) plus an unrelated one around it
    # with half that energy (32 px x 15^2) -> cos sqrt(2/3).
    smeared = half.copy()
    smeared[:, 0:2, 0:8] += 15
    smeared[:, 6:8, 0:8] += 15
    cosine = metrics.edit_cosine(smeared, truth, source)
    assert cosine == pytest.approx(math.sqrt(2 / 3))
    # The bound is what the best scaling of that edit reaches (least squares on the pixels).
    edit = (smeared.astype(float) - source).ravel()
    needed = (truth.astype(float) - source).ravel()
    best = needed @ edit / (edit @ edit)
    gain = 10 * math.log10((needed @ needed) / np.sum((needed - best * edit) ** 2))
    assert metrics.best_scaled_gain(cosine) == pytest.approx(gain)
    assert metrics.best_scaled_gain(-0.3) == 0.0
    assert metrics.best_scaled_gain(0.61) == pytest.approx(2.0, abs=0.05)
