"""The edit's steady part (pipeline.steady_edit): measured over time and taken back out."""

import dataclasses

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.pipeline.dub import DubOptions, check_options, dub
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.quiet import both_speaking
from omnisync_cli.pipeline.steady_edit import SteadyEdit, steady_mean
from tests.media.clips import cartoon, tone, write_audio, write_clip
from tests.pipeline.test_dub import FIXED_REGION, ShiftEditor, read_all


def test_the_mean_starts_at_the_first_segment_and_then_moves_by_its_time_constant():
    edit = np.full((4, 2, 2, 3), 8.0, np.float32)
    first = steady_mean(None, edit, np.ones(4), frames_per_mean=10.0)
    np.testing.assert_allclose(first, 8.0)
    after = steady_mean(first, np.zeros_like(edit), np.ones(4), frames_per_mean=10.0)
    np.testing.assert_allclose(after, 8.0 * np.exp(-4 / 10.0), rtol=1e-6)  # 4 frames of a 10-frame average


def test_frames_without_weight_do_not_feed_the_mean():
    edit = np.stack([np.full((2, 2, 3), v, np.float32) for v in (2.0, 2.0, 50.0, 50.0)])
    mean = steady_mean(None, edit, np.array([1.0, 1.0, 0.0, 0.0]), frames_per_mean=10.0)
    np.testing.assert_allclose(mean, 2.0)
    assert steady_mean(mean, edit, np.zeros(4), frames_per_mean=10.0) is mean  # nothing to learn from


def segments(edit_of_frame, count, frames=8, size=4):
    """(source crops (grey 100), their edits, output frame numbers), segment by segment."""
    for k in range(count):
        crops = np.full((frames, size, size, 3), 100, np.uint8)
        numbers = np.arange(k * frames, (k + 1) * frames)
        edits = np.stack([np.full((size, size, 3), edit_of_frame(t), np.float32) for t in numbers])
        yield crops, np.clip(crops + edits, 0, 255).astype(np.uint8), numbers


def test_a_bias_in_every_frame_is_taken_out_and_a_changing_edit_is_kept():
    steady = SteadyEdit(seconds=1.0, fps=25.0, learn_from=np.ones(48))
    for crops, edited, frames in segments(lambda t: 12.0, 6):
        out = steady(crops, edited, frames)
    assert np.abs(out.astype(int) - crops).max() == 0  # a constant bias: nothing left of it

    steady = SteadyEdit(seconds=1.0, fps=25.0, learn_from=np.ones(48))
    for crops, edited, frames in segments(lambda t: 12.0 + (30.0 if t % 2 else -30.0), 6):
        out = steady(crops, edited, frames)
    change = out.astype(int) - crops
    assert np.abs(np.abs(change) - 30).max() <= 2  # the moving part stays, the bias goes


def test_only_frames_where_both_speak_teach_the_mean_but_all_lose_it():
    # Frames 0-15 both speak (a bias of 12); from 16 on a pause: the mouth held shut (-40).
    learn = (np.arange(48) < 16).astype(np.float32)
    steady = SteadyEdit(seconds=1.0, fps=25.0, learn_from=learn)
    outs = [steady(crops, edited, frames) - crops.astype(int)
            for crops, edited, frames in segments(lambda t: 12.0 if t < 16 else -40.0, 6)]
    assert np.abs(outs[1]).max() == 0  # the bias taken out where it was learnt
    assert np.all(outs[-1] == -52)  # the pause keeps its own change, less the bias


def test_both_speaking_is_where_neither_track_pauses():
    fps = 25.0
    new_quiet = np.zeros(50, bool)
    new_quiet[10:30] = True  # a 0.8 s pause in the new speech
    source_quiet = np.zeros(50, bool)
    source_quiet[40:42] = True  # a word gap: still speech
    weights = both_speaking(new_quiet, source_quiet, fps)
    assert weights[:10].min() == 1 and weights[42:].min() == 1 and weights[40] == 1
    assert weights[15:25].max() == 0


def test_the_window_is_checked():
    with pytest.raises(ConfigError, match="steady-edit"):
        check_options(DubOptions(steady_edit_s=-1.0))


@pytest.mark.parametrize("source_speaks", [True, False])
def test_a_dub_whose_editor_only_biases_the_picture_comes_out_as_the_source(tmp_path, source_speaks):
    still = [cartoon(0, 64, 48)] * 10  # a still picture: the editor's change is the same in every frame
    write_clip(tmp_path / "in.mp4", frames=still, width=64, height=48, fps=25, bt709=True,
               audio=tone(0.4, 16000) if source_speaks else None)
    write_audio(tmp_path / "speech.wav", tone(0.6, 16000), 16000)
    options = DubOptions(face=FIXED_REGION, crf=0, focus=0.0, keep_colours=False, speech_gate=False)
    outputs = {}
    for name, editor, seconds in (("plain", PassthroughEditor(region_size=16), 0.0),
                                  ("biased", ShiftEditor(region_size=16), 0.0),
                                  ("steady", ShiftEditor(region_size=16), 1.0)):
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / f"{name}.mp4", editor,
            dataclasses.replace(options, steady_edit_s=seconds))
        outputs[name] = np.stack(read_all(tmp_path / f"{name}.mp4")).astype(int)
    assert np.abs(outputs["biased"] - outputs["plain"]).max() >= 50
    if source_speaks:  # both talk: the bias is learnt and taken out
        assert np.abs(outputs["steady"] - outputs["plain"]).max() <= 2
    else:  # no speech of its own to learn from: the edit as it was
        assert np.array_equal(outputs["steady"], outputs["biased"])
