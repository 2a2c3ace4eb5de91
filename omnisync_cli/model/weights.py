"""Weights I/O: `config.json` + `model.safetensors` in one directory, loaded without pickle.

Every failure is a `WeightsError` that names the file and says what to do.
"""

from pathlib import Path

import torch
from safetensors.torch import load_file

from omnisync_cli.errors import WeightsError
from omnisync_cli.files import save_safetensors
from omnisync_cli.model.config import CONFIG_FILE, FORMAT, WEIGHTS_FILE, check_weights_dir, save_config
from omnisync_cli.model.dit import OmniSyncDiT

# Weights a file may lack: the training-only viseme head (files written before it existed
# dub the same without it; it keeps its fresh init).
OPTIONAL_PREFIXES = ("viseme_head.",)

def save_model(model: OmniSyncDiT, directory: str | Path) -> Path:
    """Write config.json and model.safetensors (fp32, contiguous) into `directory`."""
    directory = Path(directory)
    save_config(model.config, directory)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(state, directory / WEIGHTS_FILE, metadata={"format": FORMAT})
    return directory


def load_model(directory: str | Path, device: torch.device | str = "cpu") -> OmniSyncDiT:
    """Rebuild the network from config.json and fill it from model.safetensors (eval mode)."""
    config = check_weights_dir(directory)  # a missing or damaged model.safetensors: a WeightsError
    path = Path(directory) / WEIGHTS_FILE
    state = load_file(str(path), device="cpu")
    # The audio encoder's input width is read from the weights, so a Whisper-conditioned
    # model loads without its Whisper directory (which only the audio frontend needs).
    conv = state.get("audio_embed.convs.0.weight")
    model = OmniSyncDiT(config, audio_channels=int(conv.shape[1]) if conv is not None else config.n_mels)
    expected = model.state_dict()
    missing = sorted(k for k in set(expected) - set(state) if not k.startswith(OPTIONAL_PREFIXES))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        detail = "; ".join(filter(None, [
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}" if missing else "",
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}" if unexpected else "",
            f"wrong shapes {wrong[:3]}{'...' if len(wrong) > 3 else ''}" if wrong else ""]))
        raise WeightsError(f"{path} does not match {Path(directory) / CONFIG_FILE} ({detail}); "
                           "the two files come from different models")
    model.load_state_dict(state, strict=False)  # only OPTIONAL_PREFIXES may be absent (checked)
    return model.to(device).eval()
