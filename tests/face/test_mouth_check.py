from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.mouth_check import MouthCheck, landmarks_confirmed, landmarks_overruled, verdict


def face(x, y, width=100.0, score=1.0):
    """A face (or a localiser mouth) centred on its mouth at (x, y)."""
    return FaceObservation(x, y, width, (x - width / 2, y - width, x + width / 2, y + width / 3), score)


LANDMARKS = face(200, 200)  # the landmarks' mouth, in a face 100 px wide
ELSEWHERE = (face(170, 190, 40, 0.9),)  # a sure mouth 0.32 face widths away, inside the face


def test_a_check_disagrees_where_a_sure_mouth_inside_the_face_is_not_near_the_landmarks_one():
    assert verdict(MouthCheck(LANDMARKS, ELSEWHERE)) is False
    assert verdict(MouthCheck(LANDMARKS, (face(208, 204, 40, 0.9),))) is True   # 0.09 face widths: near
    assert verdict(MouthCheck(LANDMARKS, ELSEWHERE + (face(205, 203, 40, 0.3),))) is True  # an unsure one near


def test_unsure_absent_or_outside_the_face_mouths_give_no_verdict():
    assert verdict(MouthCheck(LANDMARKS, (face(170, 190, 40, 0.5),))) is None   # unsure
    assert verdict(MouthCheck(LANDMARKS, ())) is None                           # nothing found
    assert verdict(MouthCheck(LANDMARKS, (face(400, 190, 40, 0.9),))) is None   # another character's


def verdicts(checks: list[MouthCheck]) -> list[bool]:
    """The checks' verdicts, as the tracker keeps them (those that gave one)."""
    return [v for v in map(verdict, checks) if v is not None]


def test_the_landmarks_are_overruled_by_three_disagreeing_checks_making_half_of_the_verdicts():
    disagree, agree, none = MouthCheck(LANDMARKS, ELSEWHERE), MouthCheck(LANDMARKS, (face(202, 200, 40, 0.9),)), \
        MouthCheck(LANDMARKS, ())
    assert not landmarks_overruled(verdicts([disagree] * 2 + [none] * 5))
    assert landmarks_overruled(verdicts([disagree] * 3 + [none] * 5))
    assert landmarks_overruled(verdicts([disagree] * 3 + [agree] * 3))
    assert not landmarks_overruled(verdicts([disagree] * 3 + [agree] * 4))


def test_the_landmarks_are_confirmed_by_a_majority_of_agreeing_verdicts():
    assert landmarks_confirmed([True, True, False]) and not landmarks_confirmed([True, False])
    assert not landmarks_confirmed([])  # no verdict: nothing to go on
