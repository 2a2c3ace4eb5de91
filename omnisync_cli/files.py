"""The permissions of the files omnisync writes: those any program gives a file it writes
(the mode of the file replaced, else 0666 less the umask), not the owner-only 0600 of the
temporary files they pass through."""

import contextlib
import os
import stat
from pathlib import Path

import numpy as np


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
