"""The camera path: frame shifts by phase correlation, trusted only where they explain the looks,
and a track that follows a shaking camera between looks (face.motion, face.mouth_track.build_track)."""

import numpy as np
import pytest

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.motion import frame_shift, roughness, trusted_path
from omnisync_cli.face.mouth_track import build_track


def test_frame_shift_measures_a_translation_and_nothing_on_a_flat_picture():
    import cv2
    scene = cv2.GaussianBlur(np.random.default_rng(0).uniform(0, 255, (200, 300)).astype(np.float32), (0, 0), 1.5)
    view = scene[50:122, 60:188]  # a 128 x 72 thumbnail of the scene
    moved = cv2.warpAffine(scene, np.float32([[1, 0, 3], [0, 1, -2]]), (300, 200))[50:122, 60:188]
    dx, dy = frame_shift(view, moved)  # the picture moved 3 px right, 2 px up
    assert dx == pytest.approx(3, abs=0.5) and dy == pytest.approx(-2, abs=0.5)  # ~0.1-0.4 px off: a centroid
    flat = np.full((72, 128), 90, np.uint8)
    assert np.allclose(frame_shift(flat, flat), 0.0, atol=1e-6)


def test_a_thumbnail_one_pixel_across_measures_no_shift():
    strip = np.arange(128, dtype=np.uint8).reshape(128, 1)  # a 16x2000 frame's thumbnail
    assert frame_shift(strip, strip[::-1].copy()) == (0.0, 0.0)


def test_roughness_is_the_mean_second_difference_of_the_looked_at_values():
    values = np.array([0.0, 9.0, 1.0, 9.0, 4.0, 9.0])
    valid = np.array([True, False, True, False, True, False])
    assert roughness(values, valid) == pytest.approx(abs(0 - 2 * 1 + 4))
    assert roughness(values, np.array([True, False, True, False, False, False])) == 0.0


def shaking(n=100, fps=25.0, seed=1):
    """A camera shaking by ~8 px at 2-3 Hz: per-frame steps and the path they sum to."""
    t = np.arange(n) / fps
    path = 5 * np.sin(2 * np.pi * 2.0 * t + 0.3) + 3 * np.sin(2 * np.pi * 3.1 * t + 1.0)
    steps = np.diff(path, prepend=path[0])
    return path - path[0], steps


def test_the_path_is_trusted_where_it_explains_the_looks_and_not_elsewhere():
    path, steps = shaking()
    valid = np.zeros(len(path), bool)
    valid[::5] = True  # a look every 5 frames (the localiser at 25 fps)
    noise = np.random.default_rng(2).normal(0, 0.3, len(path))
    # A mouth held still in the scene, seen through the shaking camera: the path explains it.
    px, py = trusted_path(steps, 0 * steps, 100 + path + noise, 50 + noise, valid, window=50)
    assert np.allclose(px, path) and np.all(py == 0)
    # A still camera with a background moving alone (the shifts measure it, not the mouth):
    # taking that path out would make the looks rough, so it stands still.
    px, py = trusted_path(steps, steps, 100 + noise, 50 + noise, valid, window=50)
    assert np.all(px == 0) and np.all(py == 0)


def test_a_track_with_the_camera_path_follows_the_shake_between_looks():
    path, steps = shaking()
    n, fps = len(path), 25.0
    valid = np.zeros(n, bool)
    valid[::5] = True
    truth = 160 + path  # the mouth moves only with the camera
    looks = np.where(valid, truth, np.nan)
    width = np.full(n, 60.0)
    still = build_track(looks, np.full(n, 90.0), width, valid, fps, (320, 240), FaceConfig(), "localiser")
    followed = build_track(looks, np.full(n, 90.0), width, valid, fps, (320, 240), FaceConfig(), "localiser",
                           camera=(steps, np.zeros(n)))
    lag, error = np.abs(still.cx - truth).mean(), np.abs(followed.cx - truth).mean()
    assert lag > 2.0 and error < 0.2 * lag
    assert np.abs(followed.mouth_x - truth).mean() < 0.2 * np.abs(still.mouth_x - truth).mean()
    # Without shifts the track is exactly the one built without the camera.
    same = build_track(looks, np.full(n, 90.0), width, valid, fps, (320, 240), FaceConfig(), "localiser",
                       camera=(np.zeros(n), np.zeros(n)))
    assert np.array_equal(same.cx, still.cx) and np.array_equal(same.mouth_x, still.mouth_x)


def test_a_still_camera_has_no_path_and_a_moving_one_is_summed():
    from omnisync_cli.face.motion import moving_camera_path
    rng = np.random.default_rng(3)
    assert moving_camera_path(rng.normal(0, 0.2, 100), rng.normal(0, 0.2, 100)) is None  # noise of a still shot
    path, steps = shaking()
    px, py = moving_camera_path(steps, np.zeros_like(steps))
    assert np.allclose(px, path) and np.all(py == 0)


def test_looks_are_linked_across_the_cameras_shake():
    """A small mouth seen through a shaking camera jumps further between looks than a track may
    jump; with the camera's path taken out its looks make one track."""
    from omnisync_cli.face.landmarks import FaceObservation
    from omnisync_cli.face.speaker import MouthCandidate, link_tracks
    path, steps = shaking()
    looks = []
    for index in range(0, 100, 5):
        x = 160 + path[index]
        obs = FaceObservation(x, 90.0, 8.0, (x - 4, 85.0, x + 4, 95.0), 0.7)  # a face 8 px wide
        looks.append((index, [MouthCandidate(obs, obs, None)]))
    assert len(link_tracks(looks, max_gap=25)) > 1
    tracks = link_tracks(looks, max_gap=25, camera=(path, np.zeros_like(path)))
    assert len(tracks) == 1 and len(tracks[0].looks) == 20


def test_frame_shift_leaves_its_pictures_as_they_were():
    """OpenCV's phaseCorrelate windows its inputs in place; the tracker keeps each thumbnail
    to compare with the next frame's, so frame_shift must not hand it over."""
    pictures = [np.random.default_rng(k).uniform(0, 255, (72, 128)).astype(np.float32) for k in (1, 2)]
    kept = [p.copy() for p in pictures]
    frame_shift(*pictures)
    assert all(np.array_equal(p, k) for p, k in zip(pictures, kept))
