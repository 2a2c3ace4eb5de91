"""Silero VAD in ONNX Runtime against its TorchScript model: the same speech spans, and how long.

For each 16 kHz track (every `speech.wav` under the given folders), media.speech_gate's rule
(its GateConfig: level, threshold, padding, shortest speech and silence) is run with each of
the package's two models; reported: the tracks whose spans are identical, the share of samples
judged differently where they are not, and each model's seconds over all tracks (alternating
track by track, so both see the same load).

    python bench/speech_detector.py /work/corpus-sync-val /work/corpus-v2-bench3 [--limit 20] [--write F]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from silero_vad import get_speech_timestamps, load_silero_vad

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.media.speech_gate import GateConfig


def spans(waveform: np.ndarray, model, config: GateConfig) -> list[tuple[int, int]]:
    """media.speech_gate.speech_spans with a given model."""
    peak = float(np.percentile(np.abs(waveform), 99.9))
    level = min(config.max_gain, config.detect_peak / max(peak, 1e-9))
    heard = torch.from_numpy(np.ascontiguousarray(waveform * level, dtype=np.float32))
    found = get_speech_timestamps(heard, model, threshold=config.threshold, sampling_rate=SAMPLE_RATE,
                                  min_silence_duration_ms=round(1000 * config.min_silence_s),
                                  min_speech_duration_ms=round(1000 * config.min_speech_s),
                                  speech_pad_ms=round(1000 * config.pad_s))
    return [(int(s["start"]), int(s["end"])) for s in found]


def mask(n: int, found: list[tuple[int, int]]) -> np.ndarray:
    out = np.zeros(n, bool)
    for start, end in found:
        out[start:end] = True
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=20, help="tracks per folder")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    config = GateConfig()
    models = {"TorchScript": load_silero_vad(), "ONNX Runtime": load_silero_vad(onnx=True)}
    seconds = {name: 0.0 for name in models}
    tracks, audio_s, identical, differing = 0, 0.0, 0, []
    for folder in args.folders:
        for path in sorted(folder.rglob("speech.wav"))[:args.limit]:
            waveform = load_speech(path)
            found = {}
            for name, model in models.items():
                start = time.perf_counter()
                found[name] = spans(waveform, model, config)
                seconds[name] += time.perf_counter() - start
            tracks += 1
            audio_s += len(waveform) / SAMPLE_RATE
            jit, onnx = found.values()
            if jit == onnx:
                identical += 1
            else:
                differing.append((path, float((mask(len(waveform), jit) != mask(len(waveform), onnx)).mean())))
    lines = ["# Silero VAD: ONNX Runtime against TorchScript (media.speech_gate)", "",
             f"`python bench/speech_detector.py {' '.join(str(f) for f in args.folders)} --limit {args.limit}`: "
             f"{tracks} tracks, {audio_s:.0f} s of audio, torch {torch.__version__} with "
             f"{torch.get_num_threads()} threads (ONNX Runtime: one, as the package sets it).", "",
             "| model | seconds, all tracks | x real time |", "|---|---|---|"]
    lines += [f"| {name} | {s:.2f} | {audio_s / s:.0f} |" for name, s in seconds.items()]
    lines += ["", f"Identical speech spans: {identical} of {tracks} tracks."]
    lines += [f"- {path}: {100 * share:.2f} % of samples judged differently" for path, share in differing]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
