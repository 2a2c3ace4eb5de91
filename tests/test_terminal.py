"""Progress on stderr: steady unwrapped lines when it is not a terminal, bars when it is,
item names in batch progress, and help screens grouped into panels without placeholders."""

import io

from rich.console import Console
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.pipeline.progress import Labelled
from omnisync_cli.terminal import TerminalProgress
from tests.media.clips import tone, write_audio, write_clip


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def log_console(width=40):
    return Console(file=io.StringIO(), force_terminal=False, width=width)


def test_a_log_gets_a_line_every_interval_and_one_at_the_end():
    console, clock = log_console(), FakeClock()
    progress = TerminalProgress(console, interval_s=10, clock=clock)
    with progress.stage("dubbing a rather long stage name that would wrap at forty", 100) as advance:
        for _ in range(100):
            clock.now += 0.5  # 50 s in all: lines at 10, 20, 30, 40 s, and the end
            advance(1)
    lines = console.file.getvalue().splitlines()
    assert len(lines) == 5, lines  # never wrapped, though far wider than the console
    assert lines[0].endswith("20/100 (20%), 0:00:10 elapsed, eta 0:00:40")
    assert lines[-1].endswith("100/100 (100%), 0:00:50 elapsed, eta 0:00:00")


def test_more_steps_than_the_total_never_read_over_100_percent():
    """A video's header can count fewer frames than decode (recordings joined end to end)."""
    console, clock = log_console(width=200), FakeClock()
    with TerminalProgress(console, interval_s=0, clock=clock).stage("tracking the mouth", 24) as advance:
        for _ in range(48):
            clock.now += 0.1
            advance(1)
    lines = console.file.getvalue().splitlines()
    assert lines[-1].startswith("tracking the mouth: 48/48 (100%)")
    assert not any("%" in line and int(line.split("(")[1].split("%")[0]) > 100 for line in lines)
    bar = Console(file=io.StringIO(), force_terminal=True, width=100)
    with TerminalProgress(bar, interval_s=0).stage("tracking", 4) as advance:
        advance(8)
    assert "8/8" in bar.file.getvalue()


def test_quiet_drops_progress_but_not_warnings():
    console = log_console()
    progress = TerminalProgress(console, quiet=True, interval_s=0)
    with progress.stage("tracking", 3) as advance:
        advance(3)
    Labelled(progress, "[2/5] b.mp4").warn("only 3 of 9 frames could be decoded")
    assert console.file.getvalue() == "warning: [2/5] b.mp4: only 3 of 9 frames could be decoded\n"


def test_a_terminal_gets_a_bar_not_lines():
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    with TerminalProgress(console, interval_s=0).stage("dubbing", 4) as advance:
        advance(4)
    assert "━" in console.file.getvalue() and "elapsed" not in console.file.getvalue()


def test_batch_progress_names_each_item(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b"):
        write_clip(videos / f"{name}.mp4", n_frames=4, width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.2, 16000), 16000)
    result = CliRunner().invoke(app, ["batch-dub", str(videos), "--audio", str(tmp_path / "speech.wav"), "-o",
                                      str(tmp_path / "out"), "--passthrough", "--region", "20,14,24,24"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("[1/2] a.mp4: dubbing: 5/5") for line in lines), lines
    assert any(line.startswith("[2/2] b.mp4: tracking the mouth: 4/4") for line in lines), lines
    assert lines[-1].startswith("2 dubbed, 0 already done (verified), 0 failed; report: ")


def test_help_is_grouped_and_flags_have_no_placeholder(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    text = CliRunner().invoke(app, ["dub", "--help"]).output
    for panel in ("Input and output", "Length", "Face", "Model and sampling", "Guidance", "Device"):
        assert f"─ {panel} ─" in text, panel
    assert "<bool>" not in text and "--no-overwrite" not in text
    assert "<bool>" not in CliRunner().invoke(app, ["--help"]).output
