"""A benchmark run's mouth error split into its steady and its moving part, per clip.

    python bench/steady_error.py RUN_DIR CORPUS [--variant ds-cfg] [--write FILE]

For every clip a variant dubbed: the mean squared error of its mouth crops (the benchmark's, at
the true mouth) against the ground truth, split into the error of the time-averaged crop (steady:
a look that no frame of speech asks for) and the rest (moving: timing and shape), beside the
no-op's. An edit that follows the speech but changes the mouth's steady look shows a moving error
below the no-op's and a steady error above it.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import load_manifest, read_video

from markdown_out import emit  # bench/markdown_out.py


def split_error(output: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(steady, moving) parts of the mean squared error; they add up to the whole."""
    error = output - truth
    steady = error.mean(axis=0)
    return float((steady ** 2).mean()), float(((error - steady) ** 2).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--variant", default="ds-cfg")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    results = json.loads((args.run / "results.json").read_text())
    dubbed = {c["id"] for c in results["clips"] if c["variants"].get(args.variant, {}).get("ok")}
    lines = [f"# Steady and moving mouth error: `python bench/steady_error.py {args.run.name} {args.corpus.name} "
             f"--variant {args.variant}`", "",
             "| clip | mouth PSNR ours (no-op) | steady error ours (no-op) | moving error ours (no-op) |",
             "|---|---|---|---|"]
    steady_worse = moving_better = 0
    for clip in load_manifest(args.corpus):
        if clip.id not in dubbed:
            continue
        source, _ = read_video(clip.source)
        truth, _ = read_video(clip.target)
        ours, _ = read_video(args.run / "videos" / args.variant / f"{clip.id}.mp4")
        n = min(len(source), len(truth), len(ours))
        boxes = metrics.mouth_boxes(clip.mouth_xy, clip.face_width)[:n]
        s, t, o = (metrics.crop_mouths(v[:n], boxes).astype(np.float64) for v in (source, truth, ours))
        (o_steady, o_moving), (s_steady, s_moving) = split_error(o, t), split_error(s, t)
        steady_worse += o_steady > s_steady
        moving_better += o_moving < s_moving
        lines.append(f"| {clip.id} | {metrics.clip_psnr(o, t):.2f} ({metrics.clip_psnr(s, t):.2f}) | "
                     f"{o_steady:.1f} ({s_steady:.1f}) | {o_moving:.1f} ({s_moving:.1f}) |")
    lines += ["", f"Steady error above the no-op's on {steady_worse} of {len(dubbed)} clips; moving error below "
              f"the no-op's on {moving_better}."]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
