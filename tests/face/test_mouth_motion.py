"""The source's motion level: how much its mouth moves while its own speech speaks."""

import numpy as np
import pytest

from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.face.mouth_motion import MIN_FRAMES, motion_level, speaking_frames


def talking(n: int = 40, swing: float = 80.0, side: int = 32, seed: int = 0) -> np.ndarray:
    """A still face with codec-like noise whose mouth (rows 20-24) swings `swing` grey levels."""
    rng = np.random.default_rng(seed)
    crops = np.full((n, side, side, 3), 120, np.float32) + rng.normal(0, 1.5, (n, side, side, 1))
    crops[:, 20:24, 8:24] = 120 + np.where(np.arange(n) % 6 < 3, -swing / 2, swing / 2)[:, None, None, None]
    return crops.clip(0, 255).astype(np.uint8)


def test_a_mouth_that_swings_wider_has_a_higher_level_and_a_still_face_a_low_one():
    quiet, loud = motion_level(talking(swing=20.0)), motion_level(talking(swing=80.0))
    still = motion_level(talking(swing=0.0))
    assert still < 2.0 < quiet < loud  # a still face: its noise alone
    assert loud / quiet == pytest.approx(4.0, rel=0.25)  # in grey levels: proportional to the swing


def test_too_few_crops_give_an_unknown_level():
    assert np.isnan(motion_level(talking(n=MIN_FRAMES - 1)))
    assert np.isfinite(motion_level(talking(n=MIN_FRAMES)))


def test_speaking_frames_are_where_the_track_is_loud_not_where_it_is_silent():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    speech = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    speech[SAMPLE_RATE:] = 0.0  # silent in the second half
    times = np.arange(50) / 25.0
    speaking = speaking_frames(speech, times, 25.0)
    assert speaking.shape == (50,) and speaking[:20].mean() > 0.5 and not speaking[27:].any()
    assert not speaking_frames(np.zeros(2 * SAMPLE_RATE, np.float32), times, 25.0).any()
