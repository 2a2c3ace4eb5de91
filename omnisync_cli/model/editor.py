"""ModelEditor: the OmniSync editing step the dub pipeline calls (pipeline.editor.Editor).

For each segment of crops: progressive init at tau (paper Eq. 5), then `steps` sampler
steps from tau to 0 (Eq. 6) with DS-CFG (Eq. 7-9), all frames of the segment in one clip.
"""

import copy
import dataclasses
import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from omnisync_cli.diffusion.sampling import SAMPLERS, progressive_init, sigma_schedule
from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.guidance.attribution import GATE_BLUR, GATE_QUANTILE, AudioAttribution, attribution_mask, gate_edit
from omnisync_cli.guidance.dscfg import GuidanceConfig, guided_model
from omnisync_cli.media.loudness import quiet_at
from omnisync_cli.model.audio import SAMPLE_RATE, AudioFeatures, build_audio_frontend, windows_at
from omnisync_cli.model.device import autocast, resolve_device
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.text import build_text_encoder
from omnisync_cli.model.weights import load_model


@dataclass(frozen=True)
class SamplerConfig:
    tau: float = 0.92  # start noise level of progressive init (paper); 1 = from pure noise
    # Sampler steps actually run, from tau down to 0. With the stage-5 model on the seed-1
    # benchmark split (weights/cpu-small/README.md), 2 steps against 8: sync R 0.96 vs 0.74
    # (second expert), mouth PSNR 32.31 vs 32.39 dB, flicker 1.26 vs 1.28, 3x faster; 1 step
    # syncs a little more for 0.8 dB and more flicker.
    steps: int = 2
    sampler: str = "euler"  # euler (1 forward per step) or heun (2, except the last)
    seed: int = 0  # noise seed; each segment derives its own from it and its start time
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    device: str = "auto"  # auto: CUDA when present, else CPU
    dtype: str = "auto"  # auto: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32 (model.device)
    # Keep only the part of the edit the audio asked for (guidance.attribution). It reads
    # the guided passes' two halves, so guidance mode "none" (one pass) runs without it.
    # Off by default: measured, it halves the change on mouth and mouth-free crops alike
    # (bench/mouth_free.py) rather than singling out the mouth (weights/cpu-small/README.md).
    audio_gate: bool = False
    # DS-CFG peak on frames where the new speech is silent (media.loudness), where the mouth
    # must close; None: w_peak everywhere.
    silence_peak: float | None = None
    # Segments run through the network together (edit_batch): on 2 CPU cores two segments in
    # one guided forward cost 60 ms a segment against 72 ms one at a time (bf16; fp32 93 vs
    # 117 ms), four cost 71 ms (bench/results/realtime.md). Each segment keeps its own noise,
    # so the output does not depend on it.
    segments_per_call: int = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        if self.steps < 1:
            raise ConfigError(f"steps must be at least 1, got {self.steps}")
        if self.segments_per_call < 1:
            raise ConfigError(f"segments_per_call must be at least 1, got {self.segments_per_call}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {sorted(SAMPLERS)}, got {self.sampler!r}")


# The speech's silence is read every 10 ms over a frame's length (25 fps).
QUIET_RATE = 100.0
FRAME_RATE_FOR_QUIET = 25.0


def crops_to_tensor(crops: np.ndarray) -> torch.Tensor:
    """(K, F, S, S, 3) uint8 segments -> (K, F, 3, S, S) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(crops)).float().permute(0, 1, 4, 2, 3)
    return x / 127.5 - 1.0


def tensor_to_crops(x: torch.Tensor) -> np.ndarray:
    """(K, F, 3, S, S) in [-1, 1] -> (K, F, S, S, 3) uint8."""
    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 1, 3, 4, 2).cpu().numpy()


def segment_seed(seed: int, frame_times: np.ndarray) -> int:
    """A segment's noise seed from the run's seed and its first frame time, so a segment
    gets the same noise whatever order segments run in."""
    key = f"{seed}:{round(float(frame_times[0]) * 1e6)}".encode()
    return zlib.crc32(key)


class ModelEditor:
    """Implements pipeline.editor.Editor with an OmniSyncDiT."""

    def __init__(self, model: OmniSyncDiT, sampler: SamplerConfig = SamplerConfig(), prompt: str = "",
                 audio_frontend=None, text_encoder=None):
        self.device, self.autocast_dtype = resolve_device(sampler.device, sampler.dtype)
        self.model = model.to(self.device).eval()
        self.sampler = sampler
        cfg = model.config
        self.segment_frames = cfg.segment_frames
        self.overlap_frames = cfg.overlap_frames
        self.region_size = cfg.region_size
        self.audio_frontend = audio_frontend or build_audio_frontend(cfg, self.device)
        encoder = text_encoder or build_text_encoder(cfg, self.device)
        self.text = encoder(prompt)  # (text_dim,) or None -> learned null text
        self._last_features = [None, None]  # (key, features) of the last track; shared by with_sampler copies

    @classmethod
    def from_dir(cls, directory: str | Path, sampler: SamplerConfig = SamplerConfig(),
                 prompt: str = "") -> "ModelEditor":
        device, _ = resolve_device(sampler.device, sampler.dtype)
        return cls(load_model(directory, device), sampler, prompt)

    @property
    def segments_per_call(self) -> int:
        return self.sampler.segments_per_call

    def with_sampler(self, sampler: SamplerConfig) -> "ModelEditor":
        """The same loaded model with other sampling settings (one model, many previews)."""
        other = copy.copy(self)
        other.sampler = sampler
        return other

    def prepare_audio(self, waveform: np.ndarray) -> AudioFeatures:
        """The frontend's features of the track; the last track's are kept, so tune's cells
        and the benchmark's variants, which dub the same speech, encode it once."""
        samples = np.ascontiguousarray(waveform, dtype=np.float32)
        key = (len(samples), hashlib.blake2b(samples.tobytes(), digest_size=16).digest())
        if self._last_features[0] != key:
            times = np.arange(int(np.ceil(len(samples) / SAMPLE_RATE * QUIET_RATE))) / QUIET_RATE
            quiet = quiet_at(samples, SAMPLE_RATE, times, 1.0 / FRAME_RATE_FOR_QUIET)
            self._last_features[:] = [key, dataclasses.replace(self.audio_frontend.features(samples), quiet=quiet)]
        return self._last_features[1]

    def edit(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray,
             audio: AudioFeatures) -> np.ndarray:
        """One segment: crops (F, S, S, 3) uint8 -> edited crops (pipeline.editor.Editor)."""
        return self.edit_batch(np.asarray(crops)[None], np.asarray(frame_times)[None],
                               np.asarray(mouth_xy)[None], audio)[0]

    def edit_batch(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray,
                   audio: AudioFeatures) -> np.ndarray:
        """K segments at once: crops (K, F, S, S, 3) uint8, frame_times (K, F), mouth_xy
        (K, F, 2) -> (K, F, S, S, 3). Each segment is sampled as `edit` samples it alone
        (its own noise seed), in one batch through the network."""
        s = self.region_size
        if crops.ndim != 5 or crops.shape[2:] != (s, s, 3) or crops.dtype != np.uint8:
            raise InputError(f"edit() takes (F, {s}, {s}, 3) uint8 crops; got {crops.shape[1:]} {crops.dtype}")
        if not (crops.shape[:2] == np.shape(frame_times) == np.shape(mouth_xy)[:2]):
            raise InputError("crops, frame_times and mouth_xy must have one entry per frame")
        cfg = self.model.config
        source = crops_to_tensor(crops).to(self.device)  # (K, F, 3, S, S)
        windows = torch.stack([windows_at(audio, t, cfg.audio_window_s) for t in frame_times]).to(self.device)
        text = None if self.text is None else self.text[None].expand(len(crops), -1).to(self.device)
        mouth = torch.as_tensor(np.asarray(mouth_xy, dtype=np.float32))  # (K, F, 2)
        noise = torch.stack([
            torch.randn(source.shape[1:], generator=torch.Generator().manual_seed(segment_seed(self.sampler.seed, t)))
            for t in frame_times]).to(self.device)
        tau = self.sampler.tau
        gated = self.sampler.audio_gate and self.sampler.guidance.mode != "none"
        attribution = AudioAttribution() if gated else None
        velocity = guided_model(self.model, self.sampler.guidance, tau, mouth,
                                source=source, audio=windows, text=text, attribution=attribution,
                                frame_peak=self._silence_peaks(audio, frame_times))
        x = progressive_init(source, tau, noise)
        with autocast(self.device, self.autocast_dtype):
            x = SAMPLERS[self.sampler.sampler](velocity, x, sigma_schedule(self.sampler.steps, tau))
        if attribution is not None:
            mask = attribution_mask(attribution.total, GATE_BLUR * s, GATE_QUANTILE)
            x = gate_edit(source, x.float(), mask)
        return tensor_to_crops(x)

    def _silence_peaks(self, audio: AudioFeatures, frame_times: np.ndarray) -> torch.Tensor | None:
        """(K, F) DS-CFG peaks: `silence_peak` on frames where the speech is silent, else w_peak."""
        guidance = self.sampler.guidance
        if self.sampler.silence_peak is None or audio.quiet is None or guidance.mode != "ds":
            return None
        index = np.clip(np.round(np.asarray(frame_times) * QUIET_RATE).astype(int), 0, len(audio.quiet) - 1)
        peaks = np.where(audio.quiet[index], self.sampler.silence_peak, guidance.w_peak)
        return torch.as_tensor(peaks, dtype=torch.float32)
