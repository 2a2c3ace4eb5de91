import numpy as np
import pytest


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    """A real frontal face photo, RGB uint8 (600, 512, 3): matplotlib's sample
    grace_hopper.jpg, the one face photo an installed package ships here; skips without it."""
    cbook = pytest.importorskip("matplotlib.cbook")
    import cv2
    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    if image is None:
        pytest.skip("matplotlib's sample grace_hopper.jpg is not installed")
    return np.ascontiguousarray(image[:, :, ::-1])
