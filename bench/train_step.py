"""Training throughput of the real loop (data, Eq. 3 pairs, CFM step, EMA) at a preset.

Builds a small synthetic corpus in a temporary folder unless --corpus is given, runs
`train()` for a few steps and reports the steady-state rate (the first steps, which
import, build and warm up, are left out) and the load average, since on shared cores the
figure depends on what else runs. The CPU seconds per step (this process's, all its
threads) are less disturbed: with --threads 1 they approximate the wall time of a step on
one idle core.

    python bench/train_step.py [--preset cpu-small] [--batch 8] [--steps 14] [--threads 0]
"""

import argparse
import os
import tempfile
import time

from omnisync_cli.data.corpus import CorpusConfig, build_corpus
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.loop import train

WARMUP = 4  # steps left out of the rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu-small")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--threads", type=int, default=0, help="0: torch's default")
    ap.add_argument("--corpus", default=None, help="corpus folder (default: build a small one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = os.path.join(tmp, "corpus")
            build_corpus(corpus, CorpusConfig(identities=6, clips_per_identity=2,
                                              bench_identities_per_group=0, bench_clips_per_identity=1))
        stamps = []
        load_before = os.getloadavg()[0]
        config = TrainConfig(preset=args.preset, out_dir=os.path.join(tmp, "run"), steps=args.steps,
                             batch_size=args.batch, sample_every=0, checkpoint_every=10 ** 9,
                             log_every=args.steps, threads=args.threads)
        train(config, corpus, progress=False,
              on_step=lambda info: stamps.append((time.perf_counter(), time.process_time())))
        n = len(stamps) - WARMUP
        per_step = (stamps[-1][0] - stamps[WARMUP - 1][0]) / n
        cpu_per_step = (stamps[-1][1] - stamps[WARMUP - 1][1]) / n
        print(f"{args.preset} batch {args.batch} threads {args.threads or 'default'}: "
              f"{1 / per_step:.3f} steps/s, {args.batch / per_step:.2f} samples/s wall; "
              f"{cpu_per_step:.2f} CPU-s per step "
              f"(load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
              f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
