"""The items of a batch: videos paired with speech by file stem, or read from a manifest.

A manifest is CSV (a header row) or JSON (a list of objects, or {"items": [...]}), one item
per row with `video`, `audio` (where missing: the --audio file; a row with neither is
refused), optional `output` (a file name in the output folder; default <video stem>.mp4) and
optional per-item dub options (`extend`, `face_index`, `mouth`, `region`, `feather`, `crf`).
Relative paths are relative to the manifest. An output name is a plain file name: no folders,
no `..`, not hidden, so no row can write outside the output folder.
"""

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.face.config import parse_mouth, parse_region
from omnisync_cli.flags import check_finite, check_flags
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.paths import OUTPUT_SUFFIXES
from omnisync_cli.pipeline.timeline import Extend

# What phones, cameras and generators write (a camcorder's .mts, a phone's .3gp, a broadcast
# .ts), and what dub reads anyway: a folder's file left out is a file silently not dubbed.
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".gif", ".3gp", ".3g2", ".mts", ".m2ts",
                  ".ts", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv"}
# Still images dub too (a portrait held for the speech's length); in a folder, one that shares
# its stem with a video is that video's thumbnail and is left out.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
# ... and the speech: a browser's voice recording is .webm, a phone's voice memo .m4a or .amr.
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".webm", ".mka", ".aif", ".aiff",
                  ".amr", ".wma", ".caf", ".w64", ".au"}
# A speech folder may also hold the speech as videos (a recorded take): dub reads their sound.
SPEECH_SUFFIXES = AUDIO_SUFFIXES | VIDEO_SUFFIXES
OPTION_COLUMNS = ("extend", "face_index", "mouth", "region", "feather", "crf")


@dataclass(frozen=True)
class BatchItem:
    video: Path
    audio: Path | None  # None: no speech file matched; the item fails with that reason
    output: str  # file name inside the output folder
    options: dict = field(default_factory=dict)  # per-item dub options from a manifest

    def dub_options(self, base: DubOptions) -> DubOptions:
        """`base` with this item's options applied."""
        face = {k: v for k, v in self.options.items() if k in ("face_index", "mouth", "region")}
        other = {k: v for k, v in self.options.items() if k in ("extend", "feather", "crf")}
        return dataclasses.replace(base, face=dataclasses.replace(base.face, **face), **other)


def check_output_name(name: str, where: str) -> str:
    """`name` if it is a plain, visible MP4 file name; else a ConfigError naming `where`."""
    plain = name == Path(name).name and name not in ("", ".", "..") and "\\" not in name and "\0" not in name
    if not plain or name.startswith("."):
        raise ConfigError(f"{where}: output {name!r} must be a plain file name inside the output folder "
                          "(no folders, no '..', not hidden)")
    if Path(name).suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"{where}: output {name!r} must end in .mp4, .m4v or .mov")
    return name


def items_from_folder(videos: Path, audio: Path) -> list[BatchItem]:
    """Every (visible) video or still image of a folder (not an image that is a video's
    thumbnail) with the speech file of the same stem from an audio folder, or the one speech
    file `audio` for all."""
    if videos.exists() and not videos.is_dir():
        raise InputError(f"{videos} is a file; batch-dub takes a folder of videos (use `omnisync dub` for one)")
    if not videos.is_dir():
        raise InputError(f"video folder not found: {videos}")
    if not audio.exists():
        raise InputError(f"speech file or folder not found: {audio}")
    files = [p for p in videos.iterdir() if p.is_file() and not p.name.startswith(".")]
    moving = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    stems = {p.stem for p in moving}
    clips = sorted(moving + [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and p.stem not in stems])
    if not clips:
        raise InputError(f"no videos or images ({', '.join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))}) in {videos}")
    if audio.is_file():
        speech = {clip.stem: audio for clip in clips}
    else:
        files = [p for p in sorted(audio.iterdir()) if p.is_file() and not p.name.startswith(".")
                 and p.suffix.lower() in SPEECH_SUFFIXES]
        # a speech folder that is the video folder too: a video is not its own speech
        speech = {clip.stem: speech_file(clip, [p for p in files if not p.samefile(clip)]) for clip in clips}
    return [BatchItem(clip, speech[clip.stem], check_output_name(f"{clip.stem}.mp4", str(clip)))
            for clip in clips]


def speech_file(clip: Path, files: list[Path]) -> Path | None:
    """The speech file among `files` with the stem of `clip` (the same stem, else the same in
    another case: Beta.MP4 and beta.wav), or None; two candidates are an error, not a guess."""
    found = [p for p in files if p.stem.casefold() == clip.stem.casefold()]
    candidates = [p for p in found if p.stem == clip.stem] or found
    if len(candidates) > 1:
        raise ConfigError(f"{clip.name} has {len(candidates)} speech files "
                          f"({', '.join(p.name for p in candidates)}); keep one")
    return candidates[0] if candidates else None


def items_from_manifest(manifest: Path, default_audio: Path | None = None) -> list[BatchItem]:
    """The rows of a CSV or JSON manifest as batch items (see the module docstring)."""
    rows = _read_rows(manifest)
    if not rows:
        raise InputError(f"{manifest}: the manifest has no items")
    base = manifest.parent
    items = []
    for number, row in enumerate(rows, start=1):
        where = f"{manifest} item {number}"
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: each item must be an object with a 'video' field")
        # CSV cells lose the spaces around them ("a.mp4, b.wav"); a None key holds the cells
        # of a row longer than its header (an unquoted comma).
        if None in row:
            raise ConfigError(f"{where}: more cells than the header has columns (quote a value that holds a comma)")
        row = {str(k).strip(): v.strip() if isinstance(v, str) else v for k, v in row.items()}
        row = {k: v for k, v in row.items() if v not in (None, "")}
        unknown = set(row) - {"video", "audio", "output", *OPTION_COLUMNS}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: video, audio, "
                              f"output, {', '.join(OPTION_COLUMNS)}")
        if "video" not in row:
            raise ConfigError(f"{where}: no 'video'")
        for field_name in ("video", "audio", "output"):
            if field_name in row and not isinstance(row[field_name], str):
                raise ConfigError(f"{where}: '{field_name}' must be a file name, got {row[field_name]!r}")
        video = base / str(row["video"])
        audio = base / str(row["audio"]) if "audio" in row else default_audio
        output = check_output_name(str(row.get("output", f"{video.stem}.mp4")), where)
        items.append(BatchItem(video, audio, output, _options(row, where)))
    for number, item in enumerate(items, start=1):  # a manifest pairs nothing by name: say so before the model loads
        if item.audio is None:
            raise ConfigError(f"{manifest} item {number}: no 'audio'; give one, or --audio for the items without their own")
    return items


def _read_rows(manifest: Path) -> list:
    if not manifest.is_file():
        raise InputError(f"manifest not found: {manifest}")
    suffix = manifest.suffix.lower()
    try:
        text = manifest.read_text(encoding="utf-8-sig")
        if suffix == ".csv":
            return list(csv.DictReader(text.splitlines()))
        if suffix == ".json":
            doc = json.loads(text)
            rows = doc.get("items") if isinstance(doc, dict) else doc
            if not isinstance(rows, list):
                raise ConfigError(f"{manifest}: a JSON manifest is a list of items or {{\"items\": [...]}}")
            return rows
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise InputError(f"{manifest}: cannot be read as a {suffix[1:].upper()} manifest ({exc})") from None
    raise ConfigError(f"{manifest}: a manifest is a .csv or .json file")


def _options(row: dict, where: str) -> dict:
    """Per-item options, parsed and range-checked like the command-line flags."""
    options = {}
    try:
        if "extend" in row:
            if str(row["extend"]) not in {e.value for e in Extend}:
                raise ValueError(f"extend must be one of {', '.join(e.value for e in Extend)}, got {row['extend']!r}")
            options["extend"] = Extend(str(row["extend"]))
        for name, kind in (("face_index", int), ("feather", float), ("crf", int)):
            if name in row:
                options[name] = _number(row[name], kind, name)
        check_flags(**{k: options[k] for k in ("face_index", "feather", "crf") if k in options})
        for name, parse in (("mouth", parse_mouth), ("region", parse_region)):
            if name in row:
                options[name] = parse(str(row[name]))
                check_finite(f"--{name}", options[name])
    except (ValueError, TypeError, ConfigError) as exc:  # TypeError: a JSON list or object as a number
        raise ConfigError(f"{where}: {exc}") from None
    return options


def _number(value, kind: type, name: str):
    """`value` (a CSV cell's text or a JSON number) as `kind`; a JSON true, or 0.9 for a whole
    number, is an error rather than 1 or 0."""
    wanted = f"{name} must be a {'whole ' if kind is int else ''}number, got {value!r}"
    if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
        raise ValueError(wanted)
    try:
        return kind(value)
    except (ValueError, TypeError):  # Python's own wording names neither the field nor what it takes
        raise ValueError(wanted) from None
