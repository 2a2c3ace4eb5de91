"""Training checkpoints: everything a killed run needs to continue as if it never stopped.

One file, `checkpoint.pt`, written to a temporary name, flushed to disk and renamed over the
old one, so a kill at any moment leaves either the previous or the new checkpoint, never a
torn one. It holds only tensors, numbers, strings, lists and dicts (numpy's RNG state is
stored as a tensor), so it loads with `torch.load(weights_only=True)`: no pickle code runs.
"""

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omnisync_cli.errors import ConfigError, WeightsError

CHECKPOINT_FILE = "checkpoint.pt"


def rng_states() -> dict[str, Any]:
    """The global RNG states of python, numpy and torch (CPU and, when present, CUDA)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    states = {
        "python": [version, list(internal), gauss_next],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Atomically write `state` (plus the global RNG states) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save({**state, "rng": rng_states()}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The saved state, tensors on the CPU; restores the global RNG states as a side effect."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file raises anything from EOFError to RuntimeError
        raise WeightsError(f"Checkpoint {path} cannot be read ({exc}); delete it to start over, "
                           "or restore it from a copy") from exc
    set_rng_states(state["rng"])
    return state


def check_run_kind(out: str | Path, state: dict, keys: tuple[str, ...], command: str) -> None:
    """A checkpoint in `out` resumes only a run of the same command: one missing any of `keys`
    (the state that command saves) was written by another (`train`, `train-localiser`,
    `train-sync` each keep their own)."""
    if not all(key in state for key in keys):
        raise other_run(out, command)


def other_run(out: str | Path, command: str) -> ConfigError:
    return ConfigError(f"{out} holds a checkpoint of another kind of training run, not of `omnisync {command}`; "
                       "start in a new --out folder")


def check_same_settings(out: str | Path, saved: dict | None, settings: dict) -> None:
    """A checkpoint in `out` resumes only the run it was written by: `saved` (its recorded
    settings; None for runs that recorded none) must equal `settings` wherever both name one."""
    changed = sorted(k for k, v in settings.items() if saved is not None and saved.get(k) != v)
    if changed:
        raise ConfigError(f"{out} holds a checkpoint of a run with other settings ({', '.join(changed)}); "
                          "resume it with the same ones, or start in a new --out folder")
