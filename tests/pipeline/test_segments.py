import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.pipeline.segments import SegmentItem, crossfade_weights, edit_at_cadence, edit_in_segments


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


def add_time(crops, times, mouth):
    """An editor whose edit of a frame is 100 x its time (s) added to every pixel."""
    return crops + np.round(100 * times).astype(np.uint8)[:, None, None, None]


@pytest.mark.parametrize("n", [1, 2, 7, 16, 17, 31])
def test_at_cadence_one_every_item_is_edited_as_in_segments(n):
    expected = [crop for _, crop in edit_in_segments(make_items(n), add_time, 8, 2)]
    got = [crop for _, crop in edit_at_cadence(make_items(n), add_time, 8, 2, every=1)]
    assert all(np.array_equal(a, b) for a, b in zip(expected, got)) and len(got) == n


@pytest.mark.parametrize("n, every", [(1, 2), (2, 2), (17, 2), (18, 2), (25, 3), (40, 4)])
def test_at_cadence_the_editor_sees_only_key_items_and_the_rest_blend_their_edits(n, every):
    seen = []

    def edit(crops, times, mouth):
        seen.extend(np.round(times * 25).astype(int))
        return add_time(crops, times, mouth)

    out = list(edit_at_cadence(make_items(n), edit, 8, 2, every))
    assert [it.payload for it, _ in out] == list(range(n))  # every item once, in order
    assert set(seen) == set(range(0, n, every))  # the network saw the keys only
    last_key = (n - 1) // every * every
    for item, crop in out:
        k = item.payload
        change = crop.astype(int) - item.crop
        assert (change == change.flat[0]).all()
        if k % every == 0:
            assert change.flat[0] == round(100 * k / 25)  # a key: its own edit
        elif k > last_key:
            assert change.flat[0] == round(100 * last_key / 25)  # after the last key: its edit held
        else:  # between two keys: their edits blended by place (here linear in time, so its own)
            before = k // every * every
            w = (k - before) / every
            assert abs(change.flat[0] - ((1 - w) * round(4 * before) + w * round(4 * (before + every)))) <= 0.5


def shots(n, cut):
    """make_items with a cut before item `cut`: the shots' crops are 0 and 100 (plus the index)."""
    items = make_items(n)
    for item in items[cut:]:
        item.crop = item.crop + 100
        item.new_shot = item.payload == cut
    return items


@pytest.mark.parametrize("n, cut", [(20, 5), (20, 8), (20, 7), (9, 8), (30, 1)])
def test_no_segment_holds_two_shots_and_nothing_is_faded_across_a_cut(n, cut):
    seen = []

    def edit(crops, times, mouth):
        seen.append(crops[:, 0, 0, 0].astype(int))
        return np.clip(crops.astype(int) + 10, 0, 255).astype(np.uint8)  # a change of +10 everywhere

    out = list(edit_in_segments(shots(n, cut), edit, segment_frames=8, overlap_frames=2))
    assert [it.payload for it, _ in out] == list(range(n))
    for crops in seen:  # every call's frames lie in one shot (padding repeats its last frame)
        assert (crops < 100).all() or (crops >= 100).all()
    # every frame carries exactly its own edit: no blend with a segment of the other shot
    assert all(int(crop[0, 0, 0]) == int(it.crop[0, 0, 0]) + 10 for it, crop in out)


@pytest.mark.parametrize("every", [2, 3])
def test_at_cadence_a_cut_starts_a_key_and_the_last_items_of_a_shot_keep_its_edit(every):
    n, cut = 20, 7

    def edit(crops, times, mouth):  # shot one's change +10, shot two's +50
        return np.where(crops < 100, crops + 10, crops + 50).astype(np.uint8)

    keys = []
    out = list(edit_at_cadence(shots(n, cut), lambda c, t, m: (keys.extend(c[:, 0, 0, 0].tolist()), edit(c, t, m))[1],
                               8, 2, every))
    assert [it.payload for it, _ in out] == list(range(n))
    assert 100 + cut in keys  # the first item of the new shot is a key
    for it, crop in out:
        want = 10 if it.payload < cut else 50
        assert int(crop[0, 0, 0]) - int(it.crop[0, 0, 0]) == want
