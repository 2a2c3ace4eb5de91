"""The opening meter: how far open a mouth is, read from one mouth crop of any style.

    meter = open_opening_meter()                 # weights/opening-meter (bundled)
    opening = meter.measure(crops, mouth_xy)     # (F,) in the generator's units: 0 closed, ~1 wide open

A small convolutional regressor trained (`train.opening`) on corpus working-region crops
against the `open` mouth parameter that drew each frame (`data.visemes`). The benchmark
uses it where it needs the opening of a dubbed mouth: the mouth in the new speech's
silences against in its speech (it should close), the opening's correlation with the
truth's opening over a clip (a sync measure independent of the sync expert), and the
prompt's effect on the amplitude. Its own error on held-out style families is measured
against their true openings (`bench/opening_meter.py`) and stated on its card.

Input crops are the same framing as the sync expert's (`bench.sync.mouth_windows`: a
square of `mouth_span` x the face-width crop around the mouth, at `mouth_px`).
"""

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from omnisync_cli.bench.sync import SyncConfig, conv_block, mouth_windows
from omnisync_cli.bench.instrument_weights import load_instrument, save_instrument
from omnisync_cli.bundled import bundled_weights
from omnisync_cli.data.visemes import MOUTH_FIELDS, viseme_track

FORMAT = "omnisync-opening-meter"
BUNDLED_OPENING_METER = "opening-meter"
PAUSE_S = 0.3  # a silence this long or longer in an utterance counts as a pause
PAUSE_MARGIN_S = 0.1  # seconds at each end of a pause left out (the mouth closes and opens there)


@dataclass(frozen=True)
class OpeningConfig:
    mouth_px: int = 48        # side the network sees, px (as the sync expert)
    mouth_span: float = 0.6   # crop side around the mouth, share of the face-width crop
    widths: tuple[int, ...] = (24, 48, 64, 96)  # conv channels at strides 2, 4, 8, 16

    @classmethod
    def from_dict(cls, doc: dict) -> "OpeningConfig":
        return cls(**{**doc, "widths": tuple(doc["widths"])})

    def crop_config(self) -> SyncConfig:
        """The sync expert's crop settings with this meter's framing (for `mouth_windows`)."""
        return SyncConfig(frames=1, mouth_px=self.mouth_px, mouth_span=self.mouth_span)


class OpeningMeter(nn.Module):
    """(N, 3, P, P) mouth crops in [0, 1] -> (N,) opening."""

    def __init__(self, config: OpeningConfig):
        super().__init__()
        self.config = config
        widths = (3, *config.widths)
        self.convs = nn.Sequential(*[conv_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.head = nn.Linear(widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x - 0.5).mean((2, 3)))[:, 0]

    @torch.no_grad()
    def measure(self, crops: np.ndarray, mouth_xy: np.ndarray | None = None) -> np.ndarray:
        """(F, S, S, 3) uint8 face-width crops (mouth at `mouth_xy` in [0, 1], default the
        centre) -> (F,) float openings."""
        self.eval()
        mouths = mouth_windows(crops, mouth_xy, self.config.crop_config())  # (F, P, P, 3)
        x = torch.from_numpy(mouths).permute(0, 3, 1, 2).float() / 255.0
        return torch.cat([self(x[i:i + 256]) for i in range(0, len(x), 256)]).numpy()


def save_opening_meter(meter: OpeningMeter, directory: str | Path) -> Path:
    return save_instrument(meter, directory, {"format": FORMAT, "version": 1, "model": asdict(meter.config)})


def load_opening_meter(directory: str | Path) -> OpeningMeter:
    return load_instrument(directory, FORMAT, "opening meter", "python bench/opening_meter.py --train CORPUS",
                           lambda doc: OpeningMeter(OpeningConfig.from_dict(doc["model"])))


@lru_cache(maxsize=2)
def open_opening_meter(directory: str = "") -> OpeningMeter:
    """The meter in `directory` ("" = the bundled one), loaded once per process."""
    return load_opening_meter(directory or bundled_weights(BUNDLED_OPENING_METER))


def true_opening(utterance: dict, fps: float, frames: int) -> np.ndarray:
    """(frames,) the `open` parameter that drew a synthetic utterance's mouth at each frame
    (benchmark manifests keep each utterance's phonemes and amplitude)."""
    track = viseme_track(utterance["phonemes"], np.arange(frames) / fps, float(utterance.get("amplitude", 1.0)))
    return track[:, MOUTH_FIELDS.index("open")]


def pause_frames(utterance: dict, fps: float, frames: int) -> np.ndarray:
    """(frames,) bool: frames inside the utterance's pauses of PAUSE_S or longer, margins off."""
    t = np.arange(frames) / fps
    quiet = np.zeros(frames, bool)
    for name, start, end in utterance["phonemes"]:
        if name == "" and end - start >= PAUSE_S:
            quiet |= (t >= start + PAUSE_MARGIN_S) & (t <= end - PAUSE_MARGIN_S)
    if utterance["phonemes"]:  # after the last sound (a track shorter than the clip)
        quiet |= t >= utterance["phonemes"][-1][2] + PAUSE_MARGIN_S
    return quiet
