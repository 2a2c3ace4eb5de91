"""How exact must the mouth track be? The benchmark dubbed at the generator's true mouth
track, made wrong on purpose.

    python bench/track_tolerance.py CORPUS --scale 1.25 [--dx 0.05] [--dy 0] [--jitter 0] [--clips 8]

The region side is multiplied by `--scale`; the centre moves by (`--dx`, `--dy`) face widths
(y down) plus a smooth random wobble of `--jitter` face widths (seeded); the dub, the scores
and the no-op reference are `omnisync bench --true-track`'s. Prints the DS-CFG variant's
figures over all clips.
"""

import argparse
import dataclasses

import numpy as np
import torch

import omnisync_cli.bench.runner as runner
from omnisync_cli.bench.variants import get_variants

KEYS = ("mouth_psnr", "sync_r", "open_r", "edit_on_mouth", "silence_ratio", "flicker")


def perturbed(make_track, scale: float, dx: float, dy: float, jitter: float):
    """`make_track` (runner.truth_track) with its region scaled and moved."""
    def track(clip, pipeline_track):
        t = make_track(clip, pipeline_track)
        width = t.side.copy()  # REGION_SCALE 1: the side is the face width
        noise = np.random.default_rng(0).standard_normal((len(t), 2)) * jitter
        kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
        noise = np.stack([np.convolve(np.pad(noise[:, k], 6, mode="edge"), kernel / kernel.sum(), "valid")
                          for k in range(2)], 1)
        x = (t.mouth_x + (dx + noise[:, 0]) * width).astype(np.float32)
        y = (t.mouth_y + (dy + noise[:, 1]) * width).astype(np.float32)
        return dataclasses.replace(t, cx=x, cy=y, mouth_x=x.copy(), mouth_y=y.copy(),
                                   side=(width * scale).astype(np.float32))
    return track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--dx", type=float, default=0.0)
    parser.add_argument("--dy", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--out", default="/tmp/track-tolerance")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runner.truth_track = perturbed(runner.truth_track, args.scale, args.dx, args.dy, args.jitter)
    results = runner.run_benchmark(args.corpus, get_variants("no-op,ds-cfg"), args.out, clips=args.clips,
                                   true_track=True)
    figures = results["summary"]["ds-cfg"]["all"]
    print(f"scale {args.scale} dx {args.dx} dy {args.dy} jitter {args.jitter}: "
          + ", ".join(f"{k} {figures[k]:.3f}" for k in KEYS))


if __name__ == "__main__":
    main()
