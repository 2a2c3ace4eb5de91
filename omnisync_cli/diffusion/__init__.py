"""Flow-matching maths: noise path, CFM loss (Eq. 2), progressive init (Eq. 5), samplers."""

from omnisync_cli.diffusion.flow import cfm_loss, noise_path, sample_training_sigma, velocity_target
from omnisync_cli.diffusion.sampling import (SAMPLERS, progressive_init, sample_euler, sample_heun,
                                             sigma_schedule)

__all__ = ["cfm_loss", "noise_path", "sample_training_sigma", "velocity_target", "SAMPLERS",
           "progressive_init", "sample_euler", "sample_heun", "sigma_schedule"]
