"""Which layers of the network to quantise to int8 on the CPU: all that ONNX Runtime's dynamic
quantisation takes (matrix products and convolutions) or the matrix products alone.

The shipped network's guided forward of one segment (batch 2: conditional + unconditional, as
a dub calls it) is exported once (`model.onnx_cpu.export_graph`), quantised both ways, and
timed call by call in turn (`--rounds` rounds of 10 calls each), so that both see the same
load; the error of each against the fp32 network in PyTorch is printed beside it.

    python bench/int8_layers.py [--weights weights/cpu-small] [--rounds 12] [--threads 2] [--write F]
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.model.onnx_cpu import export_graph, quantised
from omnisync_cli.model.weights import load_model


def example_inputs(model) -> dict[str, torch.Tensor]:
    """A segment's guided call: noise-blended crops, the source crops, audio windows, the
    unconditional half's audio dropped (values do not move the time; the error is typical)."""
    config, g = model.config, torch.Generator().manual_seed(0)
    f, s = config.segment_frames, config.region_size
    source = torch.rand(1, f, 3, s, s, generator=g) * 2 - 1
    x = 0.08 * source + 0.92 * torch.randn(1, f, 3, s, s, generator=g)
    audio = torch.randn(1, f, model.audio_window, model.audio_channels, generator=g)
    return dict(x=x.repeat(2, 1, 1, 1, 1), sigma=torch.full((2,), 0.92), source=source.repeat(2, 1, 1, 1, 1),
                audio=audio.repeat(2, 1, 1, 1), drop_audio=torch.tensor([False, True]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=Path("weights/cpu-small"))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    import onnxruntime

    model = load_model(args.weights).eval()
    given = example_inputs(model)
    with torch.no_grad():
        reference = model(given["x"], given["sigma"], given["source"], given["audio"],
                          drop_audio=given["drop_audio"]).numpy()
    graph = export_graph(model, ("drop_audio",), given)
    graphs = {"fp32": graph, "int8, matrix products and convolutions": quantised(graph, None),
              "int8, matrix products only (the default)": quantised(graph)}
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    sessions, errors, times = {}, {}, {name: [] for name in graphs}
    for name, g in graphs.items():
        session = onnxruntime.InferenceSession(g, options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        feed = {k: v.numpy() for k, v in given.items() if k in wanted}
        out = session.run(None, feed)[0]
        errors[name] = float(np.sqrt(((out - reference) ** 2).mean()))
        sessions[name] = (session, feed)
        session.run(None, feed)  # warm
    for _ in range(args.rounds):
        for name, (session, feed) in sessions.items():
            start = time.perf_counter()
            for _ in range(10):
                session.run(None, feed)
            times[name].append((time.perf_counter() - start) / 10 * 1000)
    lines = ["# int8 layers of the network on the CPU", "",
             f"`python bench/int8_layers.py --rounds {args.rounds} --threads {args.threads}`: the guided forward of one "
             f"segment (batch 2) of `{args.weights}`, {args.threads} threads, graphs in turn.", "",
             "| graph | median ms per call | each round | rms error against fp32 torch (output rms "
             f"{float(np.sqrt((reference ** 2).mean())):.3f}) | size MB |", "|---|---|---|---|---|"]
    for name in graphs:
        lines.append(f"| {name} | {statistics.median(times[name]):.1f} | "
                     f"{' / '.join(f'{t:.0f}' for t in times[name])} | {errors[name]:.4f} | {len(graphs[name]) / 1e6:.1f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
