"""Quality benchmark: dub the benchmark clips with each variant, score against the ground truth.

Scores: mouth PSNR/SSIM and frame PSNR vs the ground-truth dubs, change outside the working
region vs the source, flicker, success rate; per category and overall.

    python bench/quality.py --corpus /work/corpus-default --weights DIR --clips 6 \
        --variants no-op,ds-cfg --out bench/results/quality
    python bench/quality.py --corpus C --checkpoint runs/cpu-small/checkpoint.pt   # unfinished run

Writes results.json, report.md, mouth_psnr.png, strip.png and the dubbed videos into --out,
and prints the overall table.
"""

import argparse
import sys
from pathlib import Path

import cv2
import torch

from omnisync_cli.bench.export import export_weights
from omnisync_cli.bench.report import summary_table
from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.scores import DEFAULT_METRICS, SuccessRule
from omnisync_cli.bench.variants import VARIANTS, get_variants
from omnisync_cli.errors import OmniSyncError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder with bench/manifest.json")
    parser.add_argument("--weights", type=Path, help="model weights directory (default: the bundled model)")
    parser.add_argument("--checkpoint", type=Path, help="benchmark the EMA weights of a training checkpoint.pt")
    parser.add_argument("--clips", default=None,
                        help="N clips spread over the categories, or comma-separated clip ids (default: all)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--out", type=Path, default=Path("bench/results/quality"),
                        help="results folder (results.json, report.md, PNGs, videos/)")
    parser.add_argument("--max-drop", type=float, default=SuccessRule.max_mouth_drop_db,
                        help="success: mouth PSNR at most this many dB below the no-op's")
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenCV threads (0: their defaults)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    clips = None
    if args.clips:
        clips = int(args.clips) if args.clips.isdigit() else [c.strip() for c in args.clips.split(",")]
    try:
        variants = get_variants(args.variants)
        weights, label = args.weights, ""
        if args.checkpoint is not None:  # kept beside the results, so the run can be repeated
            weights = args.out / "weights"
            step = export_weights(args.checkpoint, weights)
            label = f"EMA weights of {args.checkpoint} at step {step}"
            print(label, file=sys.stderr)
        results = run_benchmark(args.corpus, variants, args.out, clips=clips, weights=weights,
                                progress=lambda line: print(line, file=sys.stderr, flush=True),
                                rule=SuccessRule(max_mouth_drop_db=args.max_drop), label=label)
    except OmniSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if label:
        print(label + "\n")
    print(summary_table(results, DEFAULT_METRICS, "all"))
    print(f"\nper category: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
