import subprocess
import sys

import numpy as np
import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.face import landmarks
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation, observation_from_landmarks, open_landmarker, pick_face


def face(x, y, width, size=None):
    """An observation with its mouth at (x, y) and a square box `size` wide (default 1.2 x width)."""
    half = (size or 1.2 * width) / 2
    return FaceObservation(x, y, width, (x - half, y - 1.5 * half, x + half, y + 0.5 * half))


def test_observation_from_landmarks_reduces_mouth_width_and_box():
    points = np.zeros((468, 3))
    points[:, 0], points[:, 1] = np.linspace(150, 250, 468), np.linspace(100, 200, 468)
    points[13, :2], points[14, :2] = (200, 150), (200, 160)     # inner lips
    points[61, :2], points[291, :2] = (180, 155), (220, 155)    # corners
    points[234], points[454] = (120, 120, 0), (280, 120, 120)   # cheeks, the left one deeper
    points[10, :2], points[152, :2] = (200, 40), (200, 270)     # forehead top, chin
    points[1, :2] = (350, 150)                                  # a nose tip past the outline
    obs = observation_from_landmarks(points)
    assert (obs.mouth_x, obs.mouth_y) == pytest.approx((200, 155))
    assert obs.face_width == pytest.approx(200.0)                # 3D: hypot(160, 120)
    assert obs.bbox == pytest.approx((120, 40, 280, 270))        # the outline's box


def test_only_the_used_points_are_read_from_mediapipe_results():
    class Point:
        def __init__(self, i):
            self.x, self.y, self.z = i / 1000, i / 2000, i / 4000

    class Landmarks(list):
        def __getitem__(self, i):
            read.add(i)
            return list.__getitem__(self, i)

    read = set()
    points = landmarks._pixels(Landmarks(Point(i) for i in range(468)), 640, 480)
    assert read == set(landmarks.USED_POINTS) and len(read) == 40
    np.testing.assert_allclose(points[61], (61 * 0.64, 61 * 0.24, 61 * 0.16))
    assert observation_from_landmarks(points) == observation_from_landmarks(np.nan_to_num(points))


def test_pick_face_largest_first_and_by_index():
    small, big, middle = face(50, 50, 40), face(300, 200, 120), face(150, 100, 80)
    faces = [small, big, middle]
    assert pick_face(faces, None, 0) is big
    assert pick_face(faces, None, 1) is middle
    assert pick_face(faces, None, 2) is small
    assert pick_face(faces, None, 3) is None
    assert pick_face([], None, 0) is None


def test_pick_face_keeps_identity_over_size():
    followed = face(100, 100, 60)
    # The other face is now larger, but the followed one is the nearest to the previous pick.
    now = [face(400, 100, 150), face(108, 103, 62)]
    assert pick_face(now, followed, 0) is now[1]
    # A jump of more than MAX_JUMP_FACE_WIDTHS face widths is another person: no pick.
    assert pick_face([face(100 + 0.8 * 60, 100, 60)], followed, 0) is None


def test_open_landmarker_without_mediapipe_falls_back(monkeypatch):
    monkeypatch.setattr(landmarks, "_import_mediapipe", lambda: None)
    assert open_landmarker(FaceConfig()) is None
    assert open_landmarker(FaceConfig(use_mediapipe=False)) is None


def test_missing_landmarker_file_names_it(tmp_path):
    path = tmp_path / "nowhere" / "face_landmarker.task"
    with pytest.raises(InputError, match="face_landmarker.task"):
        open_landmarker(FaceConfig(landmarker=path))


def test_importing_face_does_not_import_mediapipe():
    code = "import sys, omnisync_cli.face; assert 'mediapipe' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def mediapipe():
    return pytest.importorskip("mediapipe")


def test_mediapipe_loads_without_pyplot_which_later_importers_still_get(mediapipe):
    code = ("import sys; from omnisync_cli.face.landmarks import mediapipe_available; assert mediapipe_available(); "
            "assert 'matplotlib' not in sys.modules and 'matplotlib.pyplot' not in sys.modules; "
            "import matplotlib.pyplot as plt; assert callable(plt.figure)")
    subprocess.run([sys.executable, "-c", code], check=True)


def stderr_after(code: str) -> str:
    """What a fresh interpreter running `code` and then printing "still heard" to stderr
    leaves on its stderr."""
    script = code + "\nimport sys; print('still heard', file=sys.stderr, flush=True)"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stderr


def test_overlapping_quiet_spans_give_stderr_back_whichever_ends_last():
    code = ("from omnisync_cli.face.landmarks import native_stderr_silenced\n"
            "first, second = native_stderr_silenced(), native_stderr_silenced()\n"
            "first.__enter__(); second.__enter__()\n"
            "import os; os.write(2, b'hidden')\n"
            "first.__exit__(None, None, None); second.__exit__(None, None, None)")
    err = stderr_after(code)
    assert "still heard" in err and "hidden" not in err


def test_the_trackers_two_meshes_leave_stderr_working(mediapipe):
    # The tracker opens a four-face mesh and a one-face follower; each is quiet for its own
    # first frames and they end out of order. Stderr used to stay at /dev/null afterwards,
    # so every later progress line, warning and error of a dub vanished.
    code = ("import numpy as np\n"
            "from omnisync_cli.face.landmarks import MediaPipeFaceMesh\n"
            "full, follower = MediaPipeFaceMesh(4), MediaPipeFaceMesh(1)\n"
            "frame = np.zeros((64, 64, 3), np.uint8)\n"
            "for mesh in (full, full, full, follower, follower, follower): mesh.detect(frame)\n"
            "full.close(); follower.close()")
    assert "still heard" in stderr_after(code)


def test_invalid_landmarker_file_names_it(mediapipe, tmp_path):
    path = tmp_path / "broken.task"
    path.write_bytes(b"not a model" * 10)
    with pytest.raises(InputError, match="broken.task"):
        open_landmarker(FaceConfig(landmarker=path))


def test_face_mesh_finds_the_mouth_of_a_frontal_face(mediapipe, face_still):
    image, (mouth_x, mouth_y), width = face_still
    mesh = landmarks.MediaPipeFaceMesh(max_faces=2, video=False)
    try:
        (found,) = mesh.detect(image)
    finally:
        mesh.close()
    assert np.hypot(found.mouth_x - mouth_x, found.mouth_y - mouth_y) < 8
    assert found.face_width == pytest.approx(width, rel=0.1)
    left, top, right, bottom = found.bbox
    assert left < found.mouth_x < right and top < found.mouth_y < bottom


def test_face_mesh_orders_two_faces_by_size(mediapipe, face_still):
    import cv2
    image, (mouth_x, _), _ = face_still
    # FaceMesh's short-range detector misses faces under ~1/5 of the frame: keep both large.
    frame = np.full((512, 896, 3), 200, np.uint8)
    frame[:, :512] = image
    frame[64:448, 512:896] = cv2.resize(image, (384, 384), interpolation=cv2.INTER_AREA)
    mesh = landmarks.MediaPipeFaceMesh(max_faces=4, video=False)
    try:
        faces = mesh.detect(frame)
    finally:
        mesh.close()
    assert len(faces) == 2
    big, little = pick_face(faces, None, 0), pick_face(faces, None, 1)
    assert abs(big.mouth_x - mouth_x) < 8
    assert abs(little.mouth_x - (512 + 0.75 * mouth_x)) < 8
    assert little.face_width == pytest.approx(0.75 * big.face_width, rel=0.1)
