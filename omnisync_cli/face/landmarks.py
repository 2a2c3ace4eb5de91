"""Per-frame face landmarks (MediaPipe) reduced to what the region track needs.

MediaPipe is optional: nothing here imports it until a landmarker is opened, and
`open_landmarker` answers None where it is not installed, so the caller falls back
(`face.fallback`). Coordinates are frame pixels in the continuous convention of
`face.region` (pixel k covers [k, k + 1)); MediaPipe's normalised coordinates already use
it, so they only need scaling by the frame size.
"""

import contextlib
import os
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.face.config import FaceConfig

# FaceMesh / FaceLandmarker indices (the 468-point canonical mesh; the Tasks model adds iris
# points after them, which we do not use).
LIP_INNER_UPPER, LIP_INNER_LOWER = 13, 14
LIP_CORNER_RIGHT, LIP_CORNER_LEFT = 61, 291
CHEEK_RIGHT, CHEEK_LEFT = 234, 454
MOUTH_POINTS = (LIP_INNER_UPPER, LIP_INNER_LOWER, LIP_CORNER_RIGHT, LIP_CORNER_LEFT)
# The face's outline (MediaPipe's FACEMESH_FACE_OVAL, clockwise from the forehead's top): its
# box is the face's box (only compared for "largest face").
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# The points a FaceObservation is made of: reading these 40 of the mesh's 468 from MediaPipe's
# result objects costs 0.05 ms instead of 0.7 ms a face.
USED_POINTS = tuple(sorted(set(MOUTH_POINTS + (CHEEK_RIGHT, CHEEK_LEFT) + FACE_OVAL)))

# A face whose mouth moved more than this many face widths since the previous frame's pick
# is taken for another person (identity kept stable when two faces are in view).
MAX_JUMP_FACE_WIDTHS = 0.75


@dataclass(frozen=True)
class FaceObservation:
    """One face in one frame, in frame pixels."""

    mouth_x: float
    mouth_y: float
    face_width: float                          # cheek-to-cheek width (landmarks 234, 454)
    bbox: tuple[float, float, float, float]    # left, top, right, bottom
    score: float = 1.0                         # detector confidence (the mouth localiser's heat peak)

    @property
    def size(self) -> float:
        """Area of the face box: what "largest face" compares."""
        left, top, right, bottom = self.bbox
        return max(right - left, 0.0) * max(bottom - top, 0.0)


def observation_from_landmarks(points: np.ndarray) -> FaceObservation:
    """Reduce one face's landmarks (N, 2) or (N, 3) in pixels, indexed as the canonical mesh
    (N >= 468; only USED_POINTS are read), to a FaceObservation.

    The mouth centre is the mean of the inner-lip midpoints and the two corners, so it stays
    between the lips whether the mouth is open or closed. Where depth is given (MediaPipe's z
    is in the same scale as x) the cheek distance is measured in 3D, so a turned head does
    not shrink the region. The box is the face outline's.
    """
    mouth = points[list(MOUTH_POINTS), :2].mean(axis=0)
    face_width = float(np.linalg.norm(points[CHEEK_LEFT] - points[CHEEK_RIGHT]))
    outline = points[list(FACE_OVAL), :2]
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    return FaceObservation(float(mouth[0]), float(mouth[1]), face_width,
                           (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))


def pick_face(faces: list[FaceObservation], previous: FaceObservation | None,
              face_index: int) -> FaceObservation | None:
    """Choose the face to follow in this frame.

    With no previous pick: the `face_index`-th face by size, largest first (None if there
    are fewer faces). With one: the face nearest to it, if it moved less than
    MAX_JUMP_FACE_WIDTHS face widths, so that two faces never swap; else None (the frame
    counts as missed and is filled from its neighbours).
    """
    if not faces:
        return None
    if previous is None:
        ranked = sorted(faces, key=lambda f: f.size, reverse=True)
        return ranked[face_index] if face_index < len(ranked) else None
    def distance(face: FaceObservation) -> float:
        return float(np.hypot(face.mouth_x - previous.mouth_x, face.mouth_y - previous.mouth_y))
    nearest = min(faces, key=distance)
    return nearest if distance(nearest) <= MAX_JUMP_FACE_WIDTHS * previous.face_width else None


class Landmarker(Protocol):
    def detect(self, image: np.ndarray, timestamp_ms: int) -> list[FaceObservation]:
        """All faces in an RGB uint8 (H, W, 3) frame; timestamps increase along a video."""
        ...

    def close(self) -> None: ...


def _import_mediapipe():
    """Import mediapipe, or return None where it is not installed (or cannot load)."""
    try:
        with pyplot_deferred():
            import mediapipe
    except ImportError:
        return None
    return mediapipe


@contextlib.contextmanager
def pyplot_deferred():
    """mediapipe imports matplotlib.pyplot for a plotting helper the face mesh never calls:
    0.55 s of every dub's start-up. While mediapipe is imported, empty stand-ins answer for
    matplotlib and its pyplot; they are taken out again afterwards, so that any later
    importer (the benchmark's plots) loads the real ones. Where matplotlib is already loaded,
    nothing is stood in for."""
    names = ("matplotlib", "matplotlib.pyplot")
    if any(name in sys.modules for name in names):
        yield
        return
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    try:
        yield
    finally:
        for name in names:
            sys.modules.pop(name, None)


class _NativeStderr:
    """File descriptor 2, sent to /dev/null while any holder asks for quiet.

    Holders overlap and let go in any order (the tracker's two meshes each stay quiet for
    their own first frames), so the real descriptor is saved by the first holder and
    restored by the last: a stack of dup/dup2 pairs closed out of order would restore
    /dev/null and swallow every later warning and error of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: int | None = None

    def hold(self) -> None:
        with self._lock:
            if self._holders == 0:
                sys.stderr.flush()
                self._saved = os.dup(2)
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 2)
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                self._saved = None


_NATIVE_STDERR = _NativeStderr()


@contextlib.contextmanager
def native_stderr_silenced():
    """MediaPipe's C++ side logs its set-up straight to file descriptor 2 (no Python logger
    or environment variable turns it off); send that descriptor to /dev/null meanwhile.
    Nested and overlapping uses are safe: fd 2 comes back when the last one ends."""
    _NATIVE_STDERR.hold()
    try:
        yield
    finally:
        _NATIVE_STDERR.release()


def mediapipe_available() -> bool:
    return _import_mediapipe() is not None


def _pixels(landmarks, width: int, height: int) -> np.ndarray:
    """The mesh's USED_POINTS in pixels, (N, 3) indexed as the mesh (the other rows NaN).
    z is normalised by the image width like x (MediaPipe's convention)."""
    points = np.full((len(landmarks), 3), np.nan)
    for i in USED_POINTS:
        p = landmarks[i]
        points[i] = p.x * width, p.y * height, p.z * width
    return points


class MediaPipeFaceMesh:
    """`mp.solutions.face_mesh` (models inside the mediapipe 0.10.21 wheel, works offline).

    `video=True` runs its tracking mode: landmarks of the previous frame seed the next, and
    the face detector only runs while fewer than `max_faces` faces are tracked.
    """

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5, video: bool = True):
        mp = _import_mediapipe()
        if mp is None:
            raise ConfigError("MediaPipe is not installed: pip install 'omnisync-cli[face]'")
        # The graph's threads log their set-up for a while after it is built, so stderr
        # stays quiet until a few frames have gone through.
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(native_stderr_silenced())
        self._quiet_frames = 3
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video, max_num_faces=max_faces, refine_landmarks=False,
            min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)

    def detect(self, image: np.ndarray, timestamp_ms: int = 0) -> list[FaceObservation]:
        height, width = image.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(image))
        self._quiet_frames -= 1
        if self._quiet_frames == 0:
            self._quiet.close()
        return [observation_from_landmarks(_pixels(face.landmark, width, height))
                for face in result.multi_face_landmarks or []]

    def close(self) -> None:
        self._mesh.close()
        self._quiet.close()


class MediaPipeTasksLandmarker:
    """A user-given MediaPipe Tasks model (`face_landmarker.task`) in video mode."""

    def __init__(self, model_path: Path, max_faces: int = 4, min_confidence: float = 0.5):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise InputError(f"face landmarker model not found: {model_path} "
                             "(give the path of a MediaPipe face_landmarker.task file)")
        mp = _import_mediapipe()
        if mp is None:
            raise ConfigError(f"--landmarker {model_path} needs MediaPipe: pip install 'omnisync-cli[face]'")
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO, num_faces=max_faces,
            min_face_detection_confidence=min_confidence, min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence)
        try:
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as error:
            raise InputError(f"cannot load face landmarker model {model_path}: {error} "
                             "(it must be a MediaPipe face_landmarker.task bundle)") from error
        self._mp = mp
        self._last_ms = -1

    def detect(self, image: np.ndarray, timestamp_ms: int) -> list[FaceObservation]:
        # Video mode rejects timestamps that do not strictly increase (high fps rounding).
        timestamp_ms = max(int(timestamp_ms), self._last_ms + 1)
        self._last_ms = timestamp_ms
        height, width = image.shape[:2]
        frame = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        result = self._landmarker.detect_for_video(frame, timestamp_ms)
        return [observation_from_landmarks(_pixels(face, width, height)) for face in result.face_landmarks]

    def close(self) -> None:
        self._landmarker.close()


def open_landmarker(config: FaceConfig) -> Landmarker | None:
    """The landmarker the config asks for, or None where MediaPipe is off or not installed.

    A `--landmarker` file that is missing or not a valid model raises InputError naming it.
    """
    if config.landmarker is not None:
        return MediaPipeTasksLandmarker(config.landmarker, config.max_faces, config.min_confidence)
    if not config.use_mediapipe or not mediapipe_available():
        return None
    return MediaPipeFaceMesh(config.max_faces, config.min_confidence, video=True)
