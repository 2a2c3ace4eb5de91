"""`tune`: dub a short preview with every combination of settings and tile the results.

The video is analysed (mouth tracked) once, over the preview's seconds only; every cell
renders from that analysis, straight to its tile (no cell video is written or read back).

One grid video, rows = tau values, columns = CFG peaks, each tile labelled, with the preview's
speech, so a user picks settings by eye (and ear) before dubbing the whole video.
"""

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from omnisync_cli.errors import ConfigError
from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.media.yuv import Planes
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.dub import (NO_MOUTH_BANK, either_kept, hear, model_self_test, no_speech_warning, quiet_keep, small_faces, source_mouths, start_bank_collection, trusted_share)
from omnisync_cli.pipeline.editing import edit_frames
from omnisync_cli.pipeline.options import DubOptions, check_options
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.paths import check_paths
from omnisync_cli.pipeline.progress import Labelled, Progress, SilentProgress
from omnisync_cli.pipeline.timeline import plan_source_frames

MAX_GRID_SIDE = 8192  # px: the grid video's width and height at most (the encoder refuses larger)
LABEL_BAND = 18  # px: the dark band along each tile's top that carries its settings
TALLEST_TILE = 4  # a tile is at most this many tile widths high (a taller frame gets a narrower tile)


@dataclass(frozen=True)
class TuneGrid:
    taus: tuple[float, ...] = (0.85, 0.92, 1.0)  # rows
    cfg_peaks: tuple[float, ...] = (2.0, 4.0, 6.0)  # columns
    seconds: float = 3.0  # preview length, from the start of the speech
    tile_width: int = 320  # pixels per tile


def tile_size(tile_width: int, width: int, height: int) -> tuple[int, int]:
    """(width, height), even, of the tile of a width x height frame: `tile_width` wide, or for a
    frame over TALLEST_TILE times higher than wide, TALLEST_TILE tile widths high (a user tour: a
    16x2000 strip made a tile 40000 px high, which no grid holds: 'at most 0 fit')."""
    tile_height = max(2, 2 * round(tile_width * height / width / 2))
    if tile_height <= TALLEST_TILE * tile_width:
        return tile_width, tile_height
    tile_height = TALLEST_TILE * tile_width
    return max(2, 2 * round(tile_height * width / height / 2)), tile_height


def tile_label(image: np.ndarray, text: str) -> np.ndarray:
    """The image with `text` in a dark band along its top."""
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], LABEL_BAND), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def shrink_planes(planes: Planes, width: int, height: int) -> Planes:
    """The picture at (even) width x height, each plane resized on its own (no RGB round trip)."""
    def fit(plane: np.ndarray, w: int, h: int) -> np.ndarray:
        return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)
    return Planes(fit(planes.y, width, height), fit(planes.u, width // 2, height // 2),
                  fit(planes.v, width // 2, height // 2))


def label_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, left: int, top: int, width: int, text: str) -> None:
    """tile_label in YUV, in place: a black band (limited range) with white text over a tile."""
    y[top:top + LABEL_BAND, left:left + width] = 16
    u[top // 2:(top + LABEL_BAND) // 2, left // 2:(left + width) // 2] = 128
    v[top // 2:(top + LABEL_BAND) // 2, left // 2:(left + width) // 2] = 128
    band = y[top:top + LABEL_BAND, left:left + width]  # a view: putText draws into y
    cv2.putText(band, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 235, 1, cv2.LINE_AA)


def tune(video: Path, audio: Path, output: Path, make_editor: Callable[[SamplerConfig], Editor],
         sampler: SamplerConfig, grid: TuneGrid = TuneGrid(), options: DubOptions = DubOptions(),
         progress: Progress = SilentProgress()) -> Path:
    """Write the preview grid to `output`; make_editor(sampler) builds the editor per cell.

    Each cell's frames go straight from the dub's second pass to tile size, in YUV, and are
    kept in memory (about 11 MB per cell for 3 s of 25 fps at the default tile) until the
    grid is encoded: no cell is encoded or decoded on its own."""
    if not grid.taus or not grid.cfg_peaks or grid.seconds <= 0:
        raise ConfigError("tune needs at least one tau, one CFG peak and a positive preview length")
    if grid.tile_width < 32 or grid.tile_width % 2:
        raise ConfigError(f"the tile width must be even and at least 32 px, got {grid.tile_width}")
    if len(grid.cfg_peaks) * grid.tile_width > MAX_GRID_SIDE:
        raise ConfigError(f"{len(grid.cfg_peaks)} CFG peaks make a grid {len(grid.cfg_peaks) * grid.tile_width} px "
                          f"wide; at most {MAX_GRID_SIDE // grid.tile_width} fit in {MAX_GRID_SIDE} px: "
                          "tune fewer at once")
    check_options(options)
    check_paths(video, audio, output, options.overwrite)
    waveform = load_speech(audio)[: int(grid.seconds * SAMPLE_RATE)]
    # The mouth is tracked once, for every cell, and only over the preview's part of the video.
    analysis = analyse(video, options, progress, until_s=grid.seconds)
    info = analysis.info
    tile_width, tile_height = tile_size(grid.tile_width, info.width, info.height)
    if len(grid.taus) * tile_height > MAX_GRID_SIDE:
        raise ConfigError(f"{len(grid.taus)} tau values make a grid {len(grid.taus) * tile_height} px high for "
                          f"this video; at most {MAX_GRID_SIDE // tile_height} fit in {MAX_GRID_SIDE} px: "
                          "tune fewer at once")
    plan = plan_source_frames(analysis.frame_times, info.fps, info.duration, len(waveform) / SAMPLE_RATE,
                              options.extend)
    cells = [(f"tau {tau:g}  cfg peak {peak:g}", make_editor(dataclasses.replace(
        sampler, tau=tau, guidance=dataclasses.replace(sampler.guidance, w_peak=peak))))
        for tau, peak in itertools.product(grid.taus, grid.cfg_peaks)]
    first = cells[0][1]
    hearing = hear(waveform, analysis.video, first, options, analysis.info.duration)
    speech, source = hearing.speech, hearing.source
    quiet = quiet_keep(analysis, plan, speech, source, options, hearing.gated)
    unheard = no_speech_warning(audio, waveform, speech)
    if unheard:
        progress.warn(unheard)
    small, small_warning = small_faces(analysis.track, plan, options.min_face_px)
    keep = either_kept(quiet, small)
    if small_warning:
        progress.warn(small_warning)
    # The same weights in every cell: the bank's donors and the articulation map are found once,
    # from one decoding pass; each cell's model takes its own test on that pass's crops, as its
    # dub would (pipeline.self_test: its settings decide how much of its edit does no harm).
    collecting = start_bank_collection(analysis, first, options)
    try:
        lend, articulation = source_mouths(analysis, plan, first, hearing, options, collecting)
        shares = [trusted_share(analysis.video, model_self_test(analysis, editor, source, options, collecting),
                                lend is not None, options.share_rule) for _, editor in cells]
    finally:
        if collecting is not None:
            collecting.cancel()
    if lend is None and options.mouth_bank == "everywhere":
        progress.warn(NO_MOUTH_BANK)
    grid_cells = []
    for number, ((label, editor), (share, note)) in enumerate(zip(cells, shares), start=1):
        tiles: list[Planes] = []
        cell_progress = Labelled(progress, f"[{number}/{len(cells)}] {label}")
        if note:
            cell_progress.warn(note)
        edit_frames(analysis, plan, editor, editor.prepare_audio(speech), options, cell_progress,
                    lambda planes: tiles.append(shrink_planes(planes, tile_width, tile_height)), keep, lend,
                    articulation=articulation, edit_scale=share)
        grid_cells.append((label, tiles))
    _write_grid(grid_cells, len(grid.cfg_peaks), tile_width, tile_height, info.fps, waveform, output, options.overwrite)
    return output


def _write_grid(cells: list[tuple[str, list[Planes]]], columns: int, tile_width: int, tile_height: int,
                fps, waveform: np.ndarray, output: Path, overwrite: bool = False) -> None:
    """Encode the grid to `output`; without `overwrite`, never over a file that appeared there
    while the cells were dubbed (another run's: VideoWriter keeps it and says so)."""
    rows = -(-len(cells) // columns)
    width, height = columns * tile_width, rows * tile_height
    with VideoWriter(output, width, height, fps, waveform, overwrite=overwrite, kind="preview grid") as writer:
        for k in range(min(len(tiles) for _, tiles in cells)):
            y = np.full((height, width), 16, np.uint8)
            u, v = (np.full((height // 2, width // 2), 128, np.uint8) for _ in range(2))
            for i, (label, tiles) in enumerate(cells):
                r, c = divmod(i, columns)
                top, left = r * tile_height, c * tile_width
                tile = tiles[k]
                y[top:top + tile_height, left:left + tile_width] = tile.y
                u[top // 2:(top + tile_height) // 2, left // 2:(left + tile_width) // 2] = tile.u
                v[top // 2:(top + tile_height) // 2, left // 2:(left + tile_width) // 2] = tile.v
                label_planes(y, u, v, left, top, tile_width, label)
            writer.write_planes(Planes(y, u, v))
