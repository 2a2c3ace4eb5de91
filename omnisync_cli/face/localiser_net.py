"""The mouth localiser's network in PyTorch, for training it and saving its weights.

Dubs run the same network in ONNX Runtime, built from the saved weights (face.localiser_graph);
face.localiser reads its outputs.
"""

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from omnisync_cli.face.localiser import (CONFIG_FILE, FORMAT, WEIGHTS_FILE, LocaliserConfig, MouthLocaliser, damaged,
                                         read_localiser_config)
from omnisync_cli.files import save_safetensors


def _block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class LocaliserNet(nn.Module):
    """(B, 3, S, S) in [0, 1] -> (B, 4, S/4, S/4): heat logit, offset x, offset y, log face width."""

    def __init__(self, config: LocaliserConfig):
        super().__init__()
        w2, w4, w8, w16 = config.widths
        self.down2, self.down4 = _block(3, w2, 2), _block(w2, w4, 2)
        self.down8, self.down16 = _block(w4, w8, 2), _block(w8, w16, 2)
        self.context = nn.Sequential(nn.Conv2d(w16, w16, 3, 1, 2, dilation=2, bias=False), nn.BatchNorm2d(w16),
                                     nn.ReLU(inplace=True))
        self.up8 = nn.Sequential(nn.Conv2d(w16 + w8, w8, 3, 1, 1, bias=False), nn.BatchNorm2d(w8), nn.ReLU(inplace=True))
        self.up4 = nn.Sequential(nn.Conv2d(w8 + w4, w4, 3, 1, 1, bias=False), nn.BatchNorm2d(w4), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(w4, 4, 1)
        nn.init.constant_(self.head.bias, 0.0)
        with torch.no_grad():
            self.head.bias[0] = -4.0  # start with "no mouth anywhere" (focal-loss practice)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.down4(self.down2(x))
        f8 = self.down8(f4)
        f16 = self.context(self.down16(f8))
        up = nn.functional.interpolate(f16, size=f8.shape[-2:], mode="nearest")
        f8 = self.up8(torch.cat([up, f8], 1))
        up = nn.functional.interpolate(f8, size=f4.shape[-2:], mode="nearest")
        return self.head(self.up4(torch.cat([up, f4], 1)))


class TorchLocaliserNet:
    """LocaliserNet called as face.localiser.MouthLocaliser calls its network."""

    def __init__(self, net: LocaliserNet):
        self.net = net.eval()

    @torch.inference_mode()
    def __call__(self, batch: list[np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div_(255.0)
        return self.net(x).numpy()


def torch_localiser(net: LocaliserNet, config: LocaliserConfig) -> MouthLocaliser:
    """A localiser that runs `net` in PyTorch (training checks; dubs load the ONNX one)."""
    return MouthLocaliser(TorchLocaliserNet(net), config)


def save_localiser(net: LocaliserNet, config: LocaliserConfig, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "version": 1, "model": asdict(config)}
    (directory / CONFIG_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    save_safetensors({k: v.detach().contiguous() for k, v in net.state_dict().items()}, directory / WEIGHTS_FILE)
    return directory


def load_localiser_net(directory: str | Path) -> tuple[LocaliserNet, LocaliserConfig]:
    """The PyTorch network saved in `directory` and its config (to train on from it)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    config, weights_path = read_localiser_config(directory)
    try:
        net = LocaliserNet(config)
        net.load_state_dict(load_file(str(weights_path)))
    except (SafetensorError, RuntimeError) as exc:
        raise damaged(Path(directory), exc) from exc
    return net.eval(), config
