"""Of several mouths, the one whose motion follows the source's speech is dubbed."""

import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.track import MouthTracker
from tests.face.test_track import ScriptedLandmarker, ScriptedLocaliser

FPS, N = 10, 60  # 6 s; the localiser looks every 0.2 s
RATE = 16_000


def speech_and_frames():
    """Speech in bursts (0.6 s on, 0.6 s off). Mouth A (small, left) flaps while there is
    sound; mouth B (large, right) flaps on its own rhythm, unrelated to the speech."""
    rng = np.random.default_rng(0)
    t = np.arange(N * RATE // FPS) / RATE
    loud = (t // 0.6) % 2 == 0
    speech = (loud * 0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    frames = []
    for j in range(N):
        frame = np.full((80, 140, 3), 128, np.uint8)
        if loud[int(j / FPS * RATE)] and j % 4 < 2:
            frame[34:46, 22:38] = 20                         # A opens
        if (j // 3) % 3 == 0:
            frame[30:50, 80:100] = 230                       # B's own rhythm
        frame += rng.integers(0, 3, frame.shape).astype(np.uint8)
        frames.append(frame)
    return speech, frames


def two_mouths():
    a = FaceObservation(30.0, 40.0, 30.0, (15.0, 10.0, 45.0, 50.0), 0.8)
    b = FaceObservation(90.0, 40.0, 50.0, (65.0, 0.0, 115.0, 60.0), 0.9)  # larger: picked by default
    return [a, b]


def track_with(config, speech):
    speech_wave, frames = speech_and_frames()
    tracker = MouthTracker(config, fps=FPS, landmarker=ScriptedLandmarker([[]] * N),
                           localiser=ScriptedLocaliser([two_mouths()] * N))
    for frame in frames:
        tracker.observe(frame)
    return tracker.finish(speech=(lambda: speech_wave) if speech else None)


def test_the_mouth_that_follows_the_speech_is_chosen_over_the_larger_one():
    track = track_with(FaceConfig(), speech=True)
    assert track.speaker_by_speech and np.allclose(track.mouth_x, 30.0)
    assert "by the source's speech" in track.summary()


def test_without_speech_or_with_a_face_index_the_choice_is_by_size():
    assert np.allclose(track_with(FaceConfig(), speech=False).mouth_x, 90.0)
    by_hand = track_with(FaceConfig(face_index=1), speech=True)
    assert not by_hand.speaker_by_speech and np.allclose(by_hand.mouth_x, 30.0)  # second largest, by hand


def mouth(x, width, score):
    return FaceObservation(float(x), 40.0, float(width), (x - width / 2, 10.0, x + width / 2, 50.0), score)


def track_of(script, fps=FPS):
    tracker = MouthTracker(FaceConfig(smooth_position_s=0, smooth_size_s=0), fps=fps,
                           landmarker=ScriptedLandmarker([[]] * (2 * len(script))),
                           localiser=ScriptedLocaliser(script))
    frame = np.full((80, 400, 3), 128, np.uint8)
    for _ in range(2 * len(script)):  # one look every 2nd frame
        tracker.observe(frame)
    return tracker.finish()


def test_one_looks_large_false_alarm_does_not_capture_the_track():
    """The first look sees only a large, unsure false alarm; the mouth is found in every later
    look: the track follows the mouth from the start (the alarm's look is filled from it)."""
    script = [[mouth(300, 80, 0.35)]] + [[mouth(100, 30, 0.7)]] * 14
    track = track_of(script)
    assert np.allclose(track.mouth_x, 100.0)


def test_a_character_that_leaves_and_comes_back_is_followed_in_both_stretches():
    """Two stretches of the same character (5+ looks each, apart in time and place) are both
    followed; a sure one-look alarm in between is not."""
    script = [[mouth(100, 30, 0.7)]] * 6 + [[]] * 6 + [[mouth(300, 80, 0.95)]] + [[]] * 5 + [[mouth(200, 30, 0.6)]] * 7
    track = track_of(script)
    assert np.allclose(track.mouth_x[:11], 100.0) and np.allclose(track.mouth_x[-14:], 200.0)
    assert track.mouth_x.max() <= 200.0  # the frames between are the two stretches' neighbours, never the alarm
