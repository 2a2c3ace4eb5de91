"""`tune`: dub a short preview with every combination of settings and tile the results.

The video is analysed (mouth tracked) once, over the preview's seconds only; every cell
renders from that analysis.

One grid video, rows = tau values, columns = CFG peaks, each tile labelled, with the preview's
speech, so a user picks settings by eye (and ear) before dubbing the whole video.
"""

import dataclasses
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from omnisync_cli.errors import ConfigError
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio, write_wav
from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.dub import DubOptions, analyse, check_options, render
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.paths import check_paths
from omnisync_cli.pipeline.progress import Labelled, Progress, SilentProgress


@dataclass(frozen=True)
class TuneGrid:
    taus: tuple[float, ...] = (0.85, 0.92, 1.0)  # rows
    cfg_peaks: tuple[float, ...] = (2.0, 4.0, 6.0)  # columns
    seconds: float = 3.0  # preview length, from the start of the speech
    tile_width: int = 320  # pixels per tile


def tile_label(image: np.ndarray, text: str) -> np.ndarray:
    """The image with `text` in a dark band along its top."""
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def tune(video: Path, audio: Path, output: Path, make_editor: Callable[[SamplerConfig], Editor],
         sampler: SamplerConfig, grid: TuneGrid = TuneGrid(), options: DubOptions = DubOptions(),
         progress: Progress = SilentProgress()) -> Path:
    """Write the preview grid to `output`; make_editor(sampler) builds the editor per cell."""
    if not grid.taus or not grid.cfg_peaks or grid.seconds <= 0:
        raise ConfigError("tune needs at least one tau, one CFG peak and a positive preview length")
    check_options(options)
    check_paths(video, audio, output, options.overwrite)
    waveform = load_audio(audio)[: int(grid.seconds * SAMPLE_RATE)]
    # The mouth is tracked once, for every cell, and only over the preview's part of the video.
    analysis = analyse(video, options, progress, until_s=grid.seconds)
    with tempfile.TemporaryDirectory(prefix="omnisync-tune-") as work:
        work = Path(work)
        write_wav(work / "preview.wav", waveform)
        cells = []
        combinations = list(itertools.product(grid.taus, grid.cfg_peaks))
        for number, (tau, peak) in enumerate(combinations, start=1):
            cell_sampler = dataclasses.replace(
                sampler, tau=tau, guidance=dataclasses.replace(sampler.guidance, w_peak=peak))
            path = work / f"tau{tau}-peak{peak}.mp4"
            label = f"tau {tau:g}  cfg peak {peak:g}"
            render(analysis, work / "preview.wav", path, make_editor(cell_sampler),
                   dataclasses.replace(options, overwrite=True, compare=False),
                   Labelled(progress, f"[{number}/{len(combinations)}] {label}"))
            cells.append((label, path))
        _write_grid(cells, len(grid.cfg_peaks), grid.tile_width, waveform, output)
    return output


def _write_grid(cells: list[tuple[str, Path]], columns: int, tile_width: int,
                waveform: np.ndarray, output: Path) -> None:
    readers = [VideoReader(path) for _, path in cells]
    try:
        first = readers[0].info
        tile_height = 2 * round(tile_width * first.height / first.width / 2)
        # Each cell decoded straight to (about) the tile's size in one swscale pass.
        streams = [r.iter_pictures(max(tile_width, tile_height)) for r in readers]
        rows = -(-len(cells) // columns)
        with VideoWriter(output, columns * tile_width, rows * tile_height, first.fps, waveform) as writer:
            for frames in zip(*streams):
                canvas = np.zeros((rows * tile_height, columns * tile_width, 3), np.uint8)
                for i, (frame, (label, _)) in enumerate(zip(frames, cells)):
                    tile = frame.image
                    if tile.shape[:2] != (tile_height, tile_width):
                        tile = cv2.resize(tile, (tile_width, tile_height), interpolation=cv2.INTER_AREA)
                    r, c = divmod(i, columns)
                    canvas[r * tile_height:(r + 1) * tile_height,
                           c * tile_width:(c + 1) * tile_width] = tile_label(tile, label)
                writer.write(canvas)
    finally:
        for reader in readers:
            reader.close()
