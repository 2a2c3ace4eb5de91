"""The `omnisync` command: thin typed commands that parse, validate, call the library, report.

Every user error is an `OmniSyncError`: printed on one line, exit code 2, nothing left at
the output path.
"""

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from omnisync_cli import __version__
from omnisync_cli.errors import ConfigError, OmniSyncError
from omnisync_cli.face.config import FaceConfig, parse_mouth, parse_region
from omnisync_cli.pipeline.dub import DubOptions
from omnisync_cli.pipeline.dub import dub as run_dub
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.timeline import Extend

app = typer.Typer(
    name="omnisync",
    help="Mask-free diffusion-transformer video dubbing (OmniSync).\n\n"
         "Example: omnisync dub input.mp4 speech.wav -o out.mp4",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def show_version(value: bool) -> None:
    if value:
        print(f"omnisync {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Mask-free diffusion-transformer video dubbing (OmniSync)."""


class RichProgress:
    """One rich bar per pipeline stage, with ETA."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    @contextmanager
    def stage(self, name: str, total: Optional[int]) -> Iterator:
        if self.quiet:
            yield lambda steps=1: None
            return
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
        with Progress(*columns, console=err_console, transient=False) as bar:
            task = bar.add_task(name, total=total)
            yield lambda steps=1: bar.advance(task, steps)


def fail(error: OmniSyncError) -> None:
    err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def parse_floats(text: Optional[str], count: int, flag: str) -> Optional[tuple[float, ...]]:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"{flag} takes {count} comma-separated numbers, got {text!r}") from None
    if len(values) != count:
        raise ConfigError(f"{flag} takes {count} comma-separated numbers, got {text!r}")
    return values


@app.command()
def dub(
    video: Annotated[Path, typer.Argument(help="Video whose speaker gets the new speech.")],
    audio: Annotated[Path, typer.Argument(help="New speech: wav, flac, mp3, m4a, or a video's audio track.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output MP4 (never one of the inputs).")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
    extend: Annotated[Extend, typer.Option(help="How a video shorter than the audio is extended.")] = Extend.pingpong,
    face_index: Annotated[int, typer.Option(help="Which face to dub, 0 = largest.")] = 0,
    landmarker: Annotated[Optional[Path], typer.Option(help="MediaPipe Tasks face_landmarker.task to use instead of the built-in face mesh.")] = None,
    mouth: Annotated[Optional[str], typer.Option(help="Mouth centre X,Y in pixels (skips face detection).")] = None,
    region: Annotated[Optional[str], typer.Option(help="Working region X,Y,W,H in pixels (skips face detection).")] = None,
    feather: Annotated[float, typer.Option(help="Width of the soft paste edge, fraction of the region.")] = 0.2,
    crf: Annotated[Optional[int], typer.Option(help="H.264 quality, lower is better (default near-transparent).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    passthrough: Annotated[bool, typer.Option(help="Skip the model: re-mux the video with the new audio and length rules only.")] = False,
) -> None:
    """Re-render the mouth in VIDEO to follow AUDIO and write the result to -o.

    Examples:

      omnisync dub input.mp4 speech.wav -o out.mp4

      omnisync dub clip.mov voice.m4a -o out.mp4 --extend loop --face-index 1
    """
    try:
        face = FaceConfig(face_index=face_index, landmarker=landmarker,
                          mouth=parse_mouth(mouth) if mouth else None,
                          region=parse_region(region) if region else None)
        options = DubOptions(extend=extend, face=face, feather=feather, crf=crf, overwrite=overwrite)
        editor = PassthroughEditor()
        report = run_dub(video, audio, output, editor, options, RichProgress(quiet or json_summary))
    except OmniSyncError as error:
        fail(error)
    if json_summary:
        print(json.dumps(report.to_dict(), indent=2))
    elif not quiet:
        err_console.print(f"wrote {report.output}: {report.output_frames} frames at {report.fps:g} fps, "
                          f"{report.audio_seconds:.2f} s, face track from {report.track_source} "
                          f"({report.faces_detected} found, {report.frames_filled} filled)")
