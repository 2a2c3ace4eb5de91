"""Turn a training checkpoint into a weights directory the dub pipeline loads.

`train.loop` writes the final EMA weights with `save_model` only when a run ends; while it
runs, `checkpoint.pt` holds them under "ema" beside the run's config (model preset name).
This saves those EMA weights as config.json + model.safetensors, so an unfinished run can be
benchmarked.
"""

from pathlib import Path

import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import save_model
from omnisync_cli.train.config import run_model_config


def export_weights(checkpoint: str | Path, out_dir: str | Path) -> int:
    """Save the EMA weights of `checkpoint` (a train checkpoint.pt) into `out_dir`; returns
    the training step they are from."""
    path = Path(checkpoint)
    try:
        # Read directly rather than through train.checkpoint.load_checkpoint, which also
        # restores the run's global RNG states into this process.
        state = torch.load(path, map_location="cpu", weights_only=True)
        run, ema, step = state["config"], state["ema"], int(state["step"])
    except Exception as exc:  # missing, truncated, or not a training checkpoint
        raise WeightsError(f"{path} is not a readable omnisync training checkpoint ({exc}); "
                           "pass the checkpoint.pt of a training run") from exc
    model = OmniSyncDiT(run_model_config(run))  # with the parts the run grew (train --output-flow)
    model.load_state_dict(ema)
    save_model(model, out_dir)
    return step
