"""The audio gate: keep only the part of the edit the audio asked for."""

import cv2
import numpy as np
import pytest
import torch

from omnisync_cli.guidance.attribution import AudioAttribution, attribution_mask, gate_edit, gaussian_blur


def test_attribution_sums_sigma_times_the_passes_difference_over_calls():
    acc = AudioAttribution()
    v_cond = torch.zeros(1, 2, 3, 4, 4)
    v_cond[0, 1, :, 2, 3] = torch.tensor([0.3, 0.6, 0.9])
    acc.add(v_cond, torch.zeros_like(v_cond), torch.tensor([0.5]))
    acc.add(-v_cond, torch.zeros_like(v_cond), torch.tensor([0.25]))
    assert acc.total.shape == (1, 2, 1, 4, 4)
    assert float(acc.total[0, 1, 0, 2, 3]) == pytest.approx(0.75 * 0.6)  # (0.5 + 0.25) x mean |dv|
    assert float(acc.total.sum()) == pytest.approx(0.75 * 0.6)


def test_blur_matches_opencv_with_replicated_edges():
    rng = np.random.default_rng(0)
    image = rng.random((16, 16)).astype(np.float32)
    ours = gaussian_blur(torch.from_numpy(image)[None], 1.5)[0].numpy()
    radius = round(3 * 1.5)
    theirs = cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), 1.5, borderType=cv2.BORDER_REPLICATE)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_mask_is_one_where_the_audio_acts_and_zero_where_it_never_did():
    total = torch.zeros(1, 2, 1, 16, 16)
    total[0, :, 0, 10:13, 6:10] = 1.0  # the mouth
    mask = attribution_mask(total, blur_sd=0.0, quantile=0.9)
    assert float(mask.max()) == 1.0 and float(mask[0, 0, 0, 11, 7]) == 1.0
    assert float(mask[0, 0, 0, 2, 2]) == 0.0
    blurred = attribution_mask(total, blur_sd=1.0, quantile=0.98)
    assert 0 < float(blurred[0, 0, 0, 9, 7]) < 1 and float(blurred[0, 0, 0, 0, 0]) == 0.0


def test_an_edit_the_audio_did_not_ask_for_is_dropped():
    """A model that ignores the audio (both passes equal) edits nothing through the gate."""
    source, edited = torch.zeros(1, 2, 3, 8, 8), torch.ones(1, 2, 3, 8, 8)
    acc = AudioAttribution()
    acc.add(torch.ones_like(source), torch.ones_like(source), torch.tensor([0.9]))
    gated = gate_edit(source, edited, attribution_mask(acc.total, 1.0, 0.98))
    assert torch.equal(gated, source)
    assert torch.equal(gate_edit(source, edited, torch.ones(1, 2, 1, 8, 8)), edited)
