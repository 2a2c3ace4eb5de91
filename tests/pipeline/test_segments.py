import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.pipeline.segments import SegmentItem, crossfade_weights, edit_in_segments


def make_items(n, size=4):
    return [SegmentItem(crop=np.full((size, size, 3), i, np.uint8), time=i / 25,
                        mouth_xy=np.array([0.5, 0.5]), payload=i) for i in range(n)]


def test_crossfade_weights():
    assert np.allclose(crossfade_weights(3), [0.25, 0.5, 0.75])


@pytest.mark.parametrize("n", [1, 5, 8, 9, 14, 20, 23])
def test_every_frame_comes_out_once_in_order(n):
    calls = []

    def edit(crops, times, mouth):
        calls.append(len(crops))
        return crops

    out = list(edit_in_segments(make_items(n), edit, segment_frames=8, overlap_frames=2))
    assert [it.payload for it, _ in out] == list(range(n))
    assert all(c == 8 for c in calls)  # the editor always gets a full segment
    # an identity editor gives identical crops back, blended or not
    assert all(np.array_equal(crop, it.crop) for it, crop in out)


def test_overlaps_are_crossfaded_between_segments():
    # segment k adds 10*k to every pixel: blended frames must sit between the two segments
    count = {"k": 0}

    def edit(crops, times, mouth):
        count["k"] += 1
        return crops + 10 * count["k"]

    out = list(edit_in_segments(make_items(14), edit, segment_frames=8, overlap_frames=2))
    values = [int(crop[0, 0, 0]) - it.payload for it, crop in out]
    # frames 0-5 only in segment 1 (+10); 6, 7 shared by segments 1 and 2 (+10 -> +20)
    assert values[:6] == [10] * 6
    assert values[6] == round(10 + 10 / 3) and values[7] == round(10 + 20 / 3)
    assert values[8:12] == [20] * 4


def test_bad_segment_geometry_is_refused():
    with pytest.raises(ConfigError):
        list(edit_in_segments(make_items(3), lambda c, t, m: c, 4, 4))
