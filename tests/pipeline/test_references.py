"""Reference frames: which source moments a model that takes them sees, and that a dub gives them."""

from dataclasses import replace

import numpy as np

from omnisync_cli.face.mouth_track import constant_track
from omnisync_cli.face.region import RegionBox
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.references import reference_crops, reference_indices, spread
from omnisync_cli.pipeline.window import crop_from_window, window_of
from omnisync_cli.media.video import VideoReader
from tests.pipeline.test_dub import FIXED_REGION, clip  # noqa: F401 (the fixture)


def test_spread_takes_the_middles_of_equal_shares():
    assert spread(20, 4).tolist() == [2, 7, 12, 17]
    assert spread(3, 6).tolist() == [0, 0, 1, 1, 2, 2]  # repeats when there are fewer
    assert len(spread(0, 3)) == 0 and len(spread(5, 0)) == 0


def test_reference_indices_spread_over_the_edited_frames_only():
    track = constant_track(20, 25.0, (64, 48), RegionBox(32, 24, 24), (32, 28), "override")
    assert reference_indices(track, 4).tolist() == [2, 7, 12, 17]
    late = replace(track, edit=np.arange(20) >= 12)  # a long stretch without a mouth at the start
    assert reference_indices(late, 2).tolist() == [14, 18]
    assert reference_indices(late, 10).min() >= 12 and len(reference_indices(late, 10)) == 10
    assert len(reference_indices(replace(track, edit=np.zeros(20, bool)), 3)) == 0


class RecordingReferences(PassthroughEditor):
    """A pass-through editor of a model with 2 reference frames: records what it is given."""

    reference_frames = 2

    def __init__(self):
        super().__init__(region_size=16)
        self.given = []

    def edit(self, crops, frame_times, mouth_xy, audio, references=None):
        self.given.append(references)
        return crops


def test_a_dub_gives_every_segment_the_same_reference_crops_of_the_source(clip):  # noqa: F811
    folder, _ = clip
    editor = RecordingReferences()
    dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", editor, DubOptions(face=FIXED_REGION))
    assert len(editor.given) >= 2
    first = editor.given[0]
    assert first.shape == (2, 16, 16, 3) and first.dtype == np.uint8
    assert all(np.array_equal(g, first) for g in editor.given)
    # the source's crops at frames 2 and 7 of its 10, cut as the dub cuts its segments
    box = RegionBox(*[v + w / 2 for v, w in zip(FIXED_REGION.region[:2], FIXED_REGION.region[2:])],
                    FIXED_REGION.region[2])
    with VideoReader(folder / "in.mp4") as reader:
        frames = reader.read_frames(0, 10)
    for ref, k in zip(first, (2, 7)):
        assert np.array_equal(ref, crop_from_window(window_of(frames[k].planes, box, 16), box, 16))
    assert PassthroughEditor().edit.__code__.co_argcount == 5  # an editor without references is called as before


def test_no_reference_crops_without_an_edited_frame(clip):  # noqa: F811
    folder, _ = clip
    track = constant_track(10, 25.0, (64, 48), RegionBox(32, 24, 24), (32, 28), "override")
    track = replace(track, edit=np.zeros(10, bool))
    assert reference_crops(folder / "in.mp4", track, 16, 2) is None
