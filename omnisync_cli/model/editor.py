"""ModelEditor: the OmniSync editing step the dub pipeline calls (pipeline.editor.Editor).

For each segment of crops: progressive init at tau (paper Eq. 5), then `steps` sampler
steps from tau to 0 (Eq. 6) with DS-CFG (Eq. 7-9), all frames of the segment in one clip.
"""

import copy
import dataclasses
import functools
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
from omnisync_cli.model.device import autocast, low_precision_network, resolve_device
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.mouth_hiding import hide_mouth
from omnisync_cli.model.onnx_cpu import OnnxNetwork, onnx_runtime_available
from omnisync_cli.model.text import build_text_encoder
from omnisync_cli.model.weights import load_model


@dataclass(frozen=True)
class SamplerConfig:
    tau: float = 0.92  # start noise level of progressive init (paper); 1 = from pure noise
    # Sampler steps actually run, from tau down to 0. One step with DS-CFG peak 1.25 (since
    # stop 47) dubs as two steps at peak 2 did, with half the network's forwards: on four
    # 24-clip benchmark splits mouth PSNR -0.09 to +0.15 dB, opening r -0.012 to +0.014,
    # silence / speech within 0.01, mouth SSIM -0.0002 to -0.0015, flicker +0 to +0.022, 38 %
    # less time a clip (bench/results/one-step/). At one step Eq. 8's decay is 1: the guidance
    # is the spatial map alone. (Stage 5: 2 steps against 8, sync R 0.96 vs 0.74, mouth PSNR
    # 32.31 vs 32.39 dB, 3x faster.)
    steps: int = 1
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
    # Hide a box of this side (a share of the working region) around the source's mouth from
    # the model (model.mouth_hiding), as in training examples with `hide_mouth_share`: the
    # mouth is drawn from the audio and the reference frames, not copied from the source. The
    # gate, when on, still falls back to the source. 0: nothing hidden. Training hides 0.4 of
    # its crops (1.0 x the face width); a dub's region is 0.8 x, so 0.5 hides the same area.
    hide_mouth: float = 0.0
    # What runs the network: torch, or ONNX Runtime (model.onnx_cpu; on the CPU only) in fp32
    # ("onnx") or with its matrix products' weights quantised to int8 ("onnx-int8"). auto:
    # onnx-int8 where a dub would run fp32 on the CPU and ONNX Runtime is installed, else
    # torch. Measured (bench/results/int8/): int8 dubs both benchmark splits within 0.02 dB and
    # the sync experts' noise of fp32, with a network 14 % faster.
    runtime: str = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.hide_mouth <= 1.0:
            raise ConfigError(f"hide_mouth (a share of the region) must be in [0, 1], got {self.hide_mouth}")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        if self.steps < 1:
            raise ConfigError(f"steps must be at least 1, got {self.steps}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {sorted(SAMPLERS)}, got {self.sampler!r}")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")


RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")


def uses_onnx(sampler: SamplerConfig, device: torch.device, autocast_dtype: torch.dtype | None,
              model: torch.nn.Module) -> bool:
    """Whether the network runs through ONNX Runtime for these settings (SamplerConfig.runtime);
    auto picks it for the project's network only (a wrapped or stand-in module runs as it is)."""
    fp32_cpu = device.type == "cpu" and autocast_dtype is None
    if sampler.runtime in ("onnx", "onnx-int8"):
        if not fp32_cpu:
            raise ConfigError(f"runtime {sampler.runtime} runs the network on the CPU; use --device cpu --dtype fp32")
        if not onnx_runtime_available():
            raise ConfigError(f"runtime {sampler.runtime} needs the packages onnxruntime and onnx "
                              "(pip install onnxruntime 'onnx<1.18')")
        return True
    return (sampler.runtime == "auto" and fp32_cpu and isinstance(model, OmniSyncDiT)
            and onnx_runtime_available())


# The speech's silence is read every 10 ms over a frame's length (25 fps).
QUIET_RATE = 100.0
FRAME_RATE_FOR_QUIET = 25.0


def crops_to_tensor(crops: np.ndarray) -> torch.Tensor:
    """(F, S, S, 3) uint8 -> (1, F, 3, S, S) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(crops)).float().permute(0, 3, 1, 2)
    return (x / 127.5 - 1.0)[None]


def tensor_to_crops(x: torch.Tensor) -> np.ndarray:
    """(1, F, 3, S, S) in [-1, 1] -> (F, S, S, 3) uint8."""
    x = ((x[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def segment_seed(seed: int, frame_times: np.ndarray) -> int:
    """A segment's noise seed from the run's seed and its first frame time, so a segment
    gets the same noise whatever order segments run in."""
    key = f"{seed}:{round(float(frame_times[0]) * 1e6)}".encode()
    return zlib.crc32(key)


def _track_key(samples: np.ndarray) -> tuple[int, bytes]:
    """What tells two float32 tracks apart for the feature caches: length and content hash."""
    return len(samples), hashlib.blake2b(samples.tobytes(), digest_size=16).digest()


class ModelEditor:
    """Implements pipeline.editor.Editor with an OmniSyncDiT."""

    def __init__(self, model: OmniSyncDiT, sampler: SamplerConfig = SamplerConfig(), prompt: str = "",
                 audio_frontend=None, text_encoder=None):
        self.device, self.autocast_dtype = resolve_device(sampler.device, sampler.dtype)
        self.model = model.to(self.device).eval()
        self.sampler = sampler
        self.network = self.model
        self.network = self._network_for(sampler)
        cfg = model.config
        self.segment_frames = cfg.segment_frames
        self.overlap_frames = cfg.overlap_frames
        self.region_size = cfg.region_size
        self.reference_frames = cfg.reference_frames  # crops of the source edit() also wants (0: none)
        self.audio_frontend = audio_frontend or build_audio_frontend(cfg, self.device)
        encoder = text_encoder or build_text_encoder(cfg, self.device)
        self.prompt = prompt
        self.text = encoder(prompt)  # (text_dim,) or None -> learned null text
        if self.text is None and prompt.strip():  # a user tour: a Japanese prompt dubbed as if none were given
            raise ConfigError(f"--prompt {prompt!r}: this model reads prompts as English words (letters a-z, "
                              "digits) and finds none in it; write the prompt in English, or leave it out")
        self._last_features = [None, None]  # (key, features) of the last track; shared by with_sampler copies
        self._last_other = [None, None]  # the same for audio_features (the source's own speech)

    @classmethod
    def from_dir(cls, directory: str | Path, sampler: SamplerConfig = SamplerConfig(),
                 prompt: str = "") -> "ModelEditor":
        device, _ = resolve_device(sampler.device, sampler.dtype)
        return cls(load_model(directory, device), sampler, prompt)

    @property
    def settings(self) -> dict:
        """What shapes this editor's output (pipeline.editor.Editor): its weights (a digest of
        the network's parameters), the sampling settings and the prompt."""
        return {"editor": "omnisync", "weights": self.weights_digest, "sampler": dataclasses.asdict(self.sampler),
                "prompt": self.prompt}

    @functools.cached_property
    def weights_digest(self) -> str:
        digest = hashlib.sha1()
        for name, tensor in self.model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()[:16]

    def with_sampler(self, sampler: SamplerConfig) -> "ModelEditor":
        """The same loaded model with other sampling settings (one model, many previews)."""
        other = copy.copy(self)
        other.sampler = sampler
        other.network = self._network_for(sampler)
        return other

    @functools.cached_property
    def low_precision_model(self) -> torch.nn.Module:
        """The network in the autocast precision (made once; `with_sampler` copies share it)."""
        return low_precision_network(self.model, self.autocast_dtype)

    def _network_for(self, sampler: SamplerConfig):
        """What runs the network for `sampler`: the model; for the project's network under
        autocast, its low-precision copy (model.device.low_precision_network; shared); or an ONNX
        Runtime copy (shared). A wrapped or stand-in module runs as it is."""
        if not uses_onnx(sampler, self.device, self.autocast_dtype, self.model):
            if self.autocast_dtype is None or not isinstance(self.model, OmniSyncDiT):
                return self.model
            return self.low_precision_model
        int8 = sampler.runtime in ("auto", "onnx-int8")
        if isinstance(self.network, OnnxNetwork) and self.network.int8 == int8:
            return self.network
        return OnnxNetwork(self.model, int8=int8)

    def prepare_audio(self, waveform: np.ndarray) -> AudioFeatures:
        """The frontend's features of the track; the last track's are kept, so tune's cells
        and the benchmark's variants, which dub the same speech, encode it once."""
        samples = np.ascontiguousarray(waveform, dtype=np.float32)
        key = _track_key(samples)
        if self._last_features[0] != key:
            times = np.arange(int(np.ceil(len(samples) / SAMPLE_RATE * QUIET_RATE))) / QUIET_RATE
            quiet = quiet_at(samples, SAMPLE_RATE, times, 1.0 / FRAME_RATE_FOR_QUIET)
            self._last_features[:] = [key, dataclasses.replace(self.audio_frontend.features(samples), quiet=quiet)]
        return self._last_features[1]

    def audio_features(self, waveform: np.ndarray) -> AudioFeatures:
        """The frontend's features of another track (the source's own speech), outside the
        cache `prepare_audio` keeps for the speech being dubbed; the last track's are kept (the
        mouth bank's donors and its own test both read the source's)."""
        samples = np.ascontiguousarray(waveform, dtype=np.float32)
        key = _track_key(samples)
        if self._last_other[0] != key:
            self._last_other[:] = [key, self.audio_frontend.features(samples)]
        return self._last_other[1]

    def sound_keys(self, audio: AudioFeatures, times: np.ndarray) -> np.ndarray:
        """(T, D) unit vectors: the network's own per-frame audio embedding (the one its
        conditioning reads) of the audio at `times` seconds. Two moments that sound alike lie
        close; the mouth bank matches the new speech to the source's by them (pipeline.mouth_bank).
        Measured against the viseme head's 5 mouth parameters, which it replaced: the lent
        mouth's PSNR against the truth's in the swap ellipse, no network, 24 clips per split
        (bench/results/sound-keys/): +0.52 dB on the tuning split, +0.26 dB held out."""
        out = []
        with torch.no_grad():
            for start in range(0, len(times), 256):
                windows = windows_at(audio, np.asarray(times[start:start + 256]), self.model.config.audio_window_s)
                embedded = self.model.audio_embed(windows[None].to(self.device))[0].float()
                out.append(torch.nn.functional.normalize(embedded, dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), np.float32)

    def edit(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray,
             audio: AudioFeatures, references: np.ndarray | None = None) -> np.ndarray:
        """See pipeline.editor.Editor; `references` (K, S, S, 3) uint8: crops of the same video
        at other moments, for a model with reference frames (None: the plain model)."""
        s = self.region_size
        if crops.ndim != 4 or crops.shape[1:] != (s, s, 3) or crops.dtype != np.uint8:
            raise InputError(f"edit() takes (F, {s}, {s}, 3) uint8 crops; got {crops.shape} {crops.dtype}")
        if not (len(crops) == len(frame_times) == len(mouth_xy)):
            raise InputError("crops, frame_times and mouth_xy must have one entry per frame")
        cfg = self.model.config
        source = crops_to_tensor(crops).to(self.device)  # (1, F, 3, S, S)
        refs = None
        if references is not None and self.reference_frames:
            if references.shape != (self.reference_frames, s, s, 3) or references.dtype != np.uint8:
                raise InputError(f"edit() takes ({self.reference_frames}, {s}, {s}, 3) uint8 reference crops; "
                                 f"got {references.shape} {references.dtype}")
            refs = crops_to_tensor(references).to(self.device)  # (1, K, 3, S, S)
        windows = windows_at(audio, frame_times, cfg.audio_window_s)[None].to(self.device)  # (1, F, W, C)
        text = None if self.text is None else self.text[None].to(self.device)
        mouth = torch.as_tensor(np.asarray(mouth_xy, dtype=np.float32))[None]  # (1, F, 2)
        generator = torch.Generator().manual_seed(segment_seed(self.sampler.seed, frame_times))
        noise = torch.randn(source.shape, generator=generator).to(self.device)
        tau = self.sampler.tau
        gated = self.sampler.audio_gate and self.sampler.guidance.mode != "none"
        attribution = AudioAttribution() if gated else None
        shown = hide_mouth(source, mouth.to(self.device), self.sampler.hide_mouth) if self.sampler.hide_mouth else source
        velocity = guided_model(self.network, self.sampler.guidance, tau, mouth,
                                source=shown, audio=windows, text=text, attribution=attribution,
                                frame_peak=self._silence_peaks(audio, frame_times), references=refs)
        x = progressive_init(shown, tau, noise)
        with autocast(self.device, self.autocast_dtype):
            x = SAMPLERS[self.sampler.sampler](velocity, x, sigma_schedule(self.sampler.steps, tau))
        if attribution is not None:
            mask = attribution_mask(attribution.total, GATE_BLUR * s, GATE_QUANTILE)
            x = gate_edit(source, x.float(), mask)
        return tensor_to_crops(x)

    def _silence_peaks(self, audio: AudioFeatures, frame_times: np.ndarray) -> torch.Tensor | None:
        """(1, F) DS-CFG peaks: `silence_peak` on frames where the speech is silent, else w_peak."""
        guidance = self.sampler.guidance
        if self.sampler.silence_peak is None or audio.quiet is None or guidance.mode != "ds":
            return None
        index = np.clip(np.round(np.asarray(frame_times) * QUIET_RATE).astype(int), 0, len(audio.quiet) - 1)
        peaks = np.where(audio.quiet[index], self.sampler.silence_peak, guidance.w_peak)
        return torch.as_tensor(peaks, dtype=torch.float32)[None]
