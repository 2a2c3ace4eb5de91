"""Frames per second of the model on a GPU in fp16 (the design's default there), beside fp32
(issue: real-time dubbing, GPU path). Without a visible CUDA GPU it says so and measures
nothing; `--device cpu` runs the same measurement on the CPU (fp32 and bf16), to check the
script itself.

For each precision: the guided forward of one segment (conditional + unconditional batched,
as the sampler runs it) of the shipped model, in frames per second of output video at the
default 2 sampler steps and the segments' overlap, and one whole dub of a 10 s 512x512 clip
(`omnisync dub --device ... --dtype ...`, its own process, start-up included).

    python bench/gpu_speed.py [--device cuda] [--write bench/results/gpu.md]
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.bundled import bundled_weights
from omnisync_cli.model.device import autocast, resolve_device
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.model.weights import load_model
from pipeline import render_clip, run_dub, speech  # bench/pipeline.py


def forward_fps(model, device: torch.device, dtype: torch.dtype | None, repeats: int = 20) -> float:
    cfg = model.config
    shape = (2, cfg.segment_frames, 3, cfg.region_size, cfg.region_size)
    x, source = torch.randn(shape, device=device), torch.rand(shape, device=device) * 2 - 1
    audio = torch.randn(2, cfg.segment_frames, model.audio_window, model.audio_channels, device=device)
    sigma = torch.full((2,), 0.5, device=device)

    def run():
        with torch.no_grad(), autocast(device, dtype):
            model(x, sigma, source, audio)
        if device.type == "cuda":
            torch.cuda.synchronize()

    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    seconds = (time.perf_counter() - start) / repeats
    new_frames = cfg.segment_frames - cfg.overlap_frames  # per segment, after the overlap
    return new_frames / (seconds * SamplerConfig().steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        emit(["# GPU speed", "", "No CUDA GPU is visible on this machine: nothing measured."], args.write)
        return
    device, _ = resolve_device(args.device, "fp32")
    precisions = ("fp32", "fp16") if device.type == "cuda" else ("fp32", "bf16")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    model = load_model(bundled_weights("cpu-small"), device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = tmp / "clip.mp4", tmp / "speech.wav"
        render_clip(video, 10.0, 25.0, 512, 512, seed=3)
        speech(audio, 10.0, seed=4)
        for precision in precisions:
            _, dtype = resolve_device(args.device, precision)
            fps = forward_fps(model, device, dtype)
            wall, rss, summary = run_dub(video, audio, tmp / "out.mp4", ("--device", args.device, "--dtype", precision))
            render = summary["seconds"]["render"]
            rows.append(f"| {precision} | {fps:.0f} | {wall:.2f} | {summary['output_frames'] / render:.1f} | {rss // 1024} |")
    emit([f"# Model speed on {name}", "",
          f"`python bench/gpu_speed.py --device {args.device}`, torch {torch.__version__}.", "",
          "| precision | model alone: frames of video per s | 10 s 512x512 dub: wall s | dub render stage: frames per s | peak RSS MiB |",
          "|---|---|---|---|---|", *rows], args.write)


if __name__ == "__main__":
    main()
