"""Cuts between shots are found from grey thumbnails (face.shots), and the track, the looks,
the speaker choice and the segments all stop at them (face.track, face.speaker, pipeline.segments)."""

import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.motion import phase_correlation
from omnisync_cli.face.shots import cut_frames, is_cut, picture_change, same_shot, shot_slices
from omnisync_cli.face.speaker import CandidateTrack, with_speaker
from omnisync_cli.face.track import MouthTracker, _spread
from omnisync_cli.face.mouth_track import build_track
from tests.face.test_track import ScriptedLandmarker

rng = np.random.default_rng(0)
SCENE_A = (rng.random((72, 128)) * 255).astype(np.uint8)
SCENE_B = (rng.random((72, 128)) * 255).astype(np.uint8)


def signals(thumbnails):
    """(change, response, changed_after) per frame, as the tracker records them."""
    n = len(thumbnails)
    change, response, after = np.zeros(n), np.ones(n), np.full(n, np.nan)
    for k in range(1, n):
        change[k] = picture_change(thumbnails[k - 1], thumbnails[k])
        response[k] = phase_correlation(thumbnails[k - 1], thumbnails[k])[1]
        if k + 1 < n:
            after[k] = picture_change(thumbnails[k - 1], thumbnails[k + 1])
    return change, response, after


def noisy(scene, k):
    return np.clip(scene.astype(int) + np.random.default_rng(k).integers(-2, 3, scene.shape), 0, 255).astype(np.uint8)


def test_a_hard_cut_is_found_on_its_first_frame_and_as_it_happens():
    frames = [noisy(SCENE_A, k) for k in range(12)] + [noisy(SCENE_B, k) for k in range(12, 24)]
    change, response, after = signals(frames)
    np.testing.assert_array_equal(cut_frames(change, response, after), [12])
    assert is_cut(change, response, after, 12, causal=True)
    assert not any(is_cut(change, response, after, k, causal=True) for k in range(1, 12))


def test_a_pan_a_flash_and_a_still_shot_are_not_cuts():
    pan = [np.roll(SCENE_A, 3 * k, axis=1) for k in range(20)]  # fast: 3 px a frame, every frame
    flash = [noisy(SCENE_A, k) for k in range(20)]
    flash[10] = np.full_like(SCENE_A, 250)  # one bright frame, then the picture as before
    still = [noisy(SCENE_A, k) for k in range(20)]
    for frames in (pan, flash, still):
        assert len(cut_frames(*signals(frames))) == 0


def test_shots_and_same_shot():
    assert shot_slices(10, np.array([4, 7])) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert shot_slices(5, np.zeros(0, int)) == [slice(0, 5)]
    assert same_shot(np.array([4]), 2, 3) and same_shot(np.array([4]), 4, 6)
    assert not same_shot(np.array([4]), 3, 4) and not same_shot(np.array([4]), 6, 2)


def test_the_track_is_neither_filled_nor_smoothed_across_a_cut():
    """Mouth at x = 50 in shot one and x = 200 in shot two, looked at every 5th frame: with the
    cut known, the frames on either side keep their own shot's place instead of sliding."""
    n, cut = 40, 20
    x = np.full(n, np.nan)
    x[0:cut:5], x[cut + 2::5] = 50.0, 200.0  # the second shot's first look 2 frames in
    valid = ~np.isnan(x)
    width = np.full(n, 60.0)
    sliding = build_track(x, np.full(n, 90.0), width, valid, 10, (320, 240), FaceConfig(), "localiser")
    assert sliding.cx[cut - 1] > 60 and sliding.cx[cut] < 190  # the problem this fixes
    track = build_track(x, np.full(n, 90.0), width, valid, 10, (320, 240), FaceConfig(), "localiser",
                        cuts=np.array([cut]))
    np.testing.assert_allclose(track.cx[:cut], 50.0, atol=1e-3)
    np.testing.assert_allclose(track.cx[cut:], 200.0, atol=1e-3)
    assert track.edit.all() and not track.same_shot(cut - 1, cut)


def test_a_shot_where_the_mouth_was_never_found_is_not_edited():
    n = 30
    x = np.full(n, np.nan)
    x[:10] = 50.0  # found in the first shot only; the second (10-14) is short enough to fill
    track = build_track(x, x, np.full(n, 60.0), ~np.isnan(x), 10, (320, 240), FaceConfig(), "localiser",
                        cuts=np.array([10, 15]))
    assert track.edit[:10].all() and not track.edit[10:].any()


def test_a_look_counts_for_the_frames_after_it_up_to_a_cut_only():
    found = np.zeros(12, bool)
    found[[0, 6]] = True
    np.testing.assert_array_equal(_spread(found, 6, np.array([3])).astype(int), [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1])


class CountingLocaliser:
    """One mouth wherever asked; records the frames it looked at."""

    def __init__(self, at):
        self.at, self.looked = at, []

    def detect(self, image):
        self.looked.append(image[0, 0, 0])
        return [FaceObservation(*self.at(int(image[0, 0, 0])), 40.0, (0, 0, 1, 1), 0.9)]


def test_after_a_cut_the_tracker_looks_again_at_the_next_frame():
    """The localiser looks every 6th frame at 25 fps; a cut at frame 34 adds a look at frame 35
    (the schedule's next was 36) and goes on 0.2 s later, back on the landmarks' slots (every
    3rd frame, those the decoding thread converts ahead), and the face is picked afresh (not the one
    nearest the last shot's; the new shot lasts long enough for speaker.MIN_LOOKS looks)."""
    n, cut = 70, 34
    localiser = CountingLocaliser(lambda k: ((60.0, 60.0) if k < cut else (250.0, 150.0)))
    tracker = MouthTracker(FaceConfig(), fps=25, landmarker=ScriptedLandmarker([[]] * n), localiser=localiser,
                           frame_size=(320, 240))
    for k in range(n):
        image = np.zeros((240, 320, 3), np.uint8)
        image[0, 0, 0] = k  # tells the scripted localiser which frame it sees
        tracker.observe(image if tracker.wants_picture() else None, noisy(SCENE_A if k < cut else SCENE_B, k))
    assert localiser.looked[:8] == [0, 6, 12, 18, 24, 30, 35, 42]
    track = tracker.finish()
    np.testing.assert_array_equal(track.cuts, [cut])
    assert abs(track.cx[cut] - 250) < 1 and abs(track.cx[cut - 1] - 60) < 1


def test_the_speaker_replaces_only_the_tracks_it_overlaps():
    def spanning(a, b):
        return CandidateTrack([(k, None, None) for k in range(a, b + 1, 5)])
    first_shot, rival, second_shot = spanning(0, 50), spanning(0, 40), spanning(60, 100)
    assert with_speaker([first_shot, second_shot], rival) == [rival, second_shot]
    assert with_speaker([first_shot, second_shot], second_shot) == [second_shot, first_shot]


def test_the_localiser_keeps_its_pace_where_the_landmarks_find_the_face_now_and_then():
    """Landmarks that find a drawn face on a third of their looks lose to the localiser, so the
    localiser looks on its own schedule, also on the frames the landmarks found; where they
    lead (two looks in three), it looks only where they missed, and to check their mouth every
    0.5 s (face.mouth_check)."""
    def looked_by_localiser(found_every):
        n = 40
        script = [[face_at(100.0)] if k % found_every == 0 else [] for k in range(n)]
        localiser = CountingLocaliser(lambda k: (100.0, 100.0))
        tracker = MouthTracker(FaceConfig(landmarks_every_s=0.1, localiser_every_s=0.2), fps=10,
                               landmarker=ScriptedLandmarker(script), localiser=localiser, frame_size=(320, 240))
        for k in range(n):
            image = np.zeros((240, 320, 3), np.uint8)
            image[0, 0, 0] = k
            tracker.observe(image if tracker.wants_picture() else None)
        return localiser.looked
    sometimes = looked_by_localiser(3)[1:]  # the first look checks the landmarks' first find
    assert max(np.diff(sometimes[1:])) <= 2  # every 0.2 s once the landmarks stop leading
    assert sum(k % 3 == 0 for k in sometimes) >= 5  # also on frames the landmarks found
    assert looked_by_localiser(1) == list(range(0, 40, 5))  # landmarks that find the face on every look: checks only


def face_at(x):
    return FaceObservation(x, 100.0, 60.0, (x - 30, 40.0, x + 30, 120.0))
