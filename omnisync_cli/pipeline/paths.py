"""Checks on the files of a dub, made before any work starts, and the tag that says which
inputs a finished dub was made from."""

import hashlib
import json
import os
from pathlib import Path

from omnisync_cli.errors import InputError, OutputError

OUTPUT_SUFFIXES = {".mp4", ".m4v", ".mov"}


def check_paths(video: Path, audio: Path, output: Path, overwrite: bool) -> None:
    """Refuse missing inputs, an output that is an input, and outputs that cannot be written."""
    for kind, path in (("video", video), ("audio", audio)):
        if not path.exists():
            raise InputError(f"{kind} file not found: {path}")
        if not path.is_file():
            raise InputError(f"{kind} path is not a file: {path}")
        if not os.access(path, os.R_OK):
            raise InputError(f"{kind} file is not readable: {path} (check its permissions)")
        if path.stat().st_size == 0:
            raise InputError(f"{kind} file is empty: {path}")
    if output.is_dir():
        raise OutputError(f"output {output} is a folder; give a file name such as {output / 'dubbed.mp4'}")
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"output must be an MP4 file (.mp4, .m4v or .mov), got {output}")
    if is_one_of(output, (video, audio)):
        raise OutputError(f"output {output} is one of the inputs; choose another -o path")
    if output.exists() and not overwrite:
        raise OutputError(f"output {output} already exists; pass --overwrite to replace it")
    folder = output.parent if str(output.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {folder} is a file, not a folder; choose another -o path")
    if not folder.is_dir():
        raise OutputError(f"output folder does not exist: {folder}; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder is not writable: {folder}")


def identities(path: Path) -> set[tuple]:
    """What names a file: its resolved path (links followed) and, if it exists, its device and
    inode (a hard link). Two paths share one where they name the same file."""
    path = Path(path)
    names: set[tuple] = {("path", str(path.resolve()))}
    if path.exists():
        stat = path.stat()
        names.add(("inode", stat.st_dev, stat.st_ino))
    return names


def is_one_of(path: Path, inputs) -> bool:
    """Whether `path` names one of the files `inputs` (the same path, a link to it, a hard link)."""
    return bool(identities(path) & set().union(*map(identities, inputs)))


def file_version(path: Path) -> tuple | None:
    """(device, inode, size, modification ns) of the file at `path`, None where there is none:
    a file edited, replaced or removed since has another."""
    try:
        found = Path(path).stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


def input_versions(*paths: Path) -> dict[Path, tuple | None]:
    """The `file_version` of each input, to tell later whether one changed while it was read."""
    return {Path(path): file_version(path) for path in paths}


def check_unchanged(versions: dict[Path, tuple | None], unwritten: str = "no dub was written") -> None:
    """Refuse a dub whose inputs changed since `versions` (`input_versions`) were taken: it would
    mix two versions of one, or carry a tag vouching for a file it was not made from (a user
    tour: a speech file replaced mid-dub gave a 1 s video carrying 1.6 s of the new speech).
    `unwritten`: what is not written for it (the --compare video: "the comparison was not written")."""
    for path, version in versions.items():
        if file_version(path) != version:
            raise InputError(f"{path} changed while it was being dubbed; {unwritten} (run again once it is final)")


PROVENANCE_PREFIX = "omnisync dub; inputs "  # the comment tag of every dub (VideoWriter's comment)


def provenance(video: Path, audio: Path, settings: dict | None = None) -> str:
    """The comment tag a dub of `video` with `audio` carries: a hash of both files' resolved
    paths, sizes and modification times and of the dub's `settings` (pipeline.options.dub_settings),
    so `batch-dub` can tell its own finished outputs, and which inputs and settings made them,
    from other files (a user tour: a rerun with other settings kept pass-through outputs)."""
    def identity(path: Path) -> list:
        stat = Path(path).stat()
        return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]
    made_of = json.dumps([identity(video), identity(audio), settings], sort_keys=True, default=str)
    return PROVENANCE_PREFIX + hashlib.sha1(made_of.encode()).hexdigest()[:16]


def check_out_folder(folder: Path, flag: str) -> None:
    """Before any work: `folder` (a command's results folder, `flag` naming it) is a folder
    or can become one: not a file, nor below one."""
    for path in (Path(folder), *Path(folder).parents):
        if path.exists() and not path.is_dir():
            raise OutputError(f"{flag} {folder}: {path} is a file, not a folder; give a folder")
    if not Path(folder).exists() and Path(folder).suffix.lower() in OUTPUT_SUFFIXES:  # a user tour: -o dubbed.mp4
        raise OutputError(f"{flag} {folder} names a file, but this command writes a folder of results; "
                          f"give a folder, such as {Path(folder).with_suffix('')}")


def check_run_folder(folder: Path, flag: str, inputs: dict[str, Path | None]) -> None:
    """Before any training: the run folder `folder` is neither one of the `inputs` (role ->
    folder: the weights it starts from, the corpora it reads), nor inside or around one, and
    holds no model that is not a run's own (model.safetensors without checkpoint.pt: the
    shipped model, an adapted one, a finished localiser), which a new run would overwrite."""
    folder = Path(folder).resolve()
    for role, path in inputs.items():
        if path is None:
            continue
        other = Path(path).resolve()
        if folder == other or folder.is_relative_to(other) or other.is_relative_to(folder):
            raise OutputError(f"{flag} {folder} is {role} ({path}) or holds it; write the run to a folder of its own")
    if (folder / "model.safetensors").exists() and not (folder / "checkpoint.pt").exists():
        raise OutputError(f"{flag} {folder} already holds a model and no run to resume; write the run to a new "
                          "folder")
