from fractions import Fraction

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.pipeline.timeline import (Extend, continuous_times, extend_indices, grid_source_indices,
                                            output_frame_count, plan_source_frames, playback_rate)


def test_output_lasts_as_long_as_the_audio():
    assert output_frame_count(12.0, Fraction(25)) == 300
    assert output_frame_count(1.01, Fraction(30000, 1001)) == 30
    assert output_frame_count(0.001, Fraction(25)) == 1


def test_constant_rate_source_maps_to_itself():
    times = np.arange(50) / 25
    assert np.array_equal(grid_source_indices(times, Fraction(25), 2.0), np.arange(50))


def test_variable_rate_source_picks_the_frame_on_screen():
    # frames at 0, 0.1, 0.15, 0.3 s; grid at 10 fps over 0.4 s
    times = np.array([0.0, 0.1, 0.15, 0.3])
    assert grid_source_indices(times, Fraction(10), 0.4).tolist() == [0, 1, 2, 3]
    # a frame held for 0.3 s is repeated on the grid; a frame shown 0.05 s may be skipped
    times = np.array([0.0, 0.3])
    assert grid_source_indices(times, Fraction(10), 0.4).tolist() == [0, 0, 0, 1]


def test_a_constant_or_jittery_rate_plays_as_its_header_says():
    assert playback_rate(np.arange(90) / 30, Fraction(30)) == 30
    jitter = np.cumsum(np.random.default_rng(0).uniform(0.8, 1.2, 300)) / 30  # steps of 0.8-1.2 frames
    assert playback_rate(jitter, Fraction(30)) == 30


def test_a_variable_rate_video_plays_at_its_fastest_stretch():
    """12 fps for a second, 24 for a second, 12 again: the average (16) lost a third of the 24 fps frames."""
    times = np.concatenate([np.arange(12) / 12, 1 + np.arange(24) / 24, 2 + np.arange(12) / 12])
    assert playback_rate(times, Fraction(16)) == 24
    assert set(grid_source_indices(times, Fraction(24), 3.0)) == set(range(48))  # every frame shown
    assert len(set(grid_source_indices(times, Fraction(16), 3.0))) < 48


def test_a_fast_stretch_snaps_to_a_common_rate_and_is_capped():
    ms = np.round(np.concatenate([np.arange(60) / 30, 2 + np.arange(60) / 60]), 3)  # whole milliseconds
    assert playback_rate(ms, Fraction(40)) == 60
    assert playback_rate(np.concatenate([np.arange(20) / 10, 2 + np.arange(500) / 500]), Fraction(50)) == 120


def test_a_short_burst_of_quick_frames_does_not_count():
    """An animated GIF at 5 fps with six frames 20 ms apart: still 5 fps (a burst is no stretch)."""
    times = np.concatenate([np.arange(20) / 5, 4 + np.arange(6) / 50, 4.2 + np.arange(30) / 5])
    assert playback_rate(times, Fraction(5)) == 5
    stretch = np.concatenate([np.arange(20) / 5, 4 + np.arange(60) / 50, 5.2 + np.arange(30) / 5])
    assert playback_rate(stretch, Fraction(5)) == 50


def test_a_clip_shorter_than_a_stretch_keeps_its_rate():
    assert playback_rate(np.array([0.0, 0.02, 0.06, 0.08]), Fraction(25)) == 25


def test_longer_source_is_cut():
    assert extend_indices(10, 4, Extend.pingpong).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("mode,expected", [
    (Extend.pingpong, [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]),
    (Extend.loop, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]),
    (Extend.freeze, [0, 1, 2, 3, 3, 3, 3, 3, 3, 3]),
])
def test_shorter_source_is_extended(mode, expected):
    assert extend_indices(4, 10, mode).tolist() == expected


def test_single_frame_source_pingpong_holds():
    assert extend_indices(1, 3, Extend.pingpong).tolist() == [0, 0, 0]


def test_empty_source_is_refused():
    with pytest.raises(ConfigError):
        extend_indices(0, 3, Extend.loop)


def test_plan_combines_grid_and_extension():
    times = np.arange(3) / 25
    plan = plan_source_frames(times, Fraction(25), 3 / 25, audio_seconds=0.2, mode=Extend.pingpong)
    assert plan.tolist() == [0, 1, 2, 1, 0]


def test_frame_times_that_start_again_are_moved_on_and_the_video_is_as_long_as_its_frames():
    """Recordings joined end to end: the second part's clock starts again at 0."""
    times = np.r_[np.arange(5), np.arange(5)] / 25
    fixed, restarted = continuous_times(times, 25.0)
    assert restarted and fixed == pytest.approx(np.arange(10) / 25)
    same, restarted = continuous_times(np.arange(6) / 25, 25.0)
    assert not restarted and same == pytest.approx(np.arange(6) / 25)
    grid = grid_source_indices(fixed, Fraction(25), 10 / 25)
    assert list(grid) == list(range(10))  # every frame shown once
