"""Weights I/O shared by the benchmark's instruments (sync expert, opening meter): a folder
with config.json (a format tag, a version and the fields that rebuild the network) and
model.safetensors; damage or a missing file is one WeightsError line."""

import json
from collections.abc import Callable
from pathlib import Path

import torch.nn as nn

from omnisync_cli.errors import WeightsError
from omnisync_cli.files import save_safetensors

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


def save_instrument(module: nn.Module, directory: str | Path, doc: dict) -> Path:
    """Write `doc` (format, version, config fields) and the module's weights to `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    save_safetensors({k: v.detach().contiguous() for k, v in module.state_dict().items()}, directory / WEIGHTS_FILE)
    return directory


def load_instrument(directory: str | Path, fmt: str, what: str, how_to_train: str,
                    build: Callable[[dict], nn.Module]) -> nn.Module:
    """The network `build(doc)` makes from the folder's config, with its weights, in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise WeightsError(f"{what} weights not found in {directory} (need {CONFIG_FILE} and {WEIGHTS_FILE}); "
                           f"train one with `{how_to_train}`")
    try:
        doc = json.loads(config_path.read_text())
        if doc.get("format") != fmt:
            raise WeightsError(f"{config_path} is not a {what} config (format {doc.get('format')!r})")
        module = build(doc)
        module.load_state_dict(load_file(str(weights_path)))
    except (json.JSONDecodeError, KeyError, TypeError, SafetensorError, RuntimeError) as exc:
        raise WeightsError(f"{what} in {directory} is damaged or does not match its config: "
                           f"{str(exc).splitlines()[0]}") from exc
    return module.eval()
