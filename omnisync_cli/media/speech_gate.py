"""Where a track holds speech, by a voice-activity detector, and the track with the rest muted.

A dubbing track is rarely speech over digital silence: music beds, room tone and hum sit under
it and fill its pauses. The loudness rule (`media.loudness`) then finds no pause, and the model
hears the music. The gate mutes everything the detector does not call speech, in the copy of
the track that the model and the quiet rule read; the audio written into the dub is never
changed (measured: bench/results/speech-gate/).

The detector is Silero VAD (the `silero-vad` package, MIT; its 2 MB model ships inside the
wheel), run once per track on 32 ms windows of 16 kHz audio, in ONNX Runtime on one thread:
the same speech spans as the package's TorchScript model on 40 of 40 tracks (160 s of speech),
in 0.89 s against 1.87 s (bench/results/speech-gate/onnx-detector.md).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from omnisync_cli.media.audio import SAMPLE_RATE  # the detector's rate too


@dataclass(frozen=True)
class GateConfig:
    threshold: float = 0.35      # speech probability that opens the gate (Silero's default 0.5 cuts soft onsets)
    pad_s: float = 0.06          # kept on each side of a speech span: onsets and releases
    min_silence_s: float = 0.2   # shorter gaps stay open: the closures inside a word are speech
    fade_s: float = 0.02         # ramps at the gate's edges, no clicks in what the model hears
    # Shorter bursts are not speech. Silero's own 250 ms muted a lone quick word ("oh", "hi",
    # "no" of 0.08-0.15 s between pauses), so the mouth stayed shut on it.
    min_speech_s: float = 0.06
    # The detector hears the track brought to this peak, at most max_gain louder: a quiet
    # recording is speech all the same (at -46 dB it missed 15 % of the words, none after
    # this), and music or hiss alone stays no speech ...
    detect_peak: float = 0.5
    max_gain: float = 100.0
    # ... by the loudest sound within listen_s of each moment (blocks of block_s), not by the whole
    # track's: a whispered line far from the loud ones, or speech well after a music sting.
    listen_s: float = 1.0
    max_boost_db: float = 12.0  # above the whole track's level: a music bed in a pause stays a bed
    block_s: float = 0.25


_MODEL: list = []  # loaded once per process
DETECTOR_WINDOW = 512  # samples the detector judges at a time (32 ms at 16 kHz)
STRETCH = 1 << 16  # samples given their listening gain at a time (`at_listening_level`)


def speech_spans(waveform: np.ndarray, config: GateConfig = GateConfig()) -> list[tuple[int, int]]:
    """[start, end) sample ranges of 16 kHz `waveform` that hold speech."""
    import torch
    threads = torch.get_num_threads()
    from silero_vad import get_speech_timestamps, load_silero_vad
    # Importing the package sets PyTorch to one thread in the importing thread (silero_vad/model.py):
    # `tune` and `--adapt`, which hear on their main thread, then ran the network or the fine-tuning
    # on one core of two (bench/results/speech-gate/torch-threads.md).
    torch.set_num_threads(threads)

    if not _MODEL:
        with warnings.catch_warnings():  # the package's own use of deprecated importlib and torch.jit calls
            warnings.simplefilter("ignore", DeprecationWarning)
            _MODEL.append(load_silero_vad(onnx=True))
    if len(waveform) < DETECTOR_WINDOW:
        return []
    spans = get_speech_timestamps(torch.from_numpy(at_listening_level(waveform, config)), _MODEL[0],
                                  threshold=config.threshold, sampling_rate=SAMPLE_RATE,
                                  min_silence_duration_ms=round(1000 * config.min_silence_s),
                                  min_speech_duration_ms=round(1000 * config.min_speech_s),
                                  speech_pad_ms=round(1000 * config.pad_s))
    return [(int(s["start"]), int(s["end"])) for s in spans]


def listening_gains(waveform: np.ndarray, config: GateConfig = GateConfig()) -> np.ndarray:
    """(B,) the gain that brings each block of `config.block_s` to the level the detector hears
    best (`detect_peak`), set by the loudest sound within `listen_s` of it (each block's 99th
    percentile), at most `max_boost_db` above the whole track's gain and never below it, and at
    most `max_gain`. At one level for the whole track, a line spoken 36 dB under the loud ones
    was missed whole, and speech after a loud music sting in part (bench/results/speech-levels/)."""
    block = max(1, round(config.block_s * SAMPLE_RATE))
    blocks = -(-len(waveform) // block)
    padded = np.zeros(blocks * block, np.float32)
    padded[:len(waveform)] = np.abs(waveform)
    peaks = np.percentile(padded.reshape(blocks, block), 99.0, axis=1)
    reach = round(config.listen_s / config.block_s)
    loudest = sliding_window_view(np.pad(peaks, reach, mode="edge"), 2 * reach + 1).max(axis=1)
    whole = min(config.max_gain, config.detect_peak / max(float(np.percentile(padded[:len(waveform)], 99.9)), 1e-9))
    local = np.minimum(config.detect_peak / np.maximum(loudest, 1e-9), whole * 10 ** (config.max_boost_db / 20))
    return np.clip(local, whole, config.max_gain)


def at_listening_level(waveform: np.ndarray, config: GateConfig = GateConfig()) -> np.ndarray:
    """(n,) float32: `waveform` times its `listening_gains`, the gain moving linearly between
    block centres (no steps for the detector to hear); made a stretch at a time, so no float64
    copy of a long track is made."""
    gains = listening_gains(waveform, config)
    block = max(1, round(config.block_s * SAMPLE_RATE))
    centres = (np.arange(len(gains)) + 0.5) * block
    heard = np.empty(len(waveform), np.float32)
    for start in range(0, len(waveform), STRETCH):
        stop = min(len(waveform), start + STRETCH)
        heard[start:stop] = waveform[start:stop] * np.interp(np.arange(start, stop), centres, gains)
    return heard


def gate_mask(n: int, spans: list[tuple[int, int]], fade: int) -> np.ndarray:
    """(n,) float32: 1 inside the spans, 0 outside, with linear ramps of `fade` samples
    outside each span's edges."""
    mask = np.zeros(n, np.float32)
    ramp = np.linspace(0.0, 1.0, fade + 2, dtype=np.float32)[1:-1]
    for start, end in spans:
        start, end = max(0, start), min(n, end)
        mask[start:end] = 1.0
        before = ramp[max(0, fade - start):]
        mask[start - len(before):start] = np.maximum(mask[start - len(before):start], before)
        after = ramp[::-1][:max(0, n - end)]
        mask[end:end + len(after)] = np.maximum(mask[end:end + len(after)], after)
    return mask


def speech_only(waveform: np.ndarray, config: GateConfig = GateConfig(),
                spans: list[tuple[int, int]] | None = None) -> np.ndarray:
    """`waveform` (16 kHz) with everything but its speech muted; `spans`: its `speech_spans`
    where the caller has them already (the detector is the costly part). A track shorter than
    one detector window cannot be judged and is returned as it is (a user tour: `tune
    --seconds 0.01` was told its speech held none)."""
    if len(waveform) < DETECTOR_WINDOW:
        return waveform
    fade = round(config.fade_s * SAMPLE_RATE)
    spans = speech_spans(waveform, config) if spans is None else spans
    return (waveform * gate_mask(len(waveform), spans, fade)).astype(np.float32)
