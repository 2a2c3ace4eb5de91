"""tune: one grid video, rows = tau, columns = CFG peak, each tile the dub of its own cell,
as long as the preview and carrying its speech."""

import dataclasses

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoReader
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline import tune as tune_module
from omnisync_cli.pipeline.tune import TuneGrid, tune
from tests.media.clips import faint_checker, tone, write_audio, write_clip

# The cells are told apart by colour, so the edit may bring hues the grey source lacks.
OPTIONS = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)), feather=0.0, keep_colours=False)


class CellColourEditor(PassthroughEditor):
    """Paints every crop one colour that encodes its cell: red = 200 tau, green = 40 peak."""

    def __init__(self, sampler):
        super().__init__(region_size=16)
        self.colour = (round(200 * sampler.tau), round(40 * sampler.guidance.w_peak), 0)

    def edit(self, crops, frame_times, mouth_xy, audio):
        return np.broadcast_to(np.array(self.colour, np.uint8), crops.shape).copy()


@pytest.fixture
def inputs(tmp_path):
    grey = faint_checker(np.full((48, 64, 3), 128, np.uint8))  # a pasted change shows as the editor's colour
    write_clip(tmp_path / "in.mp4", frames=[grey] * 10, width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(2.0, 16000), 16000)
    return tmp_path


def test_a_grid_another_run_wrote_meanwhile_is_kept_without_overwrite(inputs):
    """Checked only before the cells were dubbed, the grid was then replaced whatever was there
    (a user tour: two tunes given one -o); with --overwrite it is replaced."""
    grid_path = inputs / "grid.mp4"

    def make_editor(sampler):  # runs after tune's checks: another run's grid appears meanwhile
        if not grid_path.exists():
            grid_path.write_bytes(b"another run's grid")
        return CellColourEditor(sampler)

    grid = TuneGrid(taus=(0.5,), cfg_peaks=(1.0,), seconds=0.2, tile_width=64)
    with pytest.raises(OutputError, match="another run wrote this file"):
        tune(inputs / "in.mp4", inputs / "speech.wav", grid_path, make_editor, SamplerConfig(), grid, OPTIONS)
    assert grid_path.read_bytes() == b"another run's grid"
    tune(inputs / "in.mp4", inputs / "speech.wav", grid_path, make_editor, SamplerConfig(), grid,
         dataclasses.replace(OPTIONS, overwrite=True))
    with VideoReader(grid_path) as reader:
        assert reader.info.width == 64


def test_each_tile_is_its_own_cell_in_grid_order(inputs):
    grid = TuneGrid(taus=(0.5, 1.0), cfg_peaks=(1.0, 3.0, 5.0), seconds=0.4, tile_width=128)
    made = []

    def make_editor(sampler):
        made.append((sampler.tau, sampler.guidance.w_peak))
        return CellColourEditor(sampler)

    out = tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", make_editor, SamplerConfig(),
               grid, OPTIONS)
    assert made == [(0.5, 1.0), (0.5, 3.0), (0.5, 5.0), (1.0, 1.0), (1.0, 3.0), (1.0, 5.0)]
    with VideoReader(out) as reader:
        info = reader.info
        frames = [f.image for f in reader.iter_frames()]
    assert (info.width, info.height) == (3 * 128, 2 * 96) and len(frames) == 10 and info.has_audio
    assert abs(len(load_audio(out)) / 16000 - 0.4) < 0.05
    for r, tau in enumerate(grid.taus):
        for c, peak in enumerate(grid.cfg_peaks):
            centre = frames[5][r * 96 + 48, c * 128 + 64].astype(int)  # the region's centre in the tile
            assert np.abs(centre - (200 * tau, 40 * peak, 0)).max() < 16, (tau, peak, centre)
            corner = frames[5][r * 96 + 90, c * 128 + 4].astype(int)  # outside the region: the source
            # (tiles are shrunk straight from YUV, chroma at half resolution: a few levels off
            # next to a tile's edge, far from any cell's edit colour)
            assert np.abs(corner - 128).max() < 8


def test_an_empty_grid_is_refused(inputs):
    with pytest.raises(ConfigError, match="at least one tau"):
        tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
             TuneGrid(taus=()), OPTIONS)


def test_the_video_is_tracked_once_for_every_cell(inputs, monkeypatch):
    from omnisync_cli.pipeline import analysis as analysis_module
    calls = []
    real = analysis_module._track_mouth

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(analysis_module, "_track_mouth", counting)
    grid = TuneGrid(taus=(0.5, 1.0), cfg_peaks=(1.0, 3.0), seconds=0.4, tile_width=64)
    tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
         grid, OPTIONS)
    assert len(calls) == 1


def test_only_the_previewed_part_of_the_video_is_analysed(tmp_path):
    from omnisync_cli.pipeline.analysis import analyse
    grey = np.full((48, 64, 3), 128, np.uint8)
    write_clip(tmp_path / "long.mp4", frames=[grey] * 50, width=64, height=48)  # 2 s
    analysis = analyse(tmp_path / "long.mp4", OPTIONS, until_s=0.4)
    assert len(analysis.frame_times) == 10 and len(analysis.track) == 10
    assert analysis.info.duration == pytest.approx(0.4) and analysis.info.frame_count == 10
    assert not analysis.warnings  # a short analysis is not a truncated file


def test_each_tile_carries_its_label_band(inputs):
    grid = TuneGrid(taus=(1.0,), cfg_peaks=(1.0, 3.0), seconds=0.4, tile_width=128)
    out = tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
               grid, OPTIONS)
    with VideoReader(out) as reader:
        frame = next(iter(reader.iter_frames())).image.astype(int)
    for c in range(2):
        band = frame[1:17, c * 128 + 2:c * 128 + 126]
        assert np.median(band) < 40 and band.max() > 150  # a dark band with white text on it
        assert frame[30:60, c * 128 + 4].min() > 100  # the grey source below it


def test_shrunk_planes_keep_their_picture():
    from omnisync_cli.media.yuv import planes_to_rgb, rgb_to_planes
    from omnisync_cli.pipeline.tune import shrink_planes
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :48] = (200, 30, 30)  # left half red, right half black
    small = planes_to_rgb(shrink_planes(rgb_to_planes(rgb), 48, 32)).astype(int)
    assert small.shape == (32, 48, 3)
    assert np.abs(small[16, 8] - (200, 30, 30)).max() < 8 and small[16, 40].max() < 8


def test_an_odd_or_tiny_tile_width_is_refused(inputs):
    with pytest.raises(ConfigError, match="tile width"):
        tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
             TuneGrid(tile_width=101), OPTIONS)


def test_a_frame_many_times_taller_than_wide_gets_narrower_tiles(tmp_path):
    """A 16x512 strip made 320 x 10240 px tiles: refused whatever the grid ('at most 0 fit')."""
    write_clip(tmp_path / "strip.mp4", n_frames=5, width=16, height=512)
    write_audio(tmp_path / "speech.wav", tone(0.2, 16000), 16000)
    options = DubOptions(face=FaceConfig(region=(0, 200, 16, 16)), keep_colours=False)
    out = tune(tmp_path / "strip.mp4", tmp_path / "speech.wav", tmp_path / "grid.mp4", CellColourEditor,
               SamplerConfig(), TuneGrid(taus=(0.5, 1.0), cfg_peaks=(1.0,), seconds=0.2), options)
    with VideoReader(out) as reader:
        assert (reader.info.width, reader.info.height) == (40, 2 * 1280)  # 4 tile widths high, the strip's shape


def test_a_grid_too_large_to_encode_is_refused_before_any_work(inputs, monkeypatch):
    monkeypatch.setattr(tune_module, "analyse", lambda *a, **k: pytest.fail("analysed a grid it must refuse"))
    with pytest.raises(ConfigError, match="tune fewer at once"):
        tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
             TuneGrid(cfg_peaks=tuple(float(p) for p in range(1, 61))), OPTIONS)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="tau values make a grid"):
        tune(inputs / "in.mp4", inputs / "speech.wav", inputs / "grid.mp4", CellColourEditor, SamplerConfig(),
             TuneGrid(taus=tuple(0.5 + i / 200 for i in range(100))), OPTIONS)
    assert not (inputs / "grid.mp4").exists()
