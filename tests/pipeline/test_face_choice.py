"""--face-index N > 0 that matched no face in any frame stops the dub with a clear error
instead of dubbing the frame centre."""

import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.fallback import centre_box
from omnisync_cli.face.mouth_track import constant_track
from omnisync_cli.pipeline.analysis import check_face_found


def track(source):
    box = centre_box(64, 48, 0.35)
    return constant_track(10, 25.0, (64, 48), box, (box.cx, box.cy), source)


def test_a_second_face_that_was_never_found_is_an_error():
    with pytest.raises(InputError, match=r"--face-index 1 asks for face number 2 .* fewer faces were found"):
        check_face_found(track("centre"), FaceConfig(face_index=1))


@pytest.mark.parametrize("source,index", [("centre", 0), ("landmarks", 1), ("haar", 2), ("override", 3)])
def test_found_faces_and_the_default_face_pass(source, index):
    check_face_found(track(source), FaceConfig(face_index=index))
