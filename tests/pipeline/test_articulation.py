"""The articulation map: the edit kept where the source's mouth moves, faded where it never does."""

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.articulation import MIN_FRAMES, articulation_map, map_peak, running_mean, weigh_edit
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from tests.media.clips import tone, write_audio, write_clip


def speaking_crops(n: int = 40, side: int = 32, seed: int = 0) -> np.ndarray:
    """A still face with codec-like noise whose mouth (rows 20-24, columns 12-20) opens and shuts."""
    rng = np.random.default_rng(seed)
    crops = np.full((n, side, side, 3), 120, np.float32) + rng.normal(0, 1.5, (n, side, side, 1))
    crops[:, 20:24, 12:20] = np.where(np.arange(n) % 6 < 3, 30.0, 200.0)[:, None, None, None]
    return crops.clip(0, 255).astype(np.uint8)


def test_the_map_is_full_where_the_mouth_moves_and_at_the_floor_where_nothing_does():
    weight = articulation_map(speaking_crops(), floor=0.25)
    assert weight.shape == (32, 32) and weight.dtype == np.float32
    assert weight[21, 16] == pytest.approx(1.0, abs=0.05)  # the mouth
    assert weight[4, 4] == pytest.approx(0.25) and weight[28, 28] == pytest.approx(0.25)  # far from it
    assert weight.min() >= 0.25 and weight.max() <= 1.0
    assert np.array_equal(articulation_map(speaking_crops(), floor=0.0) > 0.5, weight > 0.5)


def test_no_map_where_nothing_stands_out_or_it_is_off():
    still = speaking_crops()
    still[:, 20:24, 12:20] = 30  # the mouth never moves: only the noise does
    assert map_peak(still)[1] < 2.0 < map_peak(speaking_crops())[1]
    assert articulation_map(still, floor=0.25) is None
    faint = np.full((40, 32, 32, 3), 120, np.uint8)
    faint[:, 20:24, 12:20] += (np.arange(40) % 6 < 3).astype(np.uint8)[:, None, None, None]  # one grey level
    assert map_peak(faint)[0] < 1.0 < map_peak(faint)[1]  # peaked, but too faint to be a mouth
    assert articulation_map(faint, floor=0.25) is None
    assert articulation_map(speaking_crops(), floor=1.0) is None  # off
    assert articulation_map(speaking_crops(MIN_FRAMES - 1), floor=0.25) is None  # too few frames to tell


def test_the_running_mean_averages_each_frames_neighbours_with_the_ends_repeated():
    frames = np.random.default_rng(1).normal(size=(12, 3, 2)).astype(np.float32)
    padded = np.concatenate([frames[:1].repeat(4, 0), frames, frames[-1:].repeat(4, 0)])
    expected = np.stack([padded[t:t + 9].mean(axis=0) for t in range(12)])
    assert np.allclose(running_mean(frames, 9), expected, atol=1e-6)


def test_weigh_edit_scales_the_change_per_pixel():
    source = np.full((4, 4, 3), 100, np.uint8)
    edited = np.full((4, 4, 3), 180, np.uint8)
    weight = np.zeros((4, 4), np.float32)
    weight[0, 0], weight[1, 1] = 1.0, 0.5
    out = weigh_edit(source, edited, weight)
    assert out[0, 0].tolist() == [180] * 3 and out[1, 1].tolist() == [140] * 3 and out[3, 3].tolist() == [100] * 3
    assert weigh_edit(source, edited, None) is edited


class BrighteningEditor(PassthroughEditor):
    """Brightens the whole working region by 40 levels; reads mouths from audio (so a dub collects
    the source's crops for the mouth bank and the articulation map)."""

    def __init__(self):
        super().__init__(region_size=32)

    def prepare_audio(self, waveform):
        return waveform

    def audio_features(self, waveform):
        return waveform

    def sound_keys(self, audio, times):
        return np.zeros((len(times), 5), np.float32)

    def edit(self, crops, frame_times, mouth_xy, audio):
        return np.clip(crops.astype(np.int16) + 40, 0, 255).astype(np.uint8)


@pytest.fixture
def speaking_video(tmp_path):
    """40 frames of a grey face whose mouth (the region's centre) opens and shuts; a tone for speech."""
    frames = []
    for i in range(40):
        frame = np.full((64, 64, 3), 110, np.uint8)
        frame[30:36, 26:38] = 40 if i % 6 < 3 else 210
        frames.append(frame)
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=64, fps=25, audio=tone(1.6, SAMPLE_RATE))
    write_audio(tmp_path / "speech.wav", tone(1.6, SAMPLE_RATE), SAMPLE_RATE)
    return tmp_path


REGION = FaceConfig(region=(16.0, 16.0, 32.0, 32.0))  # the mouth at the region's centre


def mean_change(folder, name) -> tuple[float, float]:
    """The dub's mean change from the source (levels) at the mouth and on the face above it."""
    with VideoReader(folder / "in.mp4") as a, VideoReader(folder / name) as b:
        source = np.stack([f.image for f in a.iter_frames()]).astype(np.float32)
        dubbed = np.stack([f.image for f in b.iter_frames()]).astype(np.float32)
    change = (dubbed - source)[10:30]
    return float(change[:, 31:35, 29:35].mean()), float(change[:, 22:26, 38:42].mean())


def test_a_dub_keeps_the_edit_on_the_moving_mouth_and_fades_it_on_the_still_face(speaking_video):
    # (the brightening is no dub: the model's own test would leave it out, pipeline.self_test)
    options = dict(face=REGION, keep_quiet_source=False, keep_colours=False, mouth_bank="off", self_test=False)
    whole = dub(speaking_video / "in.mp4", speaking_video / "speech.wav", speaking_video / "whole.mp4",
                BrighteningEditor(), DubOptions(articulation_floor=1.0, **options))
    focused = dub(speaking_video / "in.mp4", speaking_video / "speech.wav", speaking_video / "focused.mp4",
                  BrighteningEditor(), DubOptions(articulation_floor=0.0, **options))
    assert not whole.articulation_map and focused.articulation_map  # the --json summary says which
    whole_mouth, whole_face = mean_change(speaking_video, "whole.mp4")
    mouth, face = mean_change(speaking_video, "focused.mp4")
    assert whole_face > 10  # without the map the still face is brightened too
    assert face < 0.2 * whole_face  # with it, hardly
    assert mouth > 0.6 * whole_mouth  # the moving mouth keeps most of its edit
    dub(speaking_video / "in.mp4", speaking_video / "speech.wav", speaking_video / "default.mp4",
        BrighteningEditor(), DubOptions(**options))
    assert mean_change(speaking_video, "default.mp4")[1] < 0.4 * whole_face  # on by default (floor 0.25)


def test_a_source_that_does_not_speak_gives_no_map(tmp_path):
    """A listener's mouth does not move; where the source's own speech is silent (or it has
    none), nothing tells where its mouth would move, and the new speech's mouth must move freely."""
    frames = []
    for i in range(40):
        frame = np.full((64, 64, 3), 110, np.uint8)
        frame[30:36, 26:38] = 40 if i % 6 < 3 else 210  # moves, but not while speaking
        frames.append(frame)
    write_clip(tmp_path / "silent.mp4", frames=frames, width=64, height=64, fps=25,
               audio=np.zeros(int(1.6 * SAMPLE_RATE), np.float32))
    write_clip(tmp_path / "mute.mp4", frames=frames, width=64, height=64, fps=25)
    write_audio(tmp_path / "speech.wav", tone(1.6, SAMPLE_RATE), SAMPLE_RATE)
    options = DubOptions(face=REGION, keep_quiet_source=False, keep_colours=False, mouth_bank="off")
    for name in ("silent.mp4", "mute.mp4"):
        report = dub(tmp_path / name, tmp_path / "speech.wav", tmp_path / f"out-{name}", BrighteningEditor(), options)
        assert not report.articulation_map


def test_the_floor_is_checked():
    from omnisync_cli.pipeline.options import check_options
    with pytest.raises(ConfigError, match="articulation floor"):
        check_options(DubOptions(articulation_floor=1.5))
