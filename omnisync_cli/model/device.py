"""Device and precision: `auto` is CUDA with fp16 autocast when a GPU is present; on the CPU,
bf16 autocast where the CPU computes bf16 natively (AMX or AVX-512 BF16), fp32 elsewhere.

bf16 on the CPU, measured (bench/results/realtime.md, bench/results/v2-bf16/): on a Xeon with
AMX the default dub's model time falls by about half at the same benchmark quality; without
native bf16 instructions PyTorch emulates it and it is slower than fp32, hence the check.

The sampler integrates in fp32 whatever the network runs in; autocast covers the forward only.
"""

import contextlib
import copy

import torch
import torch.nn as nn

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
        dtype = "fp16" if dev.type == "cuda" else "bf16" if cpu_has_native_bf16() else "fp32"
    if dtype not in DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r}; use auto, fp32, fp16 or bf16")
    if dtype == "fp16" and dev.type != "cuda":
        raise ConfigError("fp16 runs on CUDA only; use bf16 or fp32 on the CPU")
    return dev, DTYPES[dtype]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AMX tiles or AVX-512 BF16)."""
    cpu = torch.cpu
    try:
        return bool(cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes: assume not
        return False


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast context for the network's forward, or nothing for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# The layers autocast runs in its low precision (its CPU and CUDA lists both hold linear and
# convolutions); their weights it casts again on every call.
CAST_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)


def low_precision_network(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A copy of `model` for inference under `dtype` autocast (bf16 or fp16), the same function
    to within that precision and faster (bench/results/bf16-network.md):
    - its linear and convolution weights are stored in `dtype`: what autocast would cast on
      every call is cast once (the same outputs, about 10 % of a bf16 forward on the CPU saved);
    - GELU's tanh approximation (the DiT blocks') is replaced by the exact GELU, which it
      approximates to within 4.7e-4, below these precisions' resolution (bf16: 3.9e-3 at 1);
      on the CPU the exact one runs about 4x faster.
    Every other parameter stays as it is."""
    network = copy.deepcopy(model).requires_grad_(False)
    for layer in network.modules():
        if isinstance(layer, CAST_LAYERS):
            layer.to(dtype)
        elif isinstance(layer, nn.GELU):
            layer.approximate = "none"
    return network
