"""Stand-in pseudo-pairs: another moment's mouth moved onto each frame's own mouth."""

import numpy as np
import pytest

from omnisync_cli.data.mouth_swap import donor_frames, mouth_mask, swap_mouths

SIZE = 32


def test_the_mask_is_one_at_the_mouth_and_zero_far_from_it():
    mask = mouth_mask(SIZE, (0.5, 0.6))
    assert mask[int(0.6 * SIZE), SIZE // 2] == 1.0
    assert mask[0, 0] == 0.0 and mask[:, 0].max() == 0.0  # the ellipse's rim is 0.32 wide
    assert 0 < mask[int(0.6 * SIZE), int((0.5 + 0.28) * SIZE)] < 1  # the feathered edge


def mouth_frame(centre_xy, value):
    """A grey crop with a square 'mouth' of `value` at `centre_xy`."""
    crop = np.full((SIZE, SIZE, 3), 120, np.uint8)
    x, y = int(centre_xy[0] * SIZE), int(centre_xy[1] * SIZE)
    crop[y - 2:y + 2, x - 3:x + 3] = value
    return crop


def test_the_donor_mouth_lands_on_the_frame_mouth_and_the_rest_stays():
    target_xy, donor_xy = (0.5, 0.625), (0.375, 0.5)
    crops = mouth_frame(target_xy, 20)[None]
    donors = mouth_frame(donor_xy, 250)[None]
    out = swap_mouths(crops, np.array([target_xy]), donors, np.array([donor_xy]))
    y, x = int(target_xy[1] * SIZE), int(target_xy[0] * SIZE)
    assert (out[0, y - 2:y + 2, x - 3:x + 3] == 250).all()  # the donor's mouth, moved here
    assert (out[0, :4] == crops[0, :4]).all()  # outside the ellipse: the frame itself


def test_donors_come_from_half_the_span_away_and_stay_inside_it():
    donors = donor_frames(10, 20, (0, 100))
    assert donors.tolist() == list(range(60, 70))
    wrapped = donor_frames(90, 100, (50, 100))
    assert wrapped.min() >= 50 and wrapped.max() < 100 and (np.abs(wrapped - np.arange(90, 100)) == 25).all()
    with pytest.raises(ValueError):
        donor_frames(0, 10, (5, 20))


def test_a_wider_reach_swaps_the_donor_in_further_from_the_mouth():
    crops = np.full((2, SIZE, SIZE, 3), 120, np.uint8)
    donors = np.full((2, SIZE, SIZE, 3), 250, np.uint8)
    centre = np.array([[0.5, 0.5], [0.5, 0.5]])
    out = swap_mouths(crops, centre, donors, centre, reach=np.array([1.0, 1.4]))
    x, y = int((0.5 + 0.36) * SIZE), SIZE // 2  # beyond the ellipse's rim (0.32), inside 1.4x it
    assert (out[0, y, x] == 120).all() and (out[1, y, x] > 150).all()
    assert (out[:, y, SIZE // 2] == 250).all()  # the centre swapped either way
    assert np.array_equal(swap_mouths(crops, centre, donors, centre, reach=1.0), swap_mouths(crops, centre, donors, centre))
