"""Of several mouths, the one whose motion follows the source's speech is dubbed."""

import cv2
import numpy as np
import pytest

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.speaker import (GLIMPSE_PX, MIN_GLIMPSE_RUN, MIN_SYNC, SYNC_MARGIN, CandidateTrack,
                                       MouthCandidate, choose_speaker, frame_loudness, glimpse_runs)
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


def track_with(config, speech, judge=None):
    speech_wave, frames = speech_and_frames()
    tracker = MouthTracker(config, fps=FPS, landmarker=ScriptedLandmarker([[]] * N),
                           localiser=ScriptedLocaliser([two_mouths()] * N))
    for frame in frames:
        tracker.observe(frame)
    return tracker.finish(speech=(lambda: speech_wave) if speech else None, judge=judge)


class BrightnessJudge:
    """Stands in for the sync expert: hears a speaker in the brightest glimpses (mouth B's
    colour), or in none (`confident` False); records the runs it was shown."""

    def __init__(self, confident=True):
        self.confident, self.runs = confident, []

    def confidence(self, runs, speech, rate, fps):
        self.runs.append(runs)
        if not runs:
            return None
        mean = float(np.mean([g.mean() for _, glimpses in runs for g in glimpses]))
        return mean / 255.0 if self.confident else 0.0


def test_a_judge_that_hears_a_speaker_decides_over_the_loudness():
    judge = BrightnessJudge()
    track = track_with(FaceConfig(), speech=True, judge=judge)
    assert track.speaker_by_speech is False and np.allclose(track.mouth_x, 90.0)  # B: the default pick, kept
    # every look held both mouths, so each track is one run of every frame, glimpses at GLIMPSE_PX
    (a_runs, b_runs) = judge.runs
    for runs in (a_runs, b_runs):
        assert len(runs) == 1 and runs[0][0] == 0 and runs[0][1].shape == (N, GLIMPSE_PX, GLIMPSE_PX, 3)


def test_a_judge_that_hears_no_speaker_leaves_the_choice_to_the_loudness():
    track = track_with(FaceConfig(), speech=True, judge=BrightnessJudge(confident=False))
    assert track.speaker_by_speech and np.allclose(track.mouth_x, 30.0)


def test_the_judges_verdict_needs_its_margin_over_the_default():
    a, b = CandidateTrack([(i, mouth(30, 30, 0.8), None) for i in range(0, 50, 2)]), \
        CandidateTrack([(i, mouth(90, 50, 0.9), None) for i in range(0, 50, 2)])
    scores = {}

    class Fixed:
        def confidence(self, runs, speech, rate, fps):
            return scores[runs[0][0]] if runs else None
    speech = np.zeros(RATE, np.float32)
    glimpse = np.zeros((GLIMPSE_PX, GLIMPSE_PX, 3), np.uint8)
    for t, first in ((a, 0), (b, 1)):  # each track's glimpses start at its own first frame
        t.looks = [(first + 2 * k, obs, MouthCandidate(obs, obs, None, glimpses=[glimpse] * 2))
                   for k, (_, obs, _) in enumerate(t.looks)]
    scores.update({0: MIN_SYNC + SYNC_MARGIN + 0.01, 1: MIN_SYNC})
    assert choose_speaker([a, b], b, speech, RATE, FPS, Fixed()) is a
    scores.update({0: MIN_SYNC + SYNC_MARGIN - 0.01})
    assert choose_speaker([a, b], b, speech, RATE, FPS, Fixed()) is None


def test_glimpse_runs_join_consecutive_frames_and_drop_short_runs():
    glimpse = lambda v: np.full((GLIMPSE_PX, GLIMPSE_PX, 3), v, np.uint8)  # noqa: E731
    obs = mouth(30, 30, 0.8)
    looks = [(0, obs, MouthCandidate(obs, obs, None, glimpses=[glimpse(k) for k in range(0, 5)])),
             (5, obs, MouthCandidate(obs, obs, None, glimpses=[glimpse(k) for k in range(5, 10)])),
             (10, obs, MouthCandidate(obs, obs, None, glimpses=[glimpse(k) for k in range(10, 15)])),
             (20, obs, MouthCandidate(obs, obs, None, glimpses=[glimpse(k) for k in range(20, 25)])),  # gap: short
             (25, obs, MouthCandidate(obs, obs, None))]  # no glimpses kept
    runs = glimpse_runs(CandidateTrack(looks))
    assert len(runs) == 1 and runs[0][0] == 0 and len(runs[0][1]) == 15
    assert [int(g[0, 0, 0]) for g in runs[0][1]] == list(range(15))
    assert MIN_GLIMPSE_RUN > 5


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


def test_frame_loudness_is_the_rms_from_the_previous_frame_to_each_frame():
    rate, fps = 1000, 10.0
    speech = np.random.default_rng(1).normal(size=1000).astype(np.float32)
    loud = frame_loudness(speech, rate, fps, 12)
    assert loud[0] == 0.0 and loud[11] == 0.0  # before the first frame, past the end
    assert loud[3] == pytest.approx(np.sqrt(np.mean(speech[200:300].astype(np.float64) ** 2)))


def textured(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3)).astype(np.uint8), (0, 0), 1.5)


def test_a_followed_mouth_moves_with_the_head_and_only_its_own_change_counts():
    """The face slides 3 px right and 2 px down between frames: the candidate follows it and
    records almost no change; then the mouth opens in place and the change is large."""
    face_texture = textured(160, 160)
    at = FaceObservation(80.0, 80.0, 60.0, (50.0, 40.0, 110.0, 100.0), 0.9)
    candidate = MouthCandidate.at(face_texture, at, at)
    candidate.follow(np.roll(face_texture, (2, 3), axis=(0, 1)))
    assert candidate.seen.mouth_x == pytest.approx(83.0, abs=1.0)
    assert candidate.seen.mouth_y == pytest.approx(82.0, abs=1.0)
    opened = np.roll(face_texture, (2, 3), axis=(0, 1)).copy()
    opened[78:90, 72:94] = 10
    candidate.follow(opened)
    assert candidate.motion[1] > 5 * candidate.motion[0]


def test_a_speaker_whose_head_moves_in_the_pauses_is_still_the_speaker():
    """Mouth A opens a little while there is sound and its whole face slides sideways, 5 px a
    frame, in the pauses (a nod, a turn); the larger face B flashes on its own rhythm. A patch
    held where the look found A changes most in the pauses (r < 0: B stays); followed, A is chosen."""
    speech_wave, _ = speech_and_frames()
    t = np.arange(N) / FPS
    loud = (t // 0.6) % 2 == 0
    head_a, head_b = textured(60, 60, seed=2), textured(80, 80, seed=3)
    frames, drift, pauses = [], 0, 0
    for j in range(N):
        frame = np.full((120, 240, 3), 128, np.uint8)
        if not loud[j]:
            drift, pauses = (0, 5, 10, 5)[pauses % 4], pauses + 1  # sideways in the pauses
        a = head_a.copy()
        if loud[j] and j % 4 < 2:
            a[34:40, 26:36] = 40  # A opens
        frame[20:80, 10 + drift:70 + drift] = a
        frame[20:100, 140:220] = head_b
        if (j // 3) % 3 == 0:
            frame[62:78, 168:192] = 230  # B's own rhythm, unrelated to the speech
        frames.append(frame)
    a_mouth = FaceObservation(40.0, 56.0, 40.0, (20.0, 20.0, 60.0, 80.0), 0.8)
    b_mouth = FaceObservation(180.0, 70.0, 60.0, (150.0, 20.0, 210.0, 100.0), 0.9)
    tracker = MouthTracker(FaceConfig(), fps=FPS, landmarker=ScriptedLandmarker([[]] * N),
                           localiser=ScriptedLocaliser([[a_mouth, b_mouth]] * N))
    for frame in frames:
        tracker.observe(frame)
    track = tracker.finish(speech=lambda: speech_wave)
    assert track.speaker_by_speech and np.allclose(track.mouth_x, 40.0)


def test_only_the_latest_looks_mouths_keep_a_patch():
    """Memory stays flat in the video's length: a look's patches go when the next look comes."""
    speech_wave, frames = speech_and_frames()
    tracker = MouthTracker(FaceConfig(), fps=FPS, landmarker=ScriptedLandmarker([[]] * N),
                           localiser=ScriptedLocaliser([two_mouths()] * N))
    for frame in frames:
        tracker.observe(frame)
    looks = tracker._looks
    assert all(c.view is None for _, candidates in looks[:-1] for c in candidates)
    assert all(c.view is not None for c in looks[-1][1])
    assert all(len(c.motion) > 0 for _, candidates in looks[:-1] for c in candidates)


@pytest.mark.parametrize("speech", [True, False])
def test_of_two_human_faces_the_one_that_speaks_is_followed(speech):
    """Face landmarks find both faces in every look: the smaller one whose mouth moves with
    the speech is followed; without the source's speech, the larger one (face_index 0)."""
    speech_wave, frames = speech_and_frames()
    tracker = MouthTracker(FaceConfig(), fps=FPS, landmarker=ScriptedLandmarker([two_mouths()] * N),
                           localiser=ScriptedLocaliser([[]] * N))
    for frame in frames:
        tracker.observe(frame)
    track = tracker.finish(speech=(lambda: speech_wave) if speech else None)
    assert track.source == "landmarks" and track.speaker_by_speech == speech
    assert np.allclose(track.mouth_x, 30.0 if speech else 90.0)


def test_glimpses_are_kept_only_where_several_mouths_are_followed_and_within_the_budget(monkeypatch):
    import omnisync_cli.face.track as track_module
    speech_wave, frames = speech_and_frames()
    monkeypatch.setattr(track_module, "GLIMPSE_BUDGET", 2 * 3 * 4)  # two mouths, three looks of 2 + 1 frames
    script = [two_mouths()] * (N // 2) + [two_mouths()[:1]] * (N - N // 2)
    tracker = MouthTracker(FaceConfig(), fps=FPS, landmarker=ScriptedLandmarker([[]] * N),
                           localiser=ScriptedLocaliser(script))
    for frame in frames:
        tracker.observe(frame)
    kept = [candidate.glimpses is not None for _, found in tracker.localiser_looks_found for candidate in found]
    assert kept[:8] == [True] * 8 and not any(kept[8:])  # 4 looks within the budget, then none; one mouth: none


def test_a_look_continues_only_a_track_of_a_similar_face_size():
    """A false alarm beside a mouth (a whisker's end, read as a face a third the size) on a look
    that missed the mouth starts a track of its own instead of pulling the mouth's track to it."""
    from omnisync_cli.face.speaker import link_tracks

    def candidate(x, width, score):
        obs = FaceObservation(x, 100.0, width, (x - width / 2, 60.0, x + width / 2, 125.0), score)
        return MouthCandidate(obs, obs, None)

    looks = [(0, [candidate(200, 120, 0.6)]), (5, [candidate(163, 38, 0.25)]), (10, [candidate(201, 118, 0.7)]),
             (15, [candidate(162, 40, 0.24)]), (20, [candidate(199, 121, 0.6)])]
    tracks = link_tracks(looks, max_gap=25)
    by_size = sorted(tracks, key=lambda t: -t.looks[0][1].face_width)
    assert [i for i, _, _ in by_size[0].looks] == [0, 10, 20]  # the mouth, its misses left as gaps
    assert [i for i, _, _ in by_size[1].looks] == [5, 15]


def test_a_still_mouth_records_no_motion():
    """Followed over frames that do not change, a mouth's recorded motion is zero: the patch it
    keeps is compared as it was cut (phase correlation windows its inputs in place)."""
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3)).astype(np.uint8), (0, 0), 2)
    obs = FaceObservation(80.0, 60.0, 40.0, (60.0, 40.0, 100.0, 80.0))
    candidate = MouthCandidate.at(image, obs, obs)
    for _ in range(3):
        candidate.follow(image)
    assert len(candidate.motion) == 3
    assert max(candidate.motion) < 1e-3
    assert abs(candidate.seen.mouth_x - 80.0) < 0.1 and abs(candidate.seen.mouth_y - 60.0) < 0.1
