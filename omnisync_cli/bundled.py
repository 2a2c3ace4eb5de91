"""Where the weights shipped with omnisync are, whether it runs from the repository (an
editable install) or from a wheel.

The repository's top-level `weights/` is the source of truth. `omnisync_cli/weights` is a
symbolic link to it, and pyproject.toml ships everything below it as package data, so a
wheel or `pip install .` carries every model folder (cpu-small/, and any folder added later)
inside the installed package, at the same place relative to this file.
"""

from pathlib import Path

WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"


def bundled_weights(name: str) -> Path:
    """The folder of one bundled model, e.g. bundled_weights("cpu-small")."""
    return WEIGHTS_ROOT / name
