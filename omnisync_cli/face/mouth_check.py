"""Whether the face landmarks put the mouth where the character's mouth is.

MediaPipe's mesh fits a human face's layout to anything face-like. On a drawn one-eyed creature
whose mouth is a short line off to one side, it placed the mouth 0.1-0.6 face widths away, near
the middle of the chin, through the whole clip. This happened to 2 of 16 animals, robots and
creatures of the generator (`bench/moving_faces.py --category nonhuman`). The mouth localiser,
trained on mouths of every style, finds such a mouth.

So the tracker compares the two wherever both looked at one frame: where the landmarks make the
track, the localiser also looks every MOUTH_CHECK_EVERY_S (face.track). A check disagrees when the
localiser finds a sure mouth inside the landmarks' face and no mouth near the landmarks' mouth.
When the checks keep disagreeing (`landmarks_overruled`), the localiser makes the track.

On the generator's human and human-like faces, the localiser's nearest mouth lay a median
0.011-0.027 face widths from the landmarks' mouth; 1 check of 355 was beyond 0.1. On the
creature, the median was 0.12-0.17, and 60-75 % of the checks were beyond 0.1.
"""

from dataclasses import dataclass

import numpy as np

from omnisync_cli.face.landmarks import FaceObservation

SURE_SCORE = 0.6          # a localiser mouth this sure can overrule the landmarks (face.speaker.CONFIDENT_SCORE)
AGREE_FACE_WIDTHS = 0.1   # a localiser mouth (sure or not) this near the landmarks' mouth confirms it
MIN_DISAGREEING = 3       # the landmarks are overruled by at least this many checks ...
OVERRULE_SHARE = 0.5      # ... that make at least this share of the checks with a sure mouth


@dataclass(frozen=True)
class MouthCheck:
    """One check: the landmarks' pick and the localiser's mouths in the same frame (frame pixels)."""

    landmarks: FaceObservation
    localiser: tuple[FaceObservation, ...]


def inside_face(mouth: FaceObservation, face: FaceObservation) -> bool:
    left, top, right, bottom = face.bbox
    return left <= mouth.mouth_x <= right and top <= mouth.mouth_y <= bottom


def verdict(check: MouthCheck) -> bool | None:
    """True where the localiser confirms the landmarks' mouth, False where it finds a sure mouth
    inside their face and none within AGREE_FACE_WIDTHS of their mouth, None where it found no
    sure mouth inside the face (no verdict)."""
    face = check.landmarks
    if not any(m.score >= SURE_SCORE and inside_face(m, face) for m in check.localiser):
        return None
    reach = AGREE_FACE_WIDTHS * max(face.face_width, 1.0)
    return any(np.hypot(m.mouth_x - face.mouth_x, m.mouth_y - face.mouth_y) <= reach for m in check.localiser)


def landmarks_overruled(verdicts: list[bool]) -> bool:
    """Whether the checks' verdicts (`verdict`, those that gave one) say the landmarks' mouth is
    not the character's: at least MIN_DISAGREEING disagree, making OVERRULE_SHARE of them."""
    disagreeing = verdicts.count(False)
    return disagreeing >= MIN_DISAGREEING and disagreeing >= OVERRULE_SHARE * len(verdicts)


def landmarks_confirmed(verdicts: list[bool]) -> bool:
    """Whether most of the checks' verdicts find the landmarks' mouth: the two then find the same
    mouth on this character, and the localiser's looks may fill the landmarks' gaps."""
    return verdicts.count(True) > len(verdicts) / 2
