"""The mouth tracker of a dub's first pass (`MouthTracker`): shown every decoded frame, it looks
for mouths where it is worth it (MediaPipe's face landmarks for a human face, the learned mouth
localiser for any other character), follows them between looks, chooses the one that speaks,
and `finish()` hands back the video's `MouthTrack` (face.mouth_track: gaps filled, smoothed).

Frames are converted to RGB only where it looks, and it keeps only a few floats per frame.
"""

import dataclasses
from array import array
from collections.abc import Callable

import numpy as np

from omnisync_cli.errors import InputError, NoMouthError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.fallback import centre_box, override_box
from omnisync_cli.face.landmarks import FaceObservation, Landmarker, open_landmarker, pick_face
from omnisync_cli.face.motion import measured_shift, moving_camera_path, phase_correlation
from omnisync_cli.face.mouth_check import MouthCheck, landmarks_confirmed, landmarks_overruled, verdict
from omnisync_cli.face.mouth_track import MouthTrack, build_track, constant_track, editable_frames, fill_missing
from omnisync_cli.face.shots import cut_frames, is_cut, picture_change
from omnisync_cli.face.speaker import (CONFIDENT_SCORE, MIN_LOOKS, MouthCandidate, SpeakerJudge, best_supported,
                                       choose_speaker, confident, link_tracks, with_speaker)

SPEECH_RATE = 16_000  # sample rate of the speech `finish` is given (media.audio.SAMPLE_RATE)

# After this long without finding the followed face, the next face is chosen afresh (by
# size and face_index), e.g. after a cut; shorter gaps keep following the old position.
REACQUIRE_S = 1.0

# Frame rate assumed during the pass when the tracker is only told the true one at
# `finish(fps)`: it only spaces landmarker timestamps, face re-acquisition and localiser looks.
ASSUMED_FPS = 30.0

# MediaPipe's landmarks make the track when they found the face in at least this share of
# the frames; otherwise the learned mouth localiser's (a human face in the background of a
# cartoon must not win over the character that speaks).
LANDMARKS_MIN_SHARE = 0.5

# After this long without a human face, MediaPipe looks only every LANDMARKS_IDLE_EVERY_S
# (a drawn character, an animal, a robot: each miss costs a full face detection, several
# times the localiser's look) until it finds one. The looks it skips count as misses in
# LANDMARKS_MIN_SHARE and the localiser looks on the same frames as it would otherwise, so
# the track is the same; a face that appears later is found within LANDMARKS_IDLE_EVERY_S.
LANDMARKS_IDLE_S = 1.0
LANDMARKS_IDLE_EVERY_S = 1.0
# ... but once MediaPipe has followed a human face for a second, it looks for it every
# LANDMARKS_RETURN_EVERY_S while it is away, so a face that comes back is dubbed again within
# that (a user tour: at one look a second, 0.4-0.56 s of the old mouth under the new speech).
# Drawn characters, which MediaPipe never follows that long, keep the slow rate: its extra
# looks there find spurious faces now and then and displace the localiser's looks (measured
# on a beak clip: -0.7 dB).
LANDMARKS_RETURN_EVERY_S = 0.25

# MediaPipe's mesh looking for max_faces faces runs its face detector on every look while fewer
# are in view: 5.3 ms a 720p look with one face, 2.7 ms for a mesh that looks for one. So with
# face_index 0 a one-face mesh follows the face between full looks, which come at least every
# FULL_LOOK_EVERY_S, whenever no face is being followed, and on every look while the last
# full one saw several faces (which then all need following, face/speaker.py).
FULL_LOOK_EVERY_S = 0.5
# A face that moves fast outruns both: each mesh seeds its next look with its own last one, and
# where the face had moved about 0.3 face widths since (a hand-held camera shaking 80 px at 30 fps,
# a quick turn of a close-up) the landmarks came out up to 0.4 face widths behind. So the looks come
# often enough (every frame at the fastest) that the face moves at most LOOK_MAX_MOVE face widths
# between two, judged from the camera's shift (face.motion) and the face's own pace between its
# last two picks; and the one-face mesh follows only where its own last find lies as near to where
# the face is now expected (a full look finds it otherwise, and the one-face mesh looks too, to
# catch up). Allowing it 0.15 face widths left 20-30 % of the fastest clips' frames off the mouth.
LOOK_MAX_MOVE = 0.1
# Where the landmarks make the track, the mouth localiser also looks at one of their looks every
# MOUTH_CHECK_EVERY_S, to tell whether the landmarks' mouth is the character's (face.mouth_check);
# after MOUTH_CHECKS_DENSE checks, every MOUTH_CHECK_LATER_S (each check is a localiser look, 13 ms:
# every 0.5 s they added 2.5 s to the tracking pass of a 60 s 720p clip).
MOUTH_CHECK_EVERY_S = 0.5
MOUTH_CHECKS_DENSE = 12
MOUTH_CHECK_LATER_S = 5.0
# A localiser pick fills a frame the landmarks missed only this near (face widths) to where the
# landmarks' track, filled across the gap, puts the mouth (MouthTracker._lend_localiser_picks).
LEND_REACH = 0.5
# Glimpses kept for a SpeakerJudge where several mouths are followed (face/speaker.py), at most:
# 6.9 KB each, 55 MB in all (a little under 3 minutes of two characters at 25 fps); later looks
# are judged by their motion alone.
GLIMPSE_BUDGET = 8000


def _check_fps(fps: float) -> float:
    if not fps > 0:
        raise InputError(f"the video frame rate must be positive, got {fps}")
    return float(fps)


class MouthTracker:
    """Builds a MouthTrack frame by frame in the pipeline's first pass over the video.

        with MouthTracker(config, fps) as tracker:
            for picture in pictures:      # media.video.Picture: RGB uint8 (H, W, 3) on first use
                tracker.observe(picture.image if tracker.wants_picture() else None)
            track = tracker.finish()

    The frame rate may instead be given to `finish(fps)`; until then ASSUMED_FPS spaces the
    landmarker's timestamps, face re-acquisition and the localiser's looks.

    MediaPipe's face landmarks are looked for in one frame every `config.landmarks_every_s`
    seconds (every 3rd frame at 25 fps), and once a second after a second without any face
    (LANDMARKS_IDLE_S). Where they miss, the learned mouth localiser (any
    character: drawn, animal, robot) looks at one frame every `config.localiser_every_s`
    seconds; the track is the landmarks' when they found the face in most of their looks, else
    the localiser's (see `finish`). Frames between looks are filled like short gaps. Where a
    look (landmarks or localiser) finds several mouths, each is followed on every frame up to
    the next look (face/speaker.py), to tell later which one moves with the source's speech. With
    `config.mouth` or `config.region` nothing is detected at all.
    """

    def __init__(self, config: FaceConfig, fps: float | None = None, landmarker: Landmarker | None = None,
                 localiser=None, frame_size: tuple[int, int] | None = None,
                 follower: Landmarker | None = None):
        """`frame_size` (width, height): the frames' size where `observe` is given them
        shrunk (media.video.Picture); positions are then reported in frame pixels.
        `follower`: a landmarker looking for one face, used between full looks (see
        FULL_LOOK_EVERY_S); opened here beside a landmarker opened here."""
        self.config, self.fps = config, fps
        self._pass_fps = _check_fps(fps) if fps is not None else ASSUMED_FPS
        self._override = config.mouth is not None or config.region is not None
        if landmarker is None and not self._override:
            landmarker = open_landmarker(config)
            if landmarker is not None and follower is None and config.face_index == 0 and config.max_faces > 1:
                follower = open_landmarker(dataclasses.replace(config, max_faces=1))
        self._landmarker, self._follower = landmarker, follower
        self._next_full = 0  # the next landmark look that must be a full one
        self._several_faces = False  # the last full look saw several faces
        self._localiser = localiser
        self._frame_size: tuple[int, int] | None = frame_size
        self._count = 0
        # Landmark picks, one entry per frame (NaN: missed): 12 bytes a frame.
        self._x, self._y, self._w = array("f"), array("f"), array("f")
        self._n_landmarks = 0
        self._landmark_looks = 0
        self._next_landmarks = 0
        self._previous: FaceObservation | None = None
        self._last_pick = -1
        self._pick_before: tuple[int, FaceObservation] | None = None  # the pick before the last one
        self._follower_saw: FaceObservation | None = None  # the one-face mesh's own last find
        self._checks = 0  # frames where both the landmarks and the localiser looked
        self._verdicts: list[bool] = []  # what those checks said where they said anything (face.mouth_check)
        self._next_check = 0
        self._overruled = False  # the checks say the landmarks' mouth is not the character's
        self._last_face = -1  # the last landmark look that found any face
        self._next_slot = 0  # the next frame the landmarks' pace looks at (or, idle, skips)
        # Localiser picks, sparse: (frame index, x, y, width); and every candidate of every look,
        # its mouth patch followed on the frames up to the next look, to find the speaker among
        # several mouths (face/speaker.py).
        self._local_picks: list[tuple[int, float, float, float]] = []
        self._looks: list[tuple[int, list[MouthCandidate]]] = []
        # Landmark looks that found several faces, their mouths followed the same way.
        self._face_looks: list[tuple[int, list[MouthCandidate]]] = []
        self._most_faces = 0  # the most faces (or mouths) one look found
        self._local_previous: FaceObservation | None = None
        self._next_local = 0
        self.localiser_looks = 0
        self._glimpses_left = GLIMPSE_BUDGET
        # Camera shifts, one entry per frame (face.motion): 8 bytes a frame.
        self._camera_x, self._camera_y = array("f"), array("f")
        self._camera_moved = False
        # What tells a cut (face.shots), one entry per frame: 12 bytes a frame.
        self._change, self._response, self._changed_after = array("f"), array("f"), array("f")
        self._thumbnails: list[np.ndarray | None] = [None, None]  # the frames before the last and the last

    @property
    def localiser_looks_found(self) -> list[tuple[int, list[MouthCandidate]]]:
        """Every localiser look so far: (frame index, the mouths it found, frame pixels)."""
        return self._looks

    def __enter__(self) -> "MouthTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for landmarker in (self._landmarker, self._follower):
            if landmarker is not None:
                landmarker.close()
        self._landmarker = self._follower = None

    @property
    def look_every(self) -> int:
        """Frames between two scheduled looks (0: none, with `--mouth` / `--region`): the
        frames the tracker looks at are its multiples (the localiser looks on landmark slots),
        and others only where several mouths are followed."""
        if self._override:
            return 0
        return self._landmark_stride() if self._landmarker is not None else self._localiser_stride()

    def wants_picture(self) -> bool:
        """Whether `observe` will look at the next frame (else it may be given None, and the
        frame need not be converted): a landmark or localiser look is due, or several mouths
        are being followed, or the frame size is not known yet."""
        index = self._count
        if self._frame_size is None:
            return True
        if self._override:
            return False
        slot = self._landmark_slot(index)
        return bool(self._followed(index)) or slot == "look" or (slot != "between" and self._localiser_due(index))

    def observe(self, image: np.ndarray | None, thumbnail: np.ndarray | None = None) -> FaceObservation | None:
        """Look at the next frame (RGB uint8 (H, W, 3), or None where `wants_picture()` said
        no); returns the followed face found in it, if any. `thumbnail`: the frame as a small
        grey picture (media.video.Picture.grey), given for every frame so that the track
        follows the camera's shake between looks; without it the camera counts as still."""
        if image is None and self.wants_picture():
            raise ValueError("MouthTracker.observe needs this frame's picture (wants_picture() is True)")
        index = self._count
        self._count += 1
        if self._frame_size is None:
            self._frame_size = (image.shape[1], image.shape[0])
        if index == 0 and self._override:  # a bad override fails on the first frame, not after the pass
            override_box(self.config.mouth, self.config.region, *self._frame_size, self.config.fallback_size)
        if self._override:
            return None
        cut = self._record_picture(thumbnail)
        if cut:  # the faces followed so far are in another shot: pick afresh
            self._previous = self._local_previous = self._pick_before = None
        pick = self._look(image, index)
        if cut:  # a cut's first frame is often a poor picture (a new GOP, a blend): look again at the next
            self._look_at(index + 1)
        return pick

    def _look(self, image: np.ndarray | None, index: int) -> FaceObservation | None:
        """The looks due at frame `index` (landmarks, then the localiser where they missed)."""
        for candidate in self._followed(index):  # several mouths: each followed up to the next look's frame
            candidate.follow(image)
        slot, pick = self._landmark_slot(index), None
        if slot == "between":
            self._record_landmarks(None)
            return None
        if slot != "none":
            self._next_slot = self._next_on_stride(index)
        if slot == "idle":  # this slot's look is skipped, counted as a miss
            self._landmark_looks += 1
            self._record_landmarks(None)
        elif slot == "look":
            pick = self._observe_landmarks(image, index, self._scale(image))
            self._next_slot = index + self._frames_to_next_look(index)
        # Where the landmarks find the face on fewer than LANDMARKS_MIN_SHARE of their looks so
        # far, the track will likely be the localiser's: it then keeps its own pace on the frames
        # the landmarks found too, or its track has holes there (a user tour: a drawn character
        # that MediaPipe found now and then; after a title card the localiser had looked 4 times
        # in 1.5 s, too few to be sure of, and the returning shot was not dubbed).
        landmarks, leading = pick, self._landmarks_leading()
        checking = (landmarks is not None and leading and self.config.use_localiser and index >= self._next_check)
        if ((pick is None or not leading) and self._localiser_due(index)) or checking:
            local = self._observe_localiser(image, index, self._scale(image))
            pick = pick or local
            if landmarks is not None:  # both looked: does the localiser find the landmarks' mouth?
                self._check_mouth(index, landmarks, [c.obs for c in self._looks[-1][1]])
        return pick

    def _check_mouth(self, index: int, landmarks: FaceObservation, found: list[FaceObservation]) -> None:
        self._checks += 1
        said = verdict(MouthCheck(landmarks, tuple(found)))
        if said is not None:
            self._verdicts.append(said)
        every = MOUTH_CHECK_EVERY_S if self._checks < MOUTH_CHECKS_DENSE else MOUTH_CHECK_LATER_S
        self._next_check = index + round(every * self._pass_fps)
        self._overruled = self._overruled or landmarks_overruled(self._verdicts)

    def _open_localiser(self):
        if self._localiser is None:
            from omnisync_cli.face.localiser import open_localiser
            self._localiser = open_localiser(self.config.localiser)
        return self._localiser

    def _landmarks_leading(self) -> bool:
        """Whether the landmarks have found the face on LANDMARKS_MIN_SHARE of their looks so far,
        and the localiser's checks have not said their mouth is not the character's."""
        return not self._overruled and self._n_landmarks >= LANDMARKS_MIN_SHARE * self._landmark_looks

    def _record_picture(self, thumbnail: np.ndarray | None) -> bool:
        """Record this frame's shift from the one before, in frame pixels (0 without two
        thumbnails), and what tells a cut there (face.shots); returns whether the frames so far
        say this one starts a new shot."""
        before, previous = self._thumbnails
        self._thumbnails = [previous, thumbnail]
        dx = dy = change = 0.0
        response = 1.0
        if previous is not None and thumbnail is not None and previous.shape == thumbnail.shape:
            shift, response = phase_correlation(previous, thumbnail)
            change = picture_change(previous, thumbnail)
            scale = self._frame_size[0] / thumbnail.shape[1]
            dx, dy = (v * scale for v in measured_shift(shift, response))
            self._camera_moved = self._camera_moved or dx != 0 or dy != 0
        self._camera_x.append(dx)
        self._camera_y.append(dy)
        self._change.append(change)
        self._response.append(response)
        self._changed_after.append(float("nan"))
        if before is not None and thumbnail is not None and before.shape == thumbnail.shape:
            self._changed_after[-2] = picture_change(before, thumbnail)
        signals = [np.frombuffer(a, dtype=np.float32) for a in (self._change, self._response, self._changed_after)]
        return is_cut(*signals, len(self._change) - 1, causal=True)

    def _look_at(self, index: int) -> None:
        """Look at frame `index` with everything the tracker has (landmarks, a full look, the
        localiser), whenever the next looks were due."""
        self._next_slot = min(self._next_slot, index)
        self._next_landmarks = min(self._next_landmarks, index)
        self._next_full = min(self._next_full, index)
        self._next_local = min(self._next_local, index)

    def _cuts(self) -> np.ndarray:
        """The frames that start a new shot, judged with the frames either side (face.shots)."""
        return cut_frames(*(np.frombuffer(a, dtype=np.float32) for a in (self._change, self._response,
                                                                          self._changed_after)))

    def _camera(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-frame camera shifts, frame pixels; None where none was measured."""
        if not self._camera_moved:
            return None
        return np.frombuffer(self._camera_x, dtype=np.float32), np.frombuffer(self._camera_y, dtype=np.float32)

    def _moving_camera(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The path of a camera that moves (face.motion.moving_camera_path), None otherwise."""
        camera = self._camera()
        return None if camera is None else moving_camera_path(*camera)

    def _landmark_slot(self, index: int) -> str:
        """What MediaPipe does at frame `index`: "none" (no landmarker), "between" (between two
        look slots), "idle" (a slot skipped: no face for a while, LANDMARKS_IDLE_S) or "look"."""
        if self._landmarker is None:
            return "none"
        if index < self._next_slot:
            return "between"
        return "idle" if index < self._next_landmarks else "look"

    def _localiser_due(self, index: int) -> bool:
        """Whether the localiser looks at frame `index` where the landmarks found nothing."""
        return self.config.use_localiser and index >= self._next_local

    def _followed(self, index: int) -> list[MouthCandidate]:
        """The mouths followed on this frame: those of the last look (landmarks or localiser)
        that found several, up to the next look's frame."""
        followed = []
        for looks, stride in ((self._looks, self._localiser_stride()), (self._face_looks, self._landmark_stride())):
            if looks and len(looks[-1][1]) > 1 and index <= looks[-1][0] + stride:
                followed.extend(looks[-1][1])
        return followed

    def _scale(self, image: np.ndarray) -> tuple[float, float]:
        return image.shape[1] / self._frame_size[0], image.shape[0] / self._frame_size[1]

    def _observe_landmarks(self, image: np.ndarray, index: int,
                           scale: tuple[float, float]) -> FaceObservation | None:
        self._landmark_looks += 1
        if index - self._last_pick > REACQUIRE_S * self._pass_fps:
            self._previous = self._pick_before = None
        timestamp = round(index * 1000 / self._pass_fps)
        follower_near, fast = self._follower_state(index)
        full = (self._follower is None or self._previous is None or self._several_faces or index >= self._next_full
                or not follower_near)
        if not full:
            seen = self._follower.detect(image, timestamp)
            self._follower_saw = in_frame_pixels(seen[0], *scale) if seen else None
            full = not seen  # the follower lost the face: the full mesh looks at once
        if full:
            seen = self._landmarker.detect(image, timestamp)
            self._next_full = index + round(FULL_LOOK_EVERY_S * self._pass_fps)
            self._several_faces = len(seen) > 1
            if self._follower is not None and not follower_near and not fast and len(seen) == 1:
                caught = self._follower.detect(image, timestamp)  # it looks too, to catch up
                self._follower_saw = in_frame_pixels(caught[0], *scale) if caught else None
        faces = [in_frame_pixels(face, *scale) for face in seen]
        self._most_faces = max(self._most_faces, len(faces))
        if faces:
            self._last_face = index
        if len(faces) > 1:
            _add_look(self._face_looks, index, image, faces, seen, self._glimpse(len(faces), self._landmark_stride()))
        pick = pick_face(faces, self._previous, self.config.face_index)
        self._record_landmarks(pick)
        if pick is not None:
            if self._previous is not None:
                self._pick_before = (self._last_pick, self._previous)
            self._previous, self._last_pick = pick, index
            self._n_landmarks += 1
        if index - self._last_face >= LANDMARKS_IDLE_S * self._pass_fps:  # no face for a while: idle
            followed = self._n_landmarks * self._landmark_stride() >= LANDMARKS_IDLE_S * self._pass_fps
            every = LANDMARKS_RETURN_EVERY_S if followed else LANDMARKS_IDLE_EVERY_S
            self._next_landmarks = index + round(every * self._pass_fps)
        return pick

    def _expected_move(self, index: int) -> tuple[float, float, float]:
        """(x, y, pace): where the followed face's mouth is expected at frame `index` (the last
        pick, carried on by the camera's shift since then and the face's own pace between its
        last two picks), and how far it moves a frame, in face widths. Needs a last pick."""
        last, previous = self._last_pick, self._previous
        shifts_x = np.frombuffer(self._camera_x, dtype=np.float32)
        shifts_y = np.frombuffer(self._camera_y, dtype=np.float32)
        x = previous.mouth_x + float(np.sum(shifts_x[last + 1:index + 1]))
        y = previous.mouth_y + float(np.sum(shifts_y[last + 1:index + 1]))
        recent = slice(max(0, index + 1 - self._landmark_stride()), index + 1)
        camera = float(np.mean(np.hypot(shifts_x[recent], shifts_y[recent]))) if len(shifts_x) else 0.0
        own = 0.0
        if self._pick_before is not None:
            before_index, before = self._pick_before
            frames = max(1, last - before_index)
            step_x, step_y = (previous.mouth_x - before.mouth_x) / frames, (previous.mouth_y - before.mouth_y) / frames
            x, y = x + step_x * (index - last), y + step_y * (index - last)
            own = float(np.hypot(step_x, step_y))
        return x, y, (camera + own) / max(previous.face_width, 1.0)

    def _follower_state(self, index: int) -> tuple[bool, bool]:
        """(near, fast): whether the one-face mesh's own last find lies within LOOK_MAX_MOVE face
        widths of where the followed face is expected now (its next look starts from there), and
        whether the face moves more than LOOK_MAX_MOVE in a stride (the follower then cannot catch
        up: it is always a look behind)."""
        if self._previous is None:
            return False, False
        x, y, pace = self._expected_move(index)
        saw, reach = self._follower_saw, LOOK_MAX_MOVE * self._previous.face_width
        near = saw is not None and bool(np.hypot(saw.mouth_x - x, saw.mouth_y - y) <= reach)
        return near, pace * self._landmark_stride() > LOOK_MAX_MOVE

    def _next_on_stride(self, index: int) -> int:
        """The first multiple of the landmark stride after frame `index`: the scheduled looks
        keep to those frames, which the decoding thread has converted ahead (`look_every`), also
        after an extra look (a cut's next frame, a fast face). Off them, each look's conversion
        fell to the tracking thread: 2.5 of 7.5 s on a 60 s 720p clip looped every 10 s."""
        stride = self._landmark_stride()
        return (index // stride + 1) * stride

    def _frames_to_next_look(self, index: int) -> int:
        """Frames to the next landmark look: to the next multiple of the stride, fewer (at least
        1) while the followed face moves more than LOOK_MAX_MOVE face widths in a stride."""
        stride = self._landmark_stride()
        if self._previous is not None and self._last_pick == index:
            pace = self._expected_move(index)[2]
            if pace * stride > LOOK_MAX_MOVE:
                return max(1, int(LOOK_MAX_MOVE / pace))
        return self._next_on_stride(index) - index

    def _record_landmarks(self, pick: FaceObservation | None) -> None:
        """This frame's landmark pick (NaN: missed or not looked at)."""
        nan = float("nan")
        self._x.append(pick.mouth_x if pick else nan)
        self._y.append(pick.mouth_y if pick else nan)
        self._w.append(pick.face_width if pick else nan)

    def _glimpse(self, mouths: int, stride: int) -> bool:
        """Whether a look's `mouths` keep glimpses for a SpeakerJudge (up to the next look,
        `stride` frames on): while GLIMPSE_BUDGET lasts, and only where the speaker is chosen
        (face_index 0)."""
        if self._glimpses_left <= 0 or self.config.face_index != 0:
            return False
        self._glimpses_left -= mouths * (stride + 1)
        return True

    def _landmark_stride(self) -> int:
        return max(1, round(self.config.landmarks_every_s * self._pass_fps))

    def _localiser_stride(self) -> int:
        return max(1, round(self.config.localiser_every_s * self._pass_fps))

    def _observe_localiser(self, image: np.ndarray, index: int,
                           scale: tuple[float, float]) -> FaceObservation | None:
        stride = self._localiser_stride()
        self._next_local = index + stride
        self.localiser_looks += 1
        last = self._local_picks[-1][0] if self._local_picks else -1
        if index - last > REACQUIRE_S * self._pass_fps + stride:
            self._local_previous = None
        seen = self._open_localiser().detect(image)
        candidates = [in_frame_pixels(obs, *scale) for obs in seen]
        self._most_faces = max(self._most_faces, len(candidates))
        _add_look(self._looks, index, image, candidates, seen,
                  len(candidates) > 1 and self._glimpse(len(candidates), stride))
        pick = pick_face(candidates, self._local_previous, self.config.face_index)
        if pick is not None:
            self._local_previous = pick
            self._local_picks.append((index, pick.mouth_x, pick.mouth_y, pick.face_width))
        return pick

    def finish(self, fps: float | None = None, speech: Callable[[], np.ndarray | None] | None = None,
               judge: SpeakerJudge | None = None) -> MouthTrack:
        """The track of every frame observed so far (also closes the landmarker).

        `fps` is needed here unless the tracker was given it. `speech()` gives the source
        video's own audio (16 kHz mono, or None): with several mouths in view and face_index 0,
        the localiser track follows the one whose motion follows that speech (as `judge`, where
        given, hears it: face.speaker.SpeakerJudge). Landmarks make the track when
        they found the face in at least LANDMARKS_MIN_SHARE of the frames (or the localiser
        found nothing); else the localiser's picks do. No mouth anywhere is a NoMouthError,
        unless `config.centre_fallback` asks for the frame centre.
        """
        self.close()
        if fps is None and self.fps is None:
            raise ValueError("MouthTracker.finish needs the frame rate (or give it to the constructor)")
        fps = _check_fps(fps if fps is not None else self.fps)
        n = self._count
        if n == 0 or self._frame_size is None:
            raise InputError("the video has no frames to find a face in")
        size, cfg = self._frame_size, self.config
        if self._override:
            box, mouth = override_box(cfg.mouth, cfg.region, *size, cfg.fallback_size)
            return constant_track(n, fps, size, box, mouth, "override")
        landmarks = self._n_landmarks > 0 and self._landmarks_leading()
        cuts = self._cuts()
        picks, by_speech = ([], False)
        if not landmarks and self._local_picks:
            picks, by_speech = self._speaker_picks(fps, speech, judge)
        if landmarks or (self._n_landmarks > 0 and not picks):
            x, y, w = (np.frombuffer(a, dtype=np.float32).copy() for a in (self._x, self._y, self._w))
            by_speech = self._speaking_face(x, y, w, fps, speech, judge)
            looked = ~np.isnan(x)
            lent = self._lend_localiser_picks(x, y, w)
            track = build_track(x, y, w, ~np.isnan(x), fps, size, cfg, "landmarks", self._camera(), cuts)
            found = _spread(looked, self._landmark_stride(), cuts) | _spread(lent, self._localiser_stride(), cuts)
            return dataclasses.replace(track, found=found, edit=editable_frames(found, cfg.max_gap_s * fps, cuts),
                                       speaker_by_speech=by_speech, localiser_frames=int(lent.sum()))
        if picks:
            x, y, w = (np.full(n, np.nan) for _ in range(3))
            picks = np.array(picks)  # (K, 4)
            frames = picks[:, 0].astype(int)
            x[frames], y[frames], w[frames] = picks[:, 1], picks[:, 2], picks[:, 3]
            stride = max(1, round(cfg.localiser_every_s * fps))
            track = build_track(x, y, w, ~np.isnan(x), fps, size, cfg, "localiser", self._camera(), cuts)
            track = _between_looks(track, ~np.isnan(x), stride, cfg.max_gap_s * fps)
            return dataclasses.replace(track, speaker_by_speech=by_speech, landmarks_overruled=self._overruled)
        if cfg.centre_fallback:
            box = centre_box(*size, cfg.fallback_size)
            return constant_track(n, fps, size, box, (box.cx, box.cy), "centre")
        if cfg.face_index > 0 and self._most_faces:
            raise InputError(f"--face-index {cfg.face_index} asks for face number {cfg.face_index + 1} (0 = the "
                             f"largest), but no frame showed more than {self._most_faces}; use a lower "
                             "--face-index, or --mouth X,Y")
        why = ("the mouth localiser saw only shapes it was unsure of" if self._local_picks else
               "neither face landmarks nor the mouth localiser saw one")
        hint = ""
        if self._local_picks:  # how unsure (a tour: clips under a second refused, and no way to tell why)
            sure = sum(any(c.obs.score >= CONFIDENT_SCORE for c in found) for _, found in self._looks)
            why += (f": a sure look (score {CONFIDENT_SCORE:g} or more) on {sure} of its {len(self._looks)} looks, "
                    "and it needs two on one mouth")
            hint = self._likeliest_place(fps)
        raise NoMouthError(f"no mouth found in any frame ({why}); {hint}give its place with --mouth X,Y or --region "
                           "X,Y,W,H, or edit the frame centre with --centre-fallback", reason=why)

    def _lend_localiser_picks(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Put the localiser's picks into the landmarks' track (x, y, w, in place) on the frames
        where the landmarks found nothing, where the checks say the two find the same mouth on
        this character (most checks with a verdict agree); returns which frames were filled.
        Without them a face the landmarks lost for over max_gap_s (turned away, a creature they
        find now and then) passed through undubbed where the localiser saw its mouth. A pick is
        lent only within LEND_REACH face widths of where the landmarks' own track, filled across
        the gap, puts the mouth (a benchmark clip's first look had picked something 1.8 face
        widths away)."""
        lent = np.zeros(len(x), bool)
        if not self._local_picks or not landmarks_confirmed(self._verdicts):
            return lent
        found = ~np.isnan(x)
        if not found.any():
            return lent
        near_x, near_y, near_w = (fill_missing(np.asarray(a, np.float64), found) for a in (x, y, w))
        for index, px, py, pw in self._local_picks:
            if index >= len(x) or found[index]:
                continue
            if np.hypot(px - near_x[index], py - near_y[index]) <= LEND_REACH * near_w[index]:
                x[index], y[index], w[index] = px, py, pw
                lent[index] = True
        return lent

    def _likeliest_place(self, fps: float) -> str:
        """Where the localiser kept seeing a mouth without being sure of it (a character of a
        style it never learned: a helper's fish and ghost were seen at their mouths on 16 and 7
        of 25 looks, scores 0.2-0.5), as a hint for --mouth; "" where no place recurs."""
        linked = link_tracks(self._looks, max_gap=round(REACQUIRE_S * fps), camera=self._moving_camera())
        steady = [t for t in linked if len(t.looks) >= min(MIN_LOOKS, len(self._looks))]
        if not steady:
            return ""
        best = max(steady, key=lambda t: (len(t.looks), sum(o.score for _, o, _ in t.looks)))
        x = float(np.median([o.mouth_x for _, o, _ in best.looks]))
        y = float(np.median([o.mouth_y for _, o, _ in best.looks]))
        return (f"the place it saw most often, never surely, is {x:.0f},{y:.0f} (on {len(best.looks)} of its "
                f"{len(self._looks)} looks): if the mouth is there, give --mouth {x:.0f},{y:.0f}; else ")

    def _speaking_face(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, fps: float, speech, judge) -> bool:
        """Where landmark looks found several faces and face_index is 0: if one face's mouth
        follows the source's speech clearly better than the face picked by size, its mouth
        replaces the picks on those looks (in place; a look where it was not linked becomes
        a gap). Returns whether it did."""
        if self.config.face_index != 0 or speech is None or not self._face_looks:
            return False
        tracks = link_tracks(self._face_looks, max_gap=round(REACQUIRE_S * fps), camera=self._moving_camera())
        picked = lambda t: sum(bool(np.isclose(x[i], o.mouth_x) and np.isclose(y[i], o.mouth_y))  # noqa: E731
                               for i, o, _ in t.looks)
        default = max(tracks, key=picked)
        waveform = speech()
        if waveform is None or not np.any(waveform):
            return False
        speaker = choose_speaker(tracks, default, waveform, SPEECH_RATE, fps, judge)
        if speaker is None:
            return False
        for index, _ in self._face_looks:
            x[index] = y[index] = w[index] = np.nan
        for index, obs, _ in speaker.looks:
            x[index], y[index], w[index] = obs.mouth_x, obs.mouth_y, obs.face_width
        return True

    def _speaker_picks(self, fps: float, speech, judge) -> tuple[list, bool]:
        """The looks to follow: with `face_index` 0 the best-supported mouth's (face.speaker),
        or the one that follows the source's speech where looks hold several; else the picks
        by size made during the pass."""
        if self.config.face_index != 0:
            return self._local_picks, False
        linked = link_tracks(self._looks, max_gap=round(REACQUIRE_S * fps), camera=self._moving_camera())
        tracks = [t for t in linked if confident(t, len(self._looks))]
        chosen = best_supported(tracks)
        if not chosen:
            return [], False
        picks = sorted((i, o.mouth_x, o.mouth_y, o.face_width) for t in chosen for i, o, _ in t.looks)
        if speech is None or not any(len(c) > 1 for _, c in self._looks):
            return picks, False
        waveform = speech()
        if waveform is None or not np.any(waveform):
            return picks, False
        speaker = choose_speaker(tracks, chosen[0], waveform, SPEECH_RATE, fps, judge)
        if speaker is None:
            return picks, False
        return sorted((i, o.mouth_x, o.mouth_y, o.face_width) for t in with_speaker(chosen, speaker)
                      for i, o, _ in t.looks), True


def _add_look(looks: list, index: int, image: np.ndarray, found: list[FaceObservation],
              seen: list[FaceObservation], glimpse: bool = False) -> None:
    """Append a look's mouths (`found` in frame pixels, `seen` in the picture's) to be followed,
    keeping glimpses with `glimpse`; the previous look's are followed no more."""
    for candidate in looks[-1][1] if looks else ():
        candidate.done()
    looks.append((index, [MouthCandidate.at(image, obs, near, glimpse) for obs, near in zip(found, seen)]))


def in_frame_pixels(obs: FaceObservation, sx: float, sy: float) -> FaceObservation:
    """An observation in a picture shrunk by (sx, sy) from its frame, in frame pixels."""
    if sx == 1 and sy == 1:
        return obs
    left, top, right, bottom = obs.bbox
    return dataclasses.replace(obs, mouth_x=obs.mouth_x / sx, mouth_y=obs.mouth_y / sy,
                               face_width=obs.face_width / sx, bbox=(left / sx, top / sy, right / sx, bottom / sy))


def _between_looks(track: MouthTrack, found: np.ndarray, stride: int, max_gap: float) -> MouthTrack:
    """The frames between two looks were not looked at: a frame counts as found when the look
    before it, in its shot, found the mouth, and a gap (to pass through unedited) runs from
    look to look."""
    spread = _spread(found, stride, track.cuts)
    return dataclasses.replace(track, found=spread, edit=editable_frames(spread, max_gap, track.cuts))


def _spread(found: np.ndarray, stride: int, cuts: np.ndarray = np.zeros(0, int)) -> np.ndarray:
    """Mark the stride-1 unlooked frames after each found look as found too, up to the next cut."""
    out = found.copy()
    ends = np.append(np.sort(np.asarray(cuts, int)), len(out))  # where each frame's shot ends
    for k in np.nonzero(found)[0]:
        out[k:min(k + stride, int(ends[np.searchsorted(ends, k, side="right")]))] = True
    return out
