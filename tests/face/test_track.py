import cv2
import numpy as np
import pytest

from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.region import REGION_SCALE
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.face.motion import THUMBNAIL_SIDE
from omnisync_cli.media.video import shrunk_grey
from tests.face.images import textured_frame


@pytest.fixture(autouse=True)
def blind_localiser(monkeypatch):
    """Trackers built without a localiser get one that never sees a mouth (no bundled weights needed)."""
    from omnisync_cli.face import localiser
    monkeypatch.setattr(localiser, "open_localiser", lambda directory=None: ScriptedLocaliser([[]] * 10_000))


class ScriptedLandmarker:
    """Answers a prepared list of faces per frame, like a landmarker would."""

    def __init__(self, script):
        self.script, self.closed, self.timestamps = list(script), False, []

    def detect(self, image, timestamp_ms):
        self.timestamps.append(timestamp_ms)
        return self.script[len(self.timestamps) - 1]

    def close(self):
        self.closed = True


def face(x, y, width):
    return FaceObservation(x, y, width, (x - width / 2, y - width, x + width / 2, y + width / 3))


def run(tracker: MouthTracker, n: int, frame=None) -> None:
    frame = np.zeros((240, 320, 3), np.uint8) if frame is None else frame
    for _ in range(n):
        tracker.observe(frame)


def test_tracker_follows_the_largest_face_without_swapping():
    # Face A (left) starts larger; B (right) grows past it; A must stay followed.
    script = [[face(80 + i, 120, 60), face(240, 120, 40 + 2 * i)] for i in range(20)]
    script[5] = []                                  # a frame with no detection
    landmarker = ScriptedLandmarker(script)
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0, landmarks_every_s=0), fps=25,
                           landmarker=landmarker)
    run(tracker, 20)
    track = tracker.finish()
    assert landmarker.closed and track.source == "landmarks"
    assert (track.detected, track.filled) == (19, 1)
    np.testing.assert_allclose(track.mouth_x, 80 + np.arange(20))   # frame 5 filled in between
    np.testing.assert_allclose(track.side, 60)
    assert landmarker.timestamps == [round(i * 1000 / 25) for i in range(20)]


def test_tracker_can_learn_the_frame_rate_at_the_end():
    script = [[face(80, 120, 60)]] * 4
    tracker = MouthTracker(FaceConfig(), landmarker=ScriptedLandmarker(script))
    run(tracker, 4)
    track = tracker.finish(60.0)
    assert track.fps == 60.0 and track.detected == 4
    with pytest.raises(ValueError, match="frame rate"):
        MouthTracker(FaceConfig(), landmarker=ScriptedLandmarker(script)).finish()


def test_tracker_face_index_follows_the_second_face():
    script = [[face(80, 120, 60), face(240, 120, 40)]] * 10
    tracker = MouthTracker(FaceConfig(face_index=1), fps=25, landmarker=ScriptedLandmarker(script))
    run(tracker, 10)
    assert np.allclose(tracker.finish().mouth_x, 240)


def test_a_face_index_beyond_the_faces_seen_says_how_many_there_were():
    script = [[face(80, 120, 60), face(240, 120, 40)]] * 10
    tracker = MouthTracker(FaceConfig(face_index=2, use_localiser=False), fps=25,
                           landmarker=ScriptedLandmarker(script))
    run(tracker, 10)
    with pytest.raises(InputError, match="--face-index 2 asks for face number 3.*no frame showed more than 2"):
        tracker.finish()


def test_tracker_chooses_afresh_after_a_long_gap():
    # The followed face leaves; after more than a second the remaining face is taken.
    script = [[face(80, 120, 60)]] * 5 + [[face(250, 120, 50)]] * 40
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0, landmarks_every_s=0), fps=25,
                           landmarker=ScriptedLandmarker(script))
    run(tracker, 45)
    track = tracker.finish()
    assert track.mouth_x[0] == 80 and track.mouth_x[-1] == 250
    assert 25 <= track.filled <= 27


class ScriptedLocaliser:
    """Answers a prepared list of mouths per look, like the mouth localiser would."""

    def __init__(self, script):
        self.script, self.looks = list(script), 0

    def detect(self, image):
        self.looks += 1
        return self.script[self.looks - 1]


class PlacedLocaliser:
    """Finds one mouth at `place` (x, y) with `score` on every look, or none for place None."""

    def __init__(self, place, score: float = 0.9):
        self.place, self.score, self.looks = place, score, 0

    def detect(self, image):
        self.looks += 1
        if self.place is None:
            return []
        x, y = self.place
        return [FaceObservation(x, y, 50.0, (x - 25, y - 50, x + 25, y + 15), self.score)]


NO_MOUTHS = PlacedLocaliser(None)


def test_tracker_without_any_mouth_is_an_input_error_naming_the_overrides():
    tracker = MouthTracker(FaceConfig(), fps=10, landmarker=ScriptedLandmarker([[]] * 6),
                           localiser=ScriptedLocaliser([[]] * 6))
    run(tracker, 6, textured_frame(240, 320))
    with pytest.raises(InputError, match="--mouth X,Y or --region"):
        tracker.finish()


def test_tracker_edits_the_frame_centre_only_when_asked():
    tracker = MouthTracker(FaceConfig(centre_fallback=True), fps=10, landmarker=ScriptedLandmarker([[]] * 6),
                           localiser=ScriptedLocaliser([[]] * 6))
    run(tracker, 6, textured_frame(240, 320))
    track = tracker.finish()
    assert track.source == "centre" and len(track) == 6 and track.detected == 0
    assert (track.cx[0], track.cy[0], track.side[0]) == pytest.approx((160, 120, 0.35 * 240))
    assert "frame centre" in track.summary()


def test_tracker_uses_the_localiser_where_landmarks_find_nothing():
    fps = 10  # the localiser looks every 0.2 s: frames 0, 2, 4, ...
    localiser = ScriptedLocaliser([[face(100 + k, 80, 40)] for k in range(10)])
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                           landmarker=ScriptedLandmarker([[]] * 10), localiser=localiser)
    run(tracker, 10)
    track = tracker.finish()
    assert localiser.looks == 5 and track.source == "localiser"
    assert (track.detected, track.filled, track.passed_through) == (10, 0, 0)  # each look covers 2 frames
    np.testing.assert_allclose(track.mouth_x[[0, 2, 4]], [100, 101, 102])
    np.testing.assert_allclose(track.mouth_x[1], 100.5)  # between two looks: interpolated


def test_landmarks_win_when_they_found_the_face_in_most_frames():
    script = [[face(80, 120, 60)]] * 8 + [[]] * 2
    tracker = MouthTracker(FaceConfig(), fps=10, landmarker=ScriptedLandmarker(script),
                           localiser=ScriptedLocaliser([[face(200, 50, 30)]] * 10))
    run(tracker, 10)
    track = tracker.finish()
    assert track.source == "landmarks" and np.allclose(track.mouth_x, 80)


def test_a_long_stretch_without_a_mouth_passes_through_unedited():
    fps = 10  # found for 1 s, then nothing for 2 s (longer than max_gap_s = 1), then found again
    script = [[face(100, 80, 40)]] * 5 + [[]] * 10 + [[face(100, 80, 40)]] * 5
    tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=ScriptedLandmarker([[]] * 40),
                           localiser=ScriptedLocaliser(script))
    run(tracker, 40)
    track = tracker.finish()
    assert track.source == "localiser"
    assert track.edit[:10].all() and not track.edit[10:30].any() and track.edit[30:].all()
    assert track.passed_through == 20 and "left unedited" in track.summary()


def test_tracker_with_overrides_detects_nothing():
    landmarker = ScriptedLandmarker([])
    tracker = MouthTracker(FaceConfig(region=(100, 50, 80, 60), mouth=(150, 90)), fps=25, landmarker=landmarker)
    run(tracker, 7)
    track = tracker.finish()
    assert track.source == "override" and len(track) == 7 and landmarker.timestamps == []
    assert (track.cx[3], track.cy[3], track.side[3]) == (140, 80, 80)
    np.testing.assert_allclose(track.mouth_in_box(slice(None)), [[(150 - 100) / 80, (90 - 40) / 80]] * 7)


def test_bad_override_fails_on_the_first_frame():
    tracker = MouthTracker(FaceConfig(mouth=(1000, 10)), fps=25)
    with pytest.raises(ConfigError, match="--mouth"):
        tracker.observe(np.zeros((240, 320, 3), np.uint8))


def test_tracker_without_frames_is_an_input_error():
    with pytest.raises(InputError, match="no frames"):
        MouthTracker(FaceConfig(), fps=25, landmarker=ScriptedLandmarker([])).finish()


def test_tracker_without_mediapipe_still_tracks(monkeypatch):
    from omnisync_cli.face import landmarks
    monkeypatch.setattr(landmarks, "_import_mediapipe", lambda: None)
    with MouthTracker(FaceConfig(), fps=25, localiser=ScriptedLocaliser([[face(50, 60, 30)]])) as tracker:
        run(tracker, 3, textured_frame(120, 160))
        assert tracker.finish().source == "localiser"


def test_tracker_with_mediapipe_follows_a_moving_face(face_still):
    pytest.importorskip("mediapipe")
    image, (mouth_x, mouth_y), _ = face_still
    shifts = [0, 4, 8, 12, 16, 20]
    with MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0, landmarks_every_s=0), fps=25) as tracker:
        for dx in shifts:                               # the head slides right, 4 px a frame
            tracker.observe(np.ascontiguousarray(np.roll(image, dx, axis=1)))
        track = tracker.finish()
    assert track.source == "landmarks" and track.detected == len(shifts)
    np.testing.assert_allclose(track.mouth_x - track.mouth_x[0], shifts, atol=2.0)
    assert abs(track.mouth_x[0] - mouth_x) < 8 and abs(track.mouth_y[0] - mouth_y) < 8


def test_the_one_face_follower_tracks_like_the_full_mesh(face_still, monkeypatch):
    """The tracker opens a one-face mesh beside the full one and follows the sliding face
    with it between full looks: the track matches the full mesh's alone within 2 px (about
    1 % of the face width)."""
    pytest.importorskip("mediapipe")
    from omnisync_cli.face import track as track_module
    from omnisync_cli.face.landmarks import open_landmarker
    image, _, _ = face_still
    frames = [np.ascontiguousarray(np.roll(image, 2 * k, axis=1)) for k in range(30)]
    config = FaceConfig(smooth_position_s=0, smooth_size_s=0)
    opened = []
    monkeypatch.setattr(track_module, "open_landmarker",
                        lambda c: opened.append(c.max_faces) or open_landmarker(c))

    def tracked(**given):
        with MouthTracker(config, fps=25, **given) as tracker:
            for frame in frames:
                tracker.observe(frame if tracker.wants_picture() else None)
            return tracker.finish()

    both = tracked()
    assert opened == [config.max_faces, 1]
    alone = tracked(landmarker=open_landmarker(config))
    assert both.detected == alone.detected == len(frames)
    np.testing.assert_allclose(both.mouth_x, alone.mouth_x, atol=2.0)
    np.testing.assert_allclose(both.mouth_y, alone.mouth_y, atol=2.0)


def test_landmarks_look_at_every_third_frame_at_25_fps_and_fill_between():
    """Frames between two looks are interpolated; they count as found when the look before
    them found the face, and the landmarks-or-localiser share counts looks, not frames."""
    script = [[face(100 + 6 * k, 120, 60)] for k in range(10)]  # the look at frame 3k: 2 px a frame
    landmarker = ScriptedLandmarker(script)
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=25, landmarker=landmarker,
                           localiser=NO_MOUTHS)
    run(tracker, 19)
    track = tracker.finish()
    assert landmarker.timestamps == [round(i * 1000 / 25) for i in range(0, 19, 3)]
    assert track.source == "landmarks" and (track.detected, track.filled, track.passed_through) == (19, 0, 0)
    np.testing.assert_allclose(track.mouth_x, 100 + 2 * np.arange(19))


def test_landmark_looks_are_spaced_in_seconds_whatever_the_frame_rate():
    for fps, stride in ((12, 1), (24, 3), (25, 3), (30, 3), (60, 7)):
        landmarker = ScriptedLandmarker([[face(100, 120, 60)]] * 60)
        tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=landmarker)
        run(tracker, 60)
        assert len(landmarker.timestamps) == len(range(0, 60, stride)), fps
        assert tracker.finish().detected == 60


def test_shrunk_pictures_give_positions_in_frame_pixels():
    """Told the frames' size, a tracker given pictures at a third of it reports (and decides
    between faces) in frame pixels, as if it had seen the frames themselves."""
    third = [[face(80 / 3, 120 / 3, 60 / 3), face(200 / 3, 100 / 3, 30 / 3)]] * 4
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=25, frame_size=(960, 720),
                           landmarker=ScriptedLandmarker(third))
    run(tracker, 4, np.zeros((240, 320, 3), np.uint8))
    track = tracker.finish()
    assert track.frame_size == (960, 720)
    np.testing.assert_allclose(track.mouth_x, 80, rtol=1e-5)
    np.testing.assert_allclose(track.mouth_y, 120, rtol=1e-5)
    np.testing.assert_allclose(track.side, REGION_SCALE * 60, rtol=1e-5)


def test_localiser_looks_at_shrunk_pictures_report_frame_pixels():
    localiser = ScriptedLocaliser([[face(50, 40, 20)]] * 10)
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=10, frame_size=(640, 480),
                           landmarker=ScriptedLandmarker([[]] * 10), localiser=localiser)
    run(tracker, 10, textured_frame(240, 320))
    track = tracker.finish()
    assert track.source == "localiser"
    np.testing.assert_allclose(track.mouth_x, 100, rtol=1e-5)
    np.testing.assert_allclose(track.mouth_y, 80, rtol=1e-5)


class TimedLandmarker:
    """Finds one face at frames [start, stop) of a 25 fps clip, read from the timestamp."""

    def __init__(self, start: int, stop: int):
        self.start, self.stop, self.frames = start, stop, []

    def detect(self, image, timestamp_ms):
        frame = round(timestamp_ms * 25 / 1000)
        self.frames.append(frame)
        return [face(100, 120, 60)] if self.start <= frame < self.stop else []

    def close(self):
        pass


def test_landmarks_look_once_a_second_after_a_second_without_any_face():
    """A drawn character: MediaPipe stops paying a full face search every 3rd frame; the
    localiser keeps its own pace."""
    landmarker, localiser = TimedLandmarker(0, 0), ScriptedLocaliser([[face(200, 50, 30)]] * 20)
    tracker = MouthTracker(FaceConfig(), fps=25, landmarker=landmarker, localiser=localiser)
    run(tracker, 100)
    assert landmarker.frames == [*range(0, 25, 3), 51, 78]
    assert localiser.looks == 17 and tracker.finish().source == "localiser"


def test_the_idle_pace_leaves_the_track_as_it_was(monkeypatch):
    """Skipping MediaPipe's looks changes nothing else: the localiser looks at the same
    frames and the track is the same as with MediaPipe looking on every one of its slots."""
    script = [[face(200 + k, 50, 30)] for k in range(40)]

    def track_of(idle_s):
        monkeypatch.setattr("omnisync_cli.face.track.LANDMARKS_IDLE_S", idle_s)
        tracker = MouthTracker(FaceConfig(), fps=25, landmarker=TimedLandmarker(0, 0),
                               localiser=ScriptedLocaliser(script))
        run(tracker, 150)
        return tracker.finish()

    idle, busy = track_of(1.0), track_of(1e9)
    for field in ("mouth_x", "mouth_y", "side", "found", "edit"):
        np.testing.assert_array_equal(getattr(idle, field), getattr(busy, field))


def test_a_face_that_appears_later_is_found_within_a_second_and_then_looked_at_densely():
    landmarker = TimedLandmarker(60, 200)
    tracker = MouthTracker(FaceConfig(), fps=25, landmarker=landmarker,
                           localiser=ScriptedLocaliser([[]] * 40))
    run(tracker, 200)
    first = next(f for f in landmarker.frames if f >= 60)
    assert first - 60 <= 25
    assert landmarker.frames[-1] >= 198 and np.all(np.diff([f for f in landmarker.frames if f >= first]) == 3)
    track = tracker.finish()
    assert track.source == "landmarks" and np.allclose(track.mouth_x[first:], 100)


class AwayLandmarker(TimedLandmarker):
    """Finds the face at frames [0, leave) and again from `back` on."""

    def __init__(self, leave: int, back: int):
        super().__init__(0, leave)
        self.back = back

    def detect(self, image, timestamp_ms):
        found = super().detect(image, timestamp_ms)
        return found or ([face(100, 120, 60)] if self.frames[-1] >= self.back else [])


def test_a_followed_face_that_comes_back_is_found_within_a_quarter_second():
    landmarker = AwayLandmarker(50, 105)
    tracker = MouthTracker(FaceConfig(), fps=25, landmarker=landmarker, localiser=ScriptedLocaliser([[]] * 60))
    run(tracker, 200)
    first = next(f for f in landmarker.frames if f >= 105)
    assert first - 105 <= round(0.25 * 25) + 1  # at one look a second it was 21 frames here
    assert tracker.finish().found[first:].all()


@pytest.mark.parametrize("face_frames, source", [(30, "localiser"), (70, "landmarks")])
def test_skipped_looks_count_as_misses_when_landmarks_and_localiser_compete(face_frames, source):
    """The share of looks that found the face is what it would be looking on every slot (every 3rd frame)."""
    tracker = MouthTracker(FaceConfig(), fps=25, landmarker=TimedLandmarker(0, face_frames),
                           localiser=ScriptedLocaliser([[face(200, 50, 30)]] * 100))
    run(tracker, 100)
    assert tracker.finish().source == source


def test_frames_the_tracker_does_not_look_at_need_no_picture():
    """Given None wherever `wants_picture()` says no, the tracker builds the same track as
    with every picture, looks at about one frame in its landmark stride, and refuses None
    where it wants the picture. Two faces at frame 12 make it follow both mouths on every
    frame up to the next look."""
    fps, n = 25, 40  # landmarks every 0.11 s: every 3rd frame
    script = [[face(100 + k, 80, 40)] for k in range(n)]
    script[4] = [face(104, 80, 40), face(220, 90, 30)]  # the 5th look: frame 12
    frame = textured_frame(240, 320)

    def tracked(lazy: bool) -> tuple:
        tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=ScriptedLandmarker(script),
                               localiser=ScriptedLocaliser([[]] * n))
        wanted = []
        for k in range(n):
            wanted.append(tracker.wants_picture())
            tracker.observe(frame if wanted[-1] or not lazy else None)
        return tracker.finish(), wanted

    eager, _ = tracked(lazy=False)
    lazy, wanted = tracked(lazy=True)
    for name in ("cx", "cy", "side", "mouth_x", "mouth_y", "found"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(eager, name))
    assert wanted[:12] == [True, False, False] * 4
    assert all(wanted[12:16]) and not wanted[16]  # both mouths followed from frame 12 to the next look
    assert sum(wanted) == len(range(0, n, 3)) + 2
    tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=ScriptedLandmarker(script))
    with pytest.raises(ValueError, match="wants_picture"):
        tracker.observe(None)


def looked_frames(landmarker, fps: float) -> list[int]:
    return [round(t * fps / 1000) for t in landmarker.timestamps]


def test_a_one_face_follower_looks_between_full_looks():
    """With a follower, the full landmarker looks every FULL_LOOK_EVERY_S (0.5 s: 5 frames
    at 10 fps), on every look while it last saw several faces, and whenever no face is being
    followed; the follower looks at the rest (and beside the first full look, to start)."""
    n = 30
    one, two = [face(100, 80, 40)], [face(100, 80, 40), face(220, 90, 30)]
    script = [one] * n
    script[2] = two  # the 3rd full look (frame 10) sees two faces, the 4th (frame 11) one again
    full, follower = ScriptedLandmarker(script), ScriptedLandmarker([one] * n)
    tracker = MouthTracker(FaceConfig(landmarks_every_s=0), fps=10, landmarker=full, follower=follower,
                           localiser=ScriptedLocaliser([[]] * n))
    run(tracker, n, textured_frame(240, 320))
    track = tracker.finish()
    assert full.closed and follower.closed
    # 0: no face followed yet; 5, 10: every 0.5 s; 11: the last full look saw two faces;
    # 16, 21, 26: every 0.5 s again.
    assert looked_frames(full, 10) == [0, 5, 10, 11, 16, 21, 26]
    assert looked_frames(follower, 10) == [0] + [k for k in range(n) if k not in (0, 5, 10, 11, 16, 21, 26)]
    assert track.source == "landmarks" and np.allclose(track.mouth_x, 100)


def test_a_follower_that_lost_the_face_hands_the_looks_to_the_full_mesh_until_it_finds_it_again():
    """The follower's next look starts from its own last find: after a miss, the full mesh
    looks instead, and the follower looks beside it until it finds the face again."""
    n = 12
    one = [face(100, 80, 40)]
    full = ScriptedLandmarker([one] * n)
    follower = ScriptedLandmarker([one] * 2 + [[]] * 2 + [one] * n)  # misses at frames 2 and 3
    tracker = MouthTracker(FaceConfig(landmarks_every_s=0), fps=10, landmarker=full, follower=follower,
                           localiser=ScriptedLocaliser([[]] * n))
    run(tracker, n, textured_frame(240, 320))
    assert tracker.finish().detected == n
    # 2: at once where the follower missed; 3: it missed again beside the full look; 4: it
    # finds the face again there; 9: 0.5 s after that full look.
    assert looked_frames(full, 10) == [0, 2, 3, 4, 9]
    assert looked_frames(follower, 10) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11]


class MovingLandmarker:
    """A face moving `pace` px a frame to the right (or placed at `x(frame)`), found wherever a
    look lands (by its timestamp)."""

    def __init__(self, fps: float, pace: float = 0.0, width: float = 60.0, x=None):
        self.fps, self.width, self.timestamps, self.closed = fps, width, [], False
        self.x = x or (lambda k: 100 + pace * k)

    def detect(self, image, timestamp_ms):
        self.timestamps.append(timestamp_ms)
        return [face(self.x(round(timestamp_ms * self.fps / 1000)), 120, self.width)]

    def close(self):
        self.closed = True


# Looks every 2nd frame at 25 fps, unsmoothed: the schedule below in round numbers.
EVERY_2ND_FRAME = FaceConfig(smooth_position_s=0, smooth_size_s=0, landmarks_every_s=0.08)


def test_a_fast_face_is_looked_at_on_every_frame_by_the_full_mesh():
    """Looking every 2nd frame at 25 fps, a face moving 0.13 face widths a frame
    would move 0.27 between two looks, which the meshes do not follow: once its pace is known
    (two picks), every frame is looked at, by the full mesh, whose detector finds the face anew
    (the follower, always a look behind, no longer looks)."""
    fps, n = 25, 20
    full, follower = MovingLandmarker(fps, pace=8), MovingLandmarker(fps, pace=8)
    tracker = MouthTracker(EVERY_2ND_FRAME, fps=fps, landmarker=full,
                           follower=follower, localiser=NO_MOUTHS)
    run(tracker, n, textured_frame(240, 320))
    track = tracker.finish()
    assert looked_frames(full, fps) == [0] + list(range(3, n))
    assert looked_frames(follower, fps) == [0, 2]  # beside the first full look, and before the pace is known
    np.testing.assert_allclose(track.mouth_x, 100 + 8 * np.arange(n))


def test_after_a_fast_stretch_the_looks_return_to_the_frames_converted_ahead():
    """Once the face slows down, the looks keep to the multiples of the stride again (the
    frames the decoding thread converts ahead: MouthTracker.look_every)."""
    fps, n = 25, 30
    def x(k):
        return 100 + 8 * min(k, 9)  # 0.13 face widths a frame up to frame 9, then still
    full, follower = MovingLandmarker(fps, x=x), MovingLandmarker(fps, x=x)
    tracker = MouthTracker(EVERY_2ND_FRAME, fps=fps, landmarker=full,
                           follower=follower, localiser=NO_MOUTHS)
    run(tracker, n, textured_frame(240, 320))
    track = tracker.finish()
    looked = sorted(set(looked_frames(full, fps)) | set(looked_frames(follower, fps)))
    assert looked == [0, 2, 3, 4, 5, 6, 7, 8, 9, 10] + list(range(12, n, 2))
    np.testing.assert_allclose(track.mouth_x, [x(k) for k in range(n)])


def test_a_slow_face_keeps_the_stride_and_the_follower():
    fps, n = 25, 20
    full, follower = MovingLandmarker(fps, pace=1), MovingLandmarker(fps, pace=1)
    tracker = MouthTracker(EVERY_2ND_FRAME, fps=fps, landmarker=full,
                           follower=follower, localiser=NO_MOUTHS)
    run(tracker, n, textured_frame(240, 320))
    tracker.finish()
    assert looked_frames(full, fps) == [0, 12]  # every 0.5 s
    assert looked_frames(follower, fps) == [k for k in range(0, n, 2) if k != 12]


def test_the_camera_shift_counts_in_the_faces_expected_move():
    """A still face in a shaking picture: the camera's shift between frames (the thumbnails'
    phase correlation) is the face's move, so a shake of 0.2 face widths a frame brings the
    looks to every frame, by the full mesh."""
    fps, n = 25, 12
    base = textured_frame(240, 400)
    frames = [np.ascontiguousarray(np.roll(base, 12 * (k % 2), axis=1)) for k in range(n)]  # 12 px back and forth
    full, follower = MovingLandmarker(fps, pace=0), MovingLandmarker(fps, pace=0)
    tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=full, follower=follower, localiser=NO_MOUTHS)
    for frame in frames:
        tracker.observe(frame, shrunk_grey(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), THUMBNAIL_SIDE))
    tracker.finish()
    assert looked_frames(full, fps) == [0] + list(range(3, n))  # 2: the shift summed since 0 is none


def test_a_long_stretch_without_a_mouth_is_told_to_the_user():
    """The dub warns where frames pass through because no mouth was found for over max_gap_s."""
    from omnisync_cli.pipeline.analysis import unedited_warning
    fps = 10
    script = [[face(100, 80, 40)]] * 5 + [[]] * 10 + [[face(100, 80, 40)]] * 5
    tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=ScriptedLandmarker([[]] * 40),
                           localiser=ScriptedLocaliser(script))
    run(tracker, 40)
    warning = unedited_warning("in.mp4", tracker.finish(), FaceConfig().max_gap_s)
    assert warning.startswith("in.mp4: no mouth was found on 20 of 40 frames (2.0 s") and "--mouth" in warning
    found = MouthTracker(FaceConfig(), fps=fps, landmarker=ScriptedLandmarker([[]] * 40),
                         localiser=ScriptedLocaliser([[face(100, 80, 40)]] * 20))
    run(found, 40)
    assert unedited_warning("in.mp4", found.finish(), FaceConfig().max_gap_s) is None


def test_an_unsure_localiser_says_how_unsure_it_was():
    """Looks whose best mouth scores under CONFIDENT_SCORE: the refusal counts the sure looks."""
    unsure = [[FaceObservation(100.0, 100.0, 40.0, (80, 60, 120, 110), 0.4)]] * 10
    tracker = MouthTracker(FaceConfig(), fps=10, landmarker=ScriptedLandmarker([[]] * 10),
                           localiser=ScriptedLocaliser(unsure))
    run(tracker, 10, textured_frame(240, 320))
    with pytest.raises(InputError, match=r"a sure look \(score 0.6 or more\) on 0 of its 5 looks, and it needs two"):
        tracker.finish()


def test_an_unsure_localiser_names_the_place_it_kept_seeing():
    """A character of a style the localiser never learned: seen at one place on every look,
    never surely. The refusal hands the user that place for --mouth; a place seen once is no hint."""
    unsure = [[FaceObservation(100.0, 90.0, 40.0, (80, 60, 120, 110), 0.4)]] * 10
    tracker = MouthTracker(FaceConfig(), fps=10, landmarker=ScriptedLandmarker([[]] * 10),
                           localiser=ScriptedLocaliser(unsure))
    run(tracker, 10, textured_frame(240, 320))
    with pytest.raises(InputError, match=r"never surely, is 100,90 \(on 5 of its 5 looks\): if the mouth is there, "
                                         r"give --mouth 100,90; else give its place"):
        tracker.finish()
    scattered = [[FaceObservation(40.0 + 50 * k, 90.0, 20.0, (0, 0, 1, 1), 0.4)] for k in range(5) for _ in range(2)]
    tracker = MouthTracker(FaceConfig(), fps=10, landmarker=ScriptedLandmarker([[]] * 10),
                           localiser=ScriptedLocaliser(scattered))
    run(tracker, 10, textured_frame(240, 320))
    with pytest.raises(InputError) as refused:
        tracker.finish()
    assert "never surely" not in str(refused.value)


def test_the_localiser_takes_the_track_where_it_keeps_finding_the_mouth_away_from_the_landmarks_one():
    """MediaPipe fits a human face's layout to a creature whose mouth sits off to one side: the
    localiser's checks (every 0.5 s) find that mouth 25 px left of the landmarks' (0.4 face
    widths); after three such checks the localiser looks at its own pace (every 0.2 s) and makes
    the track."""
    fps, n = 10, 30
    landmarker = MovingLandmarker(fps, pace=1)  # the head drifts 1 px a frame; its mouth at (100 + k, 120)
    localiser = CountingPlacedLocaliser(lambda k: (75 + k, 110))
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps, landmarker=landmarker,
                           localiser=localiser)
    run_counting(tracker, n)
    track = tracker.finish()
    assert localiser.looked == [0, 5, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]
    assert track.source == "localiser" and track.landmarks_overruled
    np.testing.assert_allclose(track.mouth_x[:29], 75 + np.arange(29), atol=1e-3)  # frame 29 holds 28's
    np.testing.assert_allclose(track.mouth_y, 110, atol=1e-3)
    assert "kept finding its mouth elsewhere" in track.summary()


def test_a_localiser_that_agrees_or_is_unsure_leaves_the_track_to_the_landmarks():
    fps, n = 10, 30
    for place, score in (((104.0, 121.0), 0.9), ((75.0, 110.0), 0.3), (None, 0.9)):
        tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                               landmarker=MovingLandmarker(fps), localiser=PlacedLocaliser(place, score))
        run(tracker, n)
        track = tracker.finish()
        assert track.source == "landmarks" and not track.landmarks_overruled, (place, score)
        assert np.allclose(track.mouth_x, 100)


class CountingPlacedLocaliser:
    """One sure mouth at `at(frame)`; the frame is read from the picture's first byte."""

    def __init__(self, at):
        self.at, self.looked = at, []

    def detect(self, image):
        k = int(image[0, 0, 0])
        self.looked.append(k)
        x, y = self.at(k)
        return [FaceObservation(x, y, 50.0, (x - 25, y - 50, x + 25, y + 15), 0.9)]


def run_counting(tracker: MouthTracker, n: int) -> None:
    for k in range(n):
        frame = np.zeros((240, 320, 3), np.uint8)
        frame[0, 0, 0] = k
        tracker.observe(frame)


class GappedLandmarker(MovingLandmarker):
    """A still face the landmarks miss on frames `missed` (a turned head, a creature found now and then)."""

    def __init__(self, fps: float, missed: range):
        super().__init__(fps)
        self.missed = missed

    def detect(self, image, timestamp_ms):
        found = super().detect(image, timestamp_ms)
        return [] if round(timestamp_ms * self.fps / 1000) in self.missed else found


def test_where_the_landmarks_lose_the_face_the_localisers_looks_fill_their_track():
    """Landmarks that miss frames 10-34 (2.5 s at 10 fps): where the localiser's checks found the
    landmarks' mouth, its own looks in the gap make the track there, and the gap is dubbed; the
    summary says so."""
    fps, n = 10, 60
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                           landmarker=GappedLandmarker(fps, range(10, 35)), localiser=PlacedLocaliser((102.0, 121.0)))
    run(tracker, n)
    track = tracker.finish()
    assert track.source == "landmarks" and track.localiser_frames > 10
    assert track.passed_through == 0 and track.detected == n
    np.testing.assert_allclose(track.mouth_x[10:35], 102)
    assert "looks of the mouth localiser" in track.summary()


def test_without_checks_that_agree_the_gap_passes_through():
    fps, n = 10, 60
    for place, score in (((102.0, 121.0), 0.4), (None, 0.9)):  # the localiser is never sure, or finds nothing
        tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                               landmarker=GappedLandmarker(fps, range(10, 35)), localiser=PlacedLocaliser(place, score))
        run(tracker, n)
        track = tracker.finish()
        assert track.source == "landmarks" and track.localiser_frames == 0, place
        assert track.passed_through >= 20


def test_the_landmarks_are_checked_every_half_second_then_every_five_seconds():
    fps, n = 10, 200
    localiser = CountingPlacedLocaliser(lambda k: (101.0, 120.0))  # agrees with the landmarks
    tracker = MouthTracker(FaceConfig(), fps=fps, landmarker=MovingLandmarker(fps), localiser=localiser)
    run_counting(tracker, n)
    assert tracker.finish().source == "landmarks"
    assert localiser.looked == list(range(0, 60, 5)) + [105, 155]


def test_a_localiser_pick_far_from_the_landmarks_track_is_not_lent():
    """In the gap the localiser picks something a face width from where the landmarks' track
    puts the mouth (another character, a false alarm): not lent; the gap passes through."""
    fps, n = 10, 60
    localiser = CountingPlacedLocaliser(lambda k: (162.0 if 10 <= k < 35 else 102.0, 121.0))
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                           landmarker=GappedLandmarker(fps, range(10, 35)), localiser=localiser)
    run_counting(tracker, n)
    track = tracker.finish()
    assert track.source == "landmarks" and track.localiser_frames == 0 and track.passed_through >= 20
