"""`batch-dub`: one dub per video of a folder, shardable and resumable.

Each video is paired with the speech file of the same name (or one speech file for all).
`shard=(i, n)` takes every n-th video starting at i, so n cluster jobs or torchrun ranks
split a folder without talking to each other; an output that already exists counts as done,
so a rerun after a crash picks up where it stopped. One failing video does not stop the rest.
"""

from dataclasses import dataclass, field
from pathlib import Path

from omnisync_cli.errors import ConfigError, InputError, OmniSyncError, OutputError
from omnisync_cli.pipeline.dub import DubOptions, dub
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.progress import Labelled, Progress, SilentProgress

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus"}


@dataclass
class BatchReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # output existed already
    failed: dict[str, str] = field(default_factory=dict)  # video -> one-line reason


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard takes i/n such as 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise ConfigError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return index, count


def pair_inputs(videos: Path, audio: Path) -> list[tuple[Path, Path | None]]:
    """(video, speech) for every video in the folder; speech None when no file matches."""
    if videos.exists() and not videos.is_dir():
        raise InputError(f"{videos} is a file; batch-dub takes a folder of videos (use `omnisync dub` for one)")
    if not videos.is_dir():
        raise InputError(f"video folder not found: {videos}")
    if not audio.exists():
        raise InputError(f"speech file or folder not found: {audio}")
    clips = sorted(p for p in videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not clips:
        raise InputError(f"no videos ({', '.join(sorted(VIDEO_SUFFIXES))}) in {videos}")
    if audio.is_file():
        return [(clip, audio) for clip in clips]
    speech = {p.stem: p for p in sorted(audio.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES}
    return [(clip, speech.get(clip.stem)) for clip in clips]


def check_output_folder(videos: Path, out_dir: Path) -> None:
    """Outputs go to a folder of their own: in the video folder they would be taken for inputs
    (and an input named like an output counted as already done)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"-o {out_dir} is a file; give a folder for the dubbed videos")
    inside = out_dir.resolve().is_relative_to(videos.resolve())
    if inside:
        raise OutputError(f"-o {out_dir} is the video folder or inside it; give a separate folder "
                          "for the dubbed videos")


def batch_dub(videos: Path, audio: Path, out_dir: Path, editor: Editor,
              options: DubOptions = DubOptions(), shard: tuple[int, int] = (0, 1),
              progress: Progress = SilentProgress()) -> BatchReport:
    videos, audio, out_dir = Path(videos), Path(audio), Path(out_dir)
    pairs = pair_inputs(videos, audio)[shard[0]::shard[1]]
    check_output_folder(videos, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {out_dir} ({exc.strerror}); choose another -o") from exc
    report = BatchReport()
    for number, (clip, speech) in enumerate(pairs, start=1):
        output = out_dir / f"{clip.stem}.mp4"
        if output.exists() and not options.overwrite:
            report.skipped.append(str(clip))
            continue
        if speech is None:
            report.failed[str(clip)] = f"no speech file named {clip.stem}.* in {audio}"
            continue
        try:
            dub(clip, speech, output, editor, options,
                Labelled(progress, f"[{number}/{len(pairs)}] {clip.name}"))
            report.done.append(str(clip))
        except OmniSyncError as error:
            report.failed[str(clip)] = str(error)
    return report
