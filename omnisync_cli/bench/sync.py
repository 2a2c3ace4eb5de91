"""The sync expert: a SyncNet-style pair of encoders, and the LSE-C / LSE-D scores it gives.

    expert = open_sync_expert()                     # weights/sync-expert (bundled)
    score = expert.score(mouths, waveform, fps)     # SyncScore(lse_d, lse_c, offset)

A video window is `frames` consecutive mouth crops (the middle one is the window's frame);
an audio window is the dubbing model's own audio features (`model.audio`: the frontend,
`windows_at`, `AudioEncoder`) around that frame's time. Both are embedded to unit vectors;
their Euclidean distance is small when mouth and sound belong together (Chung & Zisserman,
"Out of time: automated lip sync in the wild", 2016). Scoring follows the literature's
LSE-D / LSE-C (Prajwal et al., Wav2Lip, 2020): per offset k in [-max_offset, max_offset] the
mean distance between each video window and the audio window k frames later; LSE-D is the
smallest mean distance, LSE-C (confidence) the median minus that minimum, and the offset the
k of the minimum (0 = in sync; > 0 = the mouth moves before the sound).

It lives in `bench/` because it is a benchmark instrument; `train.sync` trains it.
Input crops are the benchmark's mouth crops (`metrics.crop_mouths`: side = face width,
centred on the mouth) or the corpus's working-region crops (the same framing), so one
`mouth_windows` serves both.
"""

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from omnisync_cli.bench.instrument_weights import load_instrument, save_instrument
from omnisync_cli.bundled import bundled_weights
from omnisync_cli.model.audio import AudioEncoder, AudioFeatures, build_audio_frontend, window_length, windows_at

FORMAT = "omnisync-sync-expert"


@dataclass(frozen=True)
class SyncConfig:
    frames: int = 5                 # mouth crops per video window (SyncNet's 5; 0.2 s at 25 fps)
    mouth_px: int = 48              # side the video encoder sees, px
    mouth_span: float = 0.6         # crop side around the mouth, share of the face-width crop
    widths: tuple[int, ...] = (32, 64, 96, 128)  # video conv channels at strides 2, 4, 8, 16
    embed_dim: int = 128            # width of both embeddings
    audio_hidden: int = 128         # channels of the audio encoder's convolutions
    audio_window_s: float = 0.32    # audio seconds per window, centred on the window's frame (as the DiT)
    audio_frontend: str = "whisper-ct2"  # the dubbing model's frontend (model.audio.build_audio_frontend)
    audio_encoder_dir: str = ""     # its weights ("" = the default Whisper tiny.en)
    n_mels: int = 80                # log-mel channels, if audio_frontend == "logmel"
    max_offset: int = 15            # offsets scored, frames either way (the literature's +-15)

    @classmethod
    def from_dict(cls, doc: dict) -> "SyncConfig":
        doc = dict(doc)
        doc["widths"] = tuple(doc["widths"])
        return cls(**doc)


@dataclass(frozen=True)
class SyncScore:
    lse_d: float   # min over offsets of the mean video-audio distance (lower = in sync)
    lse_c: float   # median minus min of those means (higher = surer sync)
    offset: int    # frames; the offset of the minimum
    distances: np.ndarray  # (2 * max_offset + 1,) mean distance per offset, offset -max_offset first


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class VideoEncoder(nn.Module):
    """(N, frames * 3, P, P) in [0, 1] -> (N, D): the frames stacked on channels, as SyncNet."""

    def __init__(self, config: SyncConfig):
        super().__init__()
        widths = (config.frames * 3, *config.widths)
        self.convs = nn.Sequential(*[conv_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.proj = nn.Linear(widths[-1], config.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x - 0.5).mean((2, 3))  # (N, C)
        return self.proj(x)


class SyncExpert(nn.Module):
    """The two encoders; `embed_*` return unit vectors, so distances lie in [0, 2]."""

    def __init__(self, config: SyncConfig, audio_channels: int):
        super().__init__()
        self.config = config
        self.audio_channels = audio_channels
        self.video = VideoEncoder(config)
        # The DiT's per-frame audio encoder, reused: it keeps where in the window a sound is.
        self.audio = AudioEncoder(audio_channels, window_length(config.audio_window_s, _rate(config)),
                                  config.audio_hidden, config.embed_dim)

    def embed_video(self, windows: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.video(windows), dim=-1)  # (N, D)

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio(windows[None])[0], dim=-1)  # (N, W, C) -> (N, D)


def _rate(config: SyncConfig) -> float:
    return 100.0 if config.audio_frontend == "logmel" else 50.0


def mouth_windows(crops: np.ndarray, mouth_xy: np.ndarray | None, config: SyncConfig) -> np.ndarray:
    """(F, P, P, 3) uint8 mouth crops: a square of `mouth_span` x the crop side around each
    frame's mouth (crop coordinates in [0, 1]; None = the crop centre), resized to `mouth_px`."""
    f, s = crops.shape[:2]
    xy = np.full((f, 2), 0.5) if mouth_xy is None else np.asarray(mouth_xy, np.float64)
    side = max(2, int(round(config.mouth_span * s)))
    out = np.empty((f, config.mouth_px, config.mouth_px, 3), np.uint8)
    for j in range(f):
        patch = cv2.getRectSubPix(np.ascontiguousarray(crops[j]), (side, side),
                                  (float(xy[j, 0] * s - 0.5), float(xy[j, 1] * s - 0.5)))
        out[j] = cv2.resize(patch, (config.mouth_px, config.mouth_px), interpolation=cv2.INTER_AREA)
    return out


def stack_windows(mouths: np.ndarray, starts: np.ndarray, frames: int) -> torch.Tensor:
    """(N, frames * 3, P, P) float in [0, 1]: window n holds frames starts[n] .. starts[n] + frames - 1."""
    idx = np.asarray(starts)[:, None] + np.arange(frames)[None, :]  # (N, frames)
    x = torch.from_numpy(mouths[idx])  # (N, frames, P, P, 3) uint8
    n, k, p = x.shape[0], x.shape[1], x.shape[2]
    return x.permute(0, 1, 4, 2, 3).reshape(n, k * 3, p, p).float().div_(255.0)


def audio_windows(features: AudioFeatures, frame_idx: np.ndarray, fps: float, config: SyncConfig) -> torch.Tensor:
    """(N, W, C) audio windows centred on frames `frame_idx` (any integers: outside the track is silence)."""
    return windows_at(features, np.asarray(frame_idx, np.float64) / fps, config.audio_window_s)


def offset_distances(expert: SyncExpert, mouths: np.ndarray, features: AudioFeatures, fps: float,
                     start: int = 0) -> np.ndarray:
    """(2K + 1,) mean distance between each video window and the audio K frames later, per offset.
    `start`: the frame of the track the first mouth crop shows (0: the track's start)."""
    cfg = expert.config
    half, k = cfg.frames // 2, cfg.max_offset
    n = len(mouths) - cfg.frames + 1
    if n < 1:
        raise ValueError(f"need at least {cfg.frames} frames to score sync, got {len(mouths)}")
    centres = np.arange(n) + half
    with torch.no_grad():
        video = torch.cat([expert.embed_video(stack_windows(mouths, centres[i:i + 256] - half, cfg.frames))
                           for i in range(0, n, 256)])  # (N, D)
        audio_idx = np.arange(-k, len(mouths) + k) + start  # every audio frame any offset needs
        audio = expert.embed_audio(audio_windows(features, audio_idx, fps, cfg))  # (F + 2K, D)
        dists = [torch.linalg.vector_norm(video - audio[centres + k + off], dim=-1).mean()
                 for off in range(-k, k + 1)]
    return torch.stack(dists).numpy()


def summarise_distances(dists: np.ndarray, max_offset: int) -> SyncScore:
    """LSE-D, LSE-C and the best offset of per-offset mean distances (SyncNet's evaluation)."""
    best = int(np.argmin(dists))
    return SyncScore(lse_d=float(dists[best]), lse_c=float(np.median(dists) - dists[best]),
                     offset=best - max_offset, distances=dists)


class SyncScorer:
    """A loaded expert with its audio frontend: scores mouth crops against a waveform."""

    def __init__(self, expert: SyncExpert, frontend=None):
        self.expert = expert.eval()
        self.config = expert.config
        self.frontend = frontend or build_audio_frontend(expert.config)

    def features(self, waveform: np.ndarray) -> AudioFeatures:
        return self.frontend.features(waveform)

    def score(self, crops: np.ndarray, waveform: np.ndarray | AudioFeatures, fps: float,
              mouth_xy: np.ndarray | None = None) -> SyncScore:
        """Score (F, S, S, 3) uint8 face-width crops (mouth at `mouth_xy`, default centre)."""
        feats = waveform if isinstance(waveform, AudioFeatures) else self.features(waveform)
        mouths = mouth_windows(crops, mouth_xy, self.config)
        return summarise_distances(offset_distances(self.expert, mouths, feats, fps), self.config.max_offset)


# ----------------------------------------------------------------------------- weights

def save_sync_expert(expert: SyncExpert, directory: str | Path) -> Path:
    return save_instrument(expert, directory, {"format": FORMAT, "version": 1, "audio_channels": expert.audio_channels,
                                               "model": asdict(expert.config)})


def load_sync_expert(directory: str | Path) -> SyncExpert:
    return load_instrument(directory, FORMAT, "sync expert", "omnisync train-sync", lambda doc: SyncExpert(
        SyncConfig.from_dict(doc["model"]), int(doc["audio_channels"])))


BUNDLED_SYNC_EXPERT = "sync-expert"
# Another seed of the same recipe that no training ever scores against: the adaptation's
# guard and the benchmark's second opinion (weights/sync-expert-guard/README.md).
GUARD_SYNC_EXPERT = "sync-expert-guard"


@lru_cache(maxsize=4)
def open_sync_scorer(directory: str = "") -> SyncScorer:
    """The scorer of the expert in `directory` ("" = the bundled one), loaded once per process."""
    return SyncScorer(load_sync_expert(directory or bundled_weights(BUNDLED_SYNC_EXPERT)))


def open_guard_scorer() -> SyncScorer:
    """The scorer of the guard expert (GUARD_SYNC_EXPERT), loaded once per process."""
    return open_sync_scorer(str(bundled_weights(GUARD_SYNC_EXPERT)))
