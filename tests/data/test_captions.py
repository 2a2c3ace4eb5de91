"""Burned-in text for the localiser's training frames (data.captions): drawn, never over a mouth."""

import numpy as np
import pytest

from omnisync_cli.data.captions import CLEAR_FACES, clear_of, draw_caption
from omnisync_cli.train.localiser import render_sample


@pytest.mark.parametrize("seed", range(20))
def test_text_is_drawn_and_keeps_clear_of_every_mouth(seed):
    rng = np.random.default_rng(seed)
    frame = np.full((240, 320, 3), 90, np.uint8)
    mouths = np.array([[rng.uniform(40, 280), rng.uniform(40, 200), 40.0]])
    out = draw_caption(rng, frame, mouths)
    changed = np.argwhere(np.any(out != frame, axis=2))
    if len(changed) == 0:
        return  # no place tried left the mouth clear: the frame is kept as it was
    x, y, face = mouths[0]
    near = (np.abs(changed[:, 1] - x) < CLEAR_FACES * face - 3) & (np.abs(changed[:, 0] - y) < CLEAR_FACES * face - 3)
    assert not near.any()


def test_most_frames_get_text_and_a_frame_full_of_mouth_gets_none():
    frame = np.full((240, 320, 3), 90, np.uint8)
    drawn = [np.any(draw_caption(np.random.default_rng(k), frame, np.zeros((0, 3))) != frame) for k in range(20)]
    assert sum(drawn) >= 18
    huge = np.array([[160.0, 120.0, 400.0]])  # a face wider than the frame: nowhere is clear
    assert all(np.array_equal(draw_caption(np.random.default_rng(k), frame, huge), frame) for k in range(10))


def test_clear_of():
    assert clear_of((0, 0, 10, 10), np.array([[100.0, 100.0, 20.0]]))
    assert not clear_of((0, 0, 10, 10), np.array([[15.0, 5.0, 20.0]]))  # 5 px from the box, margin 12


def test_training_samples_without_captions_are_unchanged():
    a, mouths_a = render_sample(5, 128)
    b, mouths_b = render_sample(5, 128, captions=0.0)
    assert np.array_equal(a, b) and np.array_equal(mouths_a, mouths_b)
    c, mouths_c = render_sample(5, 128, captions=1.0)
    np.testing.assert_array_equal(mouths_c, mouths_a)  # the text never moves or hides a mouth
