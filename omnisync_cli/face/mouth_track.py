"""A video's mouth track (`MouthTrack`): per frame, the working region and the mouth centre, the
frames missed filled from their neighbours and the jitter smoothed (`build_track`).

The tracker (face.track.MouthTracker) keeps only a few floats per frame (a one-hour 60 fps video
is 216,000 frames, a few MB); `build_track` fills missed frames from their neighbours and smooths
the track with a zero-phase (offline, non-causal) Gaussian whose width is given in seconds, so
that 24 and 60 fps videos are smoothed alike. The box side is smoothed more strongly than its
centre: the face's apparent size changes slowly and any size jitter reads as zooming.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.motion import TRUST_WINDOW_S, trusted_path
from omnisync_cli.face.region import REGION_SCALE, RegionBox
from omnisync_cli.face.shots import same_shot, shot_slices


def editable_frames(valid: np.ndarray, max_gap: float, cuts: np.ndarray = np.zeros(0, int)) -> np.ndarray:
    """Frames to edit: found ones and those in runs of missed frames no longer than `max_gap`,
    within each shot (`cuts`: the frames that start one, face.shots); a shot where the mouth
    was never found is not edited at all.

    A longer stretch without the mouth (the character left, a cut, a close-up of something
    else) passes through unedited rather than being edited at a guessed place.
    """
    valid = np.asarray(valid, dtype=bool)
    if len(cuts):
        edit = np.zeros(len(valid), bool)
        for shot in shot_slices(len(valid), cuts):
            edit[shot] = editable_frames(valid[shot], max_gap) & valid[shot].any()
        return edit
    edit = valid.copy()
    n, i = len(valid), 0
    while i < n:
        if valid[i]:
            i += 1
            continue
        j = i
        while j < n and not valid[j]:
            j += 1
        if j - i <= max_gap:
            edit[i:j] = True
        i = j
    return edit


def fill_missing(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill invalid entries: linear between the nearest valid neighbours, held at the ends.

    Needs at least one valid entry.
    """
    index = np.arange(len(values))
    return np.interp(index, index[valid], values[valid])


def gaussian_smooth(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of a 1-D track with sigma in frames.

    The ends are padded with a straight line fitted to the last ~2 sigma samples, so a face
    in steady motion is not pulled back at the start or end of the video (edge padding
    would) and the end frames are smoothed like the rest (mirror padding would not).
    """
    values = np.asarray(values, dtype=np.float64)
    radius = math.ceil(4 * sigma_frames)
    if radius < 1 or len(values) < 2:
        return values.copy()
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (taps / sigma_frames) ** 2)
    kernel /= kernel.sum()
    fit = min(len(values), max(2, math.ceil(2 * sigma_frames)))
    steps = np.arange(1, radius + 1, dtype=np.float64)
    head_slope, head_at = np.polyfit(np.arange(fit), values[:fit], 1)
    tail_slope, tail_at = np.polyfit(np.arange(fit), values[-fit:], 1)
    head = head_at - head_slope * steps[::-1]                      # line value at -radius..-1
    tail = tail_at + tail_slope * (fit - 1 + steps)                # line value past the end
    padded = np.concatenate([head, values, tail])
    return np.convolve(padded, kernel, mode="valid")


@dataclass(frozen=True, eq=False)
class MouthTrack:
    """Per-frame working region and mouth centre of a whole video (float32 arrays, (N,))."""

    fps: float
    frame_size: tuple[int, int]   # (width, height) of the source frames
    cx: np.ndarray                # smoothed region centre x, frame pixels
    cy: np.ndarray                # smoothed region centre y
    side: np.ndarray              # smoothed region side, pixels
    mouth_x: np.ndarray           # mouth centre x (gaps filled, not smoothed)
    mouth_y: np.ndarray           # mouth centre y
    found: np.ndarray             # bool: the look covering this frame found the mouth (not filled)
    source: str                   # "landmarks", "localiser", "centre", or "override"
    edit: np.ndarray | None = None  # bool: frames to edit (None: all); the rest pass through unchanged
    speaker_by_speech: bool = False  # of several mouths, the one following the source's speech was chosen
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # frames that start a new shot (face.shots)
    landmarks_overruled: bool = False  # the landmarks found a face, but not its mouth (face.mouth_check)
    localiser_frames: int = 0  # in a landmarks track, frames whose mouth the localiser found (the landmarks did not)

    def __len__(self) -> int:
        return len(self.cx)

    @property
    def detected(self) -> int:
        """Frames in which the mouth was found."""
        return int(self.found.sum())

    @property
    def filled(self) -> int:
        """Frames whose mouth came from their neighbours (or from the constant fallback)."""
        return len(self) - self.detected

    @property
    def passed_through(self) -> int:
        """Frames left unedited: inside long stretches where no mouth was found."""
        return 0 if self.edit is None else int((~self.edit).sum())

    def edits(self, index: int) -> bool:
        return self.edit is None or bool(self.edit[index])

    def same_shot(self, a: int, b: int) -> bool:
        """Whether source frames `a` and `b` lie in one shot (no cut between them)."""
        return same_shot(self.cuts, a, b)

    def box(self, index: int) -> RegionBox:
        return RegionBox(float(self.cx[index]), float(self.cy[index]), float(self.side[index]))

    def mouth_in_box(self, index: int | slice) -> np.ndarray:
        """Mouth centre inside the frame's box (crop coordinates), clipped to [0, 1].

        (0, 0) is the crop's top-left corner and (1, 1) its bottom-right one (continuous
        coordinates): what DS-CFG centres its Gaussian on. An int index gives (2,), a
        slice of frames (F, 2).
        """
        side = self.side[index]
        u = (self.mouth_x[index] - (self.cx[index] - side / 2)) / side
        v = (self.mouth_y[index] - (self.cy[index] - side / 2)) / side
        return np.clip(np.stack([u, v], axis=-1), 0.0, 1.0).astype(np.float32)  # (2,) or (F, 2)

    def summary(self) -> str:
        """One line for the run log: where the mouth came from, how many frames were filled."""
        n = len(self)
        if self.source in ("landmarks", "localiser"):
            how = "face landmarks" if self.source == "landmarks" else "the mouth localiser"
            unedited = f", {self.passed_through} left unedited (no mouth)" if self.passed_through else ""
            chosen = ", the speaking one of several mouths (by the source's speech)" if self.speaker_by_speech else ""
            overruled = (" (face landmarks found a face, but the mouth localiser kept finding its mouth elsewhere)"
                         if self.landmarks_overruled else "")
            lent = (f" (where they missed, from {self.localiser_frames} looks of the mouth localiser)"
                    if self.localiser_frames else "")
            return (f"mouth from {how}{overruled} in {self.detected}/{n} frames{lent}, {self.filled} filled from "
                    f"neighbours{unedited}{chosen}")
        if self.source == "override":
            return f"mouth and region given by the user, constant over {n} frames"
        return f"region at the frame centre (--centre-fallback), constant over {n} frames"


def build_track(mouth_x: np.ndarray, mouth_y: np.ndarray, face_width: np.ndarray, valid: np.ndarray,
                fps: float, frame_size: tuple[int, int], config: FaceConfig, source: str,
                camera: tuple[np.ndarray, np.ndarray] | None = None,
                cuts: np.ndarray = np.zeros(0, int)) -> MouthTrack:
    """Fill the invalid frames of per-frame observations, smooth, and make the region track,
    each shot on its own (`cuts`: the frames that start one, face.shots): nothing is filled or
    smoothed across a cut. A shot where the mouth was never found holds its neighbours'
    region and is not edited.

    `camera` (per-frame shifts x, y from the frame before, frame pixels; face.motion): the
    positions are filled and smoothed relative to the camera's path where it explains the
    looks (`trusted_path`), so the region follows a shaking camera between looks."""
    valid = np.asarray(valid, dtype=bool)
    if not valid.any():
        raise ValueError("build_track needs at least one valid frame")
    n = len(valid)
    columns = np.full((5, n), np.nan)  # mouth x, mouth y, centre x, centre y, side
    for shot in shot_slices(n, cuts):
        if valid[shot].any():
            shot_camera = None if camera is None else (camera[0][shot], camera[1][shot])
            columns[:, shot] = _shot_track(np.asarray(mouth_x, np.float64)[shot], np.asarray(mouth_y, np.float64)[shot],
                                           np.asarray(face_width, np.float64)[shot], valid[shot], fps, config,
                                           shot_camera)
    looked = ~np.isnan(columns[0])
    mx, my, cx, cy, side = (fill_missing(c, looked) for c in columns)
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    return MouthTrack(float(fps), frame_size, f32(cx), f32(cy), f32(side), f32(mx), f32(my),
                      valid.copy(), source, editable_frames(valid, config.max_gap_s * fps, cuts),
                      cuts=np.asarray(cuts, dtype=int))


def _shot_track(mouth_x: np.ndarray, mouth_y: np.ndarray, face_width: np.ndarray, valid: np.ndarray, fps: float,
                config: FaceConfig, camera: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """(5, N) float64 for one shot with at least one valid frame: the mouth centre filled
    (x, y), the region centre smoothed (x, y) and the region side (`build_track`)."""
    path_x = path_y = np.zeros(len(mouth_x))
    if camera is not None:
        path_x, path_y = trusted_path(camera[0], camera[1], mouth_x, mouth_y, valid, round(TRUST_WINDOW_S * fps))
    mx, my = fill_missing(mouth_x - path_x, valid) + path_x, fill_missing(mouth_y - path_y, valid) + path_y
    fw = fill_missing(face_width, valid)
    cx = gaussian_smooth(mx - path_x, config.smooth_position_s * fps) + path_x
    cy = gaussian_smooth(my - path_y, config.smooth_position_s * fps) + path_y
    side = REGION_SCALE * gaussian_smooth(fw, config.smooth_size_s * fps)
    side = np.maximum(side, 1.0)  # a degenerate detection must not give an empty box
    return np.stack([mx, my, cx, cy, side])


def constant_track(n_frames: int, fps: float, frame_size: tuple[int, int], box: RegionBox,
                   mouth: tuple[float, float], source: str) -> MouthTrack:
    full = lambda value: np.full(n_frames, value, dtype=np.float32)
    return MouthTrack(float(fps), frame_size, full(box.cx), full(box.cy), full(box.side),
                      full(mouth[0]), full(mouth[1]), np.zeros(n_frames, dtype=bool), source)
