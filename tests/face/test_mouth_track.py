"""The mouth track: gaps filled, jitter smoothed in seconds, the region and mouth per frame (face.mouth_track)."""
import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.mouth_track import build_track, editable_frames, fill_missing, gaussian_smooth


def jitter(track: np.ndarray) -> float:
    """Standard deviation of the frame-to-frame differences."""
    return float(np.std(np.diff(track)))


def test_fill_missing_interpolates_inside_and_holds_the_ends():
    values = np.array([np.nan, 10, np.nan, np.nan, 40, np.nan])
    filled = fill_missing(values, ~np.isnan(values))
    np.testing.assert_allclose(filled, [10, 10, 20, 30, 40, 40])


def test_smoothing_removes_jitter_but_follows_real_motion():
    fps = 30
    t = np.arange(10 * fps) / fps
    motion = 200 + 60 * np.sin(2 * np.pi * 0.25 * t) + 20 * t      # head sway and drift, pixels
    noisy = motion + np.random.default_rng(0).normal(0, 3, t.size)   # landmark jitter
    smooth = gaussian_smooth(noisy, 0.1 * fps)
    assert jitter(smooth - motion) < jitter(noisy - motion) / 5
    still = 200 + np.random.default_rng(1).normal(0, 3, t.size)     # a still head
    assert jitter(gaussian_smooth(still, 0.1 * fps)) < jitter(still) / 5
    assert np.max(np.abs(smooth - motion)) < 4                        # ends included
    assert np.sqrt(np.mean((smooth - motion) ** 2)) < 1.5


def test_smoothing_keeps_steady_motion_at_the_ends():
    line = 5.0 + 2.5 * np.arange(50)
    np.testing.assert_allclose(gaussian_smooth(line, 6.0), line, atol=1e-9)
    np.testing.assert_array_equal(gaussian_smooth(line, 0.0), line)


def test_smoothing_strength_is_in_seconds_not_frames():
    smoothed = {}
    for fps in (24, 60):
        t = np.arange(int(4 * fps)) / fps
        move = 100 + 60 * np.clip((t - 1.9) / 0.2, 0, 1)            # a quick 60 px move at t = 2 s
        width = 100 + 40 * (t > 2)                                   # and a jump in face size
        track = build_track(move, move, width, np.ones(t.size, bool), fps, (640, 480), FaceConfig(), "landmarks")
        smoothed[fps] = t, track.cx.astype(np.float64), track.side.astype(np.float64)
        assert np.ptp(np.diff(track.side)) < 40 / (0.4 * fps)       # the size jump is spread over time
    (t24, cx24, side24), (t60, cx60, side60) = smoothed[24], smoothed[60]
    # Both frame rates give the same curve in time (a per-frame sigma would make 60 fps 2.5x sharper).
    np.testing.assert_allclose(np.interp(t24, t60, cx60), cx24, atol=1.0)
    np.testing.assert_allclose(np.interp(t24, t60, side60), side24, atol=1.5)


def test_box_size_is_smoothed_more_than_its_position():
    n, fps = 300, 25
    rng = np.random.default_rng(1)
    x, width = 300 + rng.normal(0, 2, n), 150 + rng.normal(0, 2, n)
    track = build_track(x, x, width, np.ones(n, bool), fps, (640, 480), FaceConfig(), "landmarks")
    assert jitter(track.side) < jitter(track.cx) / 2


def test_build_track_fills_missed_frames_and_counts_them():
    n = 40
    x = np.linspace(100, 139, n)
    valid = np.ones(n, bool)
    valid[[0, 1, 10, 11, 12, 39]] = False
    x_seen = np.where(valid, x, np.nan)
    config = FaceConfig(smooth_position_s=0, smooth_size_s=0)
    track = build_track(x_seen, x_seen, np.full(n, 80.0), valid, 25, (320, 240), config, "landmarks")
    assert len(track) == n and (track.detected, track.filled) == (34, 6)
    np.testing.assert_allclose(track.mouth_x[10:13], x[10:13])        # linear inside
    assert track.mouth_x[0] == track.mouth_x[1] == x[2]                # held at the ends
    assert track.mouth_x[39] == x[38]
    assert "34/40 frames, 6 filled" in track.summary()


def test_mouth_in_box_is_normalised_to_the_box():
    n = 5
    mouth = np.full(n, 100.0)
    track = build_track(mouth, mouth, np.full(n, 50.0), np.ones(n, bool), 25, (320, 240),
                        FaceConfig(smooth_position_s=0, smooth_size_s=0), "landmarks")
    np.testing.assert_allclose(track.mouth_in_box(slice(None)), 0.5)
    assert track.mouth_in_box(slice(1, 3)).shape == (2, 2)
    assert track.mouth_in_box(4).shape == (2,)
    box = track.box(2)
    assert (box.cx, box.cy, box.side) == (100, 100, 50)


def test_an_hour_of_track_keeps_a_few_bytes_per_frame():
    n, fps = 3600 * 60, 60.0
    x = np.random.default_rng(0).normal(300, 2, n)
    track = build_track(x, x, x / 2, np.ones(n, bool), fps, (1920, 1080), FaceConfig(), "landmarks")
    per_frame = sum(a.nbytes for a in (track.cx, track.cy, track.side, track.mouth_x, track.mouth_y, track.found))
    assert per_frame / n <= 25


def test_editable_frames_fill_short_gaps_only():
    valid = np.array([1, 0, 0, 1, 0, 0, 0, 0, 1, 0], bool)
    np.testing.assert_array_equal(editable_frames(valid, 2), [1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
