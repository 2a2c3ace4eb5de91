"""keep_source_colours: an edit keeps its light and shade but takes no hue the source lacks."""

import cv2
import numpy as np

from omnisync_cli.face.colours import chroma_range, keep_source_colours


def skin_crops(frames=2, size=16):
    rng = np.random.default_rng(0)
    base = np.array([200, 150, 120], np.float32)  # a skin tone
    crops = base + rng.normal(0, 6, (frames, size, size, 3))
    return np.clip(crops, 0, 255).astype(np.uint8)


def hue(rgb):
    return cv2.cvtColor(np.asarray(rgb, np.uint8).reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0, 0]


def test_a_new_hue_is_pulled_into_the_source_range_but_darkness_stays():
    source = skin_crops()
    edited = source.copy()
    edited[:, 6:10, 4:12] = (40, 220, 60)  # bright green lips: a hue the face never had
    edited[:, 2:4, 4:12] = (90, 60, 50)  # a darker shade of the skin's own hue
    out = keep_source_colours(edited, source)
    low, high = chroma_range(source)
    ycc = cv2.cvtColor(out[:, 6:10, 4:12].reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(-1, 3)
    assert np.all(ycc[:, 1:] >= low - 1) and np.all(ycc[:, 1:] <= high + 1)
    assert abs(int(hue(out[0, 7, 7])) - int(hue(source[0, 7, 7]))) < 15  # green -> a skin-like hue
    assert np.abs(out[:, 2:4, 4:12].astype(int) - edited[:, 2:4, 4:12]).max() <= 12  # the dark shade stays


def test_unchanged_pixels_stay_exactly_as_decoded():
    source = skin_crops()
    edited = source.copy()
    edited[0, 0, 0] = (0, 255, 0)
    out = keep_source_colours(edited, source)
    untouched = np.ones(source.shape[:3], bool)
    untouched[0, 0, 0] = False
    assert np.array_equal(out[untouched], source[untouched])


def test_an_edit_in_the_source_colours_passes_unchanged_up_to_rounding():
    source = skin_crops()
    edited = source[::-1].copy()  # the other frame: the same colours
    out = keep_source_colours(edited, source, quantile=0.0)
    assert np.abs(out.astype(int) - edited).max() <= 3
