"""Classifier-free guidance: DS-CFG (paper Eq. 7-9), static CFG and none."""

from omnisync_cli.guidance.dscfg import (GUIDANCE_MODES, GuidanceConfig, guidance_weight, guided_model,
                                         guided_velocity, spatial_guidance_map, temporal_guidance_scale)

__all__ = ["GUIDANCE_MODES", "GuidanceConfig", "guidance_weight", "guided_model", "guided_velocity",
           "spatial_guidance_map", "temporal_guidance_scale"]
