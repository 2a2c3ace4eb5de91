import pytest

from tests.face.images import drawn_face


@pytest.fixture(scope="session")
def face_still():
    """(image, mouth (x, y), face width) of a drawn frontal human face (tests.face.images)."""
    return drawn_face()
