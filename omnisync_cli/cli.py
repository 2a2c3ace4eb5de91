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

from omnisync_cli.errors import ConfigError, OmniSyncError

app = typer.Typer(
    name="omnisync",
    help="Mask-free diffusion-transformer video dubbing (OmniSync).\n\n"
         "Example: omnisync dub input.mp4 speech.wav -o out.mp4",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


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
