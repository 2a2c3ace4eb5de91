"""Faces too small to redraw keep the source (DubOptions.min_face_px)."""

import dataclasses

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.dub import either_kept, render, small_faces
from omnisync_cli.pipeline.options import DubOptions, check_options
from omnisync_cli.pipeline.editor import PassthroughEditor
from tests.pipeline.test_dub import FIXED_REGION, ShiftEditor, clip, read_all  # noqa: F401 (fixture)


def track_of_widths(analysis, widths, source="landmarks"):
    n = len(analysis.track)
    return dataclasses.replace(analysis.track, side=np.asarray(widths, np.float32)[:n], source=source)


def test_the_source_is_kept_below_the_width_and_the_edit_fades_in_up_to_it(clip):  # noqa: F811
    folder, _ = clip
    analysis = analyse(folder / "in.mp4", DubOptions(face=FIXED_REGION))
    track = track_of_widths(analysis, [10, 30, 35, 40, 50, 60, 70, 80, 90, 100])
    plan = np.arange(10)
    keep, warning = small_faces(track, plan, 40.0)
    np.testing.assert_allclose(keep, [1, 1, 0.5, 0, 0, 0, 0, 0, 0, 0])  # 1 at <= 30 px, 0 at >= 40
    assert "about 30 px wide in 3 of 10 frames" in warning
    assert small_faces(track, plan, 0.0) == (None, None)  # off
    assert small_faces(track, plan, 10.0) == (None, None)  # nothing that small
    assert small_faces(dataclasses.replace(track, source="override"), plan, 40.0) == (None, None)  # the user's region


def test_either_rule_keeps_its_share():
    a, b = np.array([0.0, 0.5, 1.0]), np.array([0.5, 0.5, 0.0])
    np.testing.assert_allclose(either_kept(a, b), [0.5, 0.75, 1.0])
    assert either_kept(None, b) is b and either_kept(a, None) is a and either_kept(None, None) is None


def test_a_dub_of_a_tiny_face_is_the_source_and_says_so(clip):  # noqa: F811
    folder, _ = clip
    analysis = analyse(folder / "in.mp4", DubOptions(face=FIXED_REGION))
    analysis = dataclasses.replace(analysis, track=track_of_widths(analysis, [24.0] * 10))  # as if tracked
    options = DubOptions(face=FIXED_REGION, crf=0, focus=0.0, keep_colours=False)
    plain = render(analysis, folder / "speech.wav", folder / "plain.mp4", PassthroughEditor(region_size=16), options)
    small = render(analysis, folder / "speech.wav", folder / "small.mp4", ShiftEditor(region_size=16),
                   dataclasses.replace(options, min_face_px=40.0))
    large = render(analysis, folder / "speech.wav", folder / "large.mp4", ShiftEditor(region_size=16),
                   dataclasses.replace(options, min_face_px=20.0))
    frames = {name: np.stack(read_all(folder / f"{name}.mp4")).astype(int) for name in ("plain", "small", "large")}
    assert np.array_equal(frames["small"], frames["plain"])
    assert np.abs(frames["large"] - frames["plain"]).max() >= 50
    assert small.frames_face_too_small == small.output_frames and large.frames_face_too_small == 0
    assert any("too small" in w and "24 px" in w for w in small.warnings) and not large.warnings
    assert plain.frames_face_too_small == 0


def test_the_width_is_checked():
    with pytest.raises(ConfigError, match="minimum face width"):
        check_options(DubOptions(min_face_px=-1.0))
