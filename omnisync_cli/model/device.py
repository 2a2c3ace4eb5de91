"""Device and precision: `auto` is CUDA with fp16 autocast when a GPU is present, else CPU fp32.

The sampler integrates in fp32 whatever the network runs in; autocast covers the forward only.
"""

import contextlib

import torch

from omnisync_cli.errors import ConfigError

DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str = "auto", dtype: str = "auto") -> tuple[torch.device, torch.dtype | None]:
    """(device, autocast dtype or None for plain fp32)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"Unknown device {device!r}; use auto, cpu or cuda[:N]") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} asked for, but no CUDA GPU is visible; use --device cpu")
    if dtype == "auto":
        dtype = "fp16" if dev.type == "cuda" else "fp32"
    if dtype not in DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r}; use auto, fp32, fp16 or bf16")
    if dtype == "fp16" and dev.type != "cuda":
        raise ConfigError("fp16 runs on CUDA only; use bf16 or fp32 on the CPU")
    return dev, DTYPES[dtype]


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast context for the network's forward, or nothing for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
