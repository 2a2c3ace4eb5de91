"""The files omnisync writes: the permissions any program gives a file it writes (the mode of
the file replaced, else 0666 less the umask), not the owner-only 0600 of the temporary files
they pass through; and the locks that tell a partial file or folder in use from one a killed
run left behind."""

import contextlib
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np

try:
    import fcntl  # POSIX; without it, what killed runs leave is not swept
except ImportError:  # pragma: no cover
    fcntl = None


def output_mode(path: Path) -> int:
    """The permissions a file written to `path` gets: those of the file it replaces, or a new
    file's (0666 less the umask), as any program that writes a file gives it (a user tour:
    every dub was readable by its owner only)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_safetensors(tensors: dict, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """safetensors' save_file (torch tensors, or numpy arrays), the file then given
    `output_mode`: safetensors writes through a temporary file of its own and leaves it 0600
    (a user tour: trained weights were readable by their owner only)."""
    path = Path(path)
    mode = output_mode(path)
    if all(isinstance(value, np.ndarray) for value in tensors.values()):
        from safetensors.numpy import save_file
    else:
        from safetensors.torch import save_file
    save_file(tensors, str(path), metadata=metadata)
    with contextlib.suppress(OSError):  # a file system without permissions keeps its own
        os.chmod(path, mode)


def hold_lock(fd: int) -> None:
    """Lock the open file or folder `fd` for this process until it is closed, so `sweep_unlocked`
    leaves what it names alone (nothing where the platform has no locks)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def sweep_unlocked(folder: Path, pattern: re.Pattern) -> None:
    """Remove the files and folders in `folder` whose names match `pattern` and that no process
    holds (`hold_lock`): the partial results of runs that were killed."""
    if fcntl is None:
        return
    for candidate in folder.iterdir():
        if not pattern.fullmatch(candidate.name):
            continue
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # another run is still at work on it
        else:
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
        finally:
            os.close(fd)
