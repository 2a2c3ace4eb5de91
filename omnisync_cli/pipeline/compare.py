"""`dub --compare`: the source and the dub side by side (source | dubbed), with the new
speech, written beside the output as <name>.compare.mp4.

The left half shows, for every output frame, the source frame the dub was made from (the
same length rules, ping-pong included), so the two halves move together and only the mouth
differs. Halves are scaled down to at most COMPARE_WIDTH pixels wide together.
"""

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from omnisync_cli.errors import OutputError
from omnisync_cli.media.audio import native_audio
from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.pipeline.frames import SourceFrames
from omnisync_cli.pipeline.paths import is_one_of
from omnisync_cli.pipeline.progress import Progress

COMPARE_WIDTH = 1920  # both halves together, at most


def comparison_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.compare{output.suffix}")


def check_comparison(output: Path, overwrite: bool, inputs: tuple[Path, ...]) -> None:
    """Before any work: the comparison file is not silently replaced, and never one of `inputs`."""
    path = comparison_path(output)
    if is_one_of(path, inputs):
        raise OutputError(f"{path} (where --compare writes) is one of the inputs; choose another -o name")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} (the --compare video) already exists; pass --overwrite to replace it")


def half_size(width: int, height: int) -> tuple[int, int]:
    """Even size of one half: the source's own, scaled down to fit COMPARE_WIDTH / 2."""
    scale = min(1.0, COMPARE_WIDTH / 2 / width)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def write_comparison(video: Path, dubbed: Path, plan: np.ndarray, progress: Progress, overwrite: bool = False,
                     verify: Callable[[], None] | None = None) -> Path:
    """Write comparison_path(dubbed): source frame plan[j] | dubbed frame j, for every j; without
    `overwrite`, never over a file that appeared there while the dub ran (VideoWriter keeps it).
    `verify`: VideoWriter's, called before the file is moved into place (the source unchanged)."""
    path = comparison_path(dubbed)
    audio = native_audio(dubbed)
    with VideoReader(video) as source_reader, VideoReader(dubbed) as dubbed_reader:
        info = dubbed_reader.info
        width, height = half_size(info.width, info.height)
        source = SourceFrames(source_reader, frame_count=source_reader.info.frame_count)
        source.start()
        with VideoWriter(path, 2 * width, height, info.fps, audio,
                         pixel_aspect=info.pixel_aspect, overwrite=overwrite, kind="comparison",
                         verify=verify) as writer, \
                progress.stage("side-by-side comparison", len(plan)) as advance:
            for k, frame in zip(plan, dubbed_reader.iter_frames()):
                halves = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
                          for image in (source.get(int(k)).image, frame.image)]
                writer.write(np.concatenate(halves, axis=1))
                advance(1)
    return path
