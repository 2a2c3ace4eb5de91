"""Training: CFM loss (Eq. 2) on timestep-dependent pairs (Eq. 3), EMA, checkpoints, DDP.

    from omnisync_cli.train import TrainConfig, train
    train(TrainConfig(preset="cpu-small", out_dir="runs/default"), "corpus/")
"""

from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.loop import StepInfo, train

__all__ = ["TrainConfig", "StepInfo", "train"]
