import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.fallback import HaarFaceFinder, centre_box, haar_box_observation, override_box
from tests.face.images import textured_frame


def test_haar_box_puts_the_mouth_in_the_lower_middle():
    obs = haar_box_observation(100, 50, 200, 200)
    assert obs.mouth_x == pytest.approx(200)
    assert 170 < obs.mouth_y < 220            # lower third of the box
    assert obs.face_width < 200
    assert obs.bbox == (100, 50, 300, 250)


def test_haar_finds_a_frontal_face_and_estimates_its_mouth(face_still):
    image, (mouth_x, mouth_y), width = face_still
    faces = HaarFaceFinder().detect(image)
    assert len(faces) == 1
    (face,) = faces
    # The mouth estimate from the face box lands within a tenth of the face width.
    assert np.hypot(face.mouth_x - mouth_x, face.mouth_y - mouth_y) < 0.1 * width
    assert face.face_width == pytest.approx(width, rel=0.15)


def test_haar_finds_no_face_in_texture():
    assert HaarFaceFinder().detect(textured_frame(240, 320)) == []


def test_centre_box_is_sized_by_the_shorter_side():
    box = centre_box(640, 360, 0.35)
    assert (box.cx, box.cy, box.side) == pytest.approx((320, 180, 0.35 * 360))


def test_region_override_is_the_square_around_its_centre():
    box, mouth = override_box(None, (100, 50, 80, 40), 640, 360, 0.35)
    assert (box.cx, box.cy, box.side) == (140, 70, 80)
    assert mouth == (140, 70)


def test_mouth_override_alone_and_with_a_region():
    box, mouth = override_box((300, 200), None, 640, 360, 0.35)
    assert (box.cx, box.cy) == (300, 200) and box.side == pytest.approx(126)
    box, mouth = override_box((150, 80), (100, 50, 80, 40), 640, 360, 0.35)
    assert (box.cx, box.cy, box.side) == (140, 70, 80)     # the region sets the box ...
    assert mouth == (150, 80)                               # ... and the mouth where DS-CFG aims


@pytest.mark.parametrize("mouth, region", [((700, 10), None), (None, (600, 300, 200, 200))])
def test_overrides_outside_the_frame_are_refused(mouth, region):
    with pytest.raises(ConfigError, match="outside the 640x360 frame"):
        override_box(mouth, region, 640, 360, 0.35)
