"""The OmniSync network (a mask-free DiT), its conditioning frontends, weights I/O and editor."""

from omnisync_cli.model.audio import AudioFeatures, build_audio_frontend, logmel_features, windows_at
from omnisync_cli.model.config import PRESETS, ModelConfig, get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.model.text import build_text_encoder, hash_text_embedding
from omnisync_cli.model.weights import load_model, save_model

__all__ = [
    "AudioFeatures", "build_audio_frontend", "logmel_features", "windows_at",
    "PRESETS", "ModelConfig", "get_preset", "OmniSyncDiT", "ModelEditor", "SamplerConfig",
    "build_text_encoder", "hash_text_embedding", "load_model", "save_model",
]
