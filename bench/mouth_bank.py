"""What the mouth bank (`dub --mouth-bank`, pipeline.mouth_bank) lends, with and without the network.

    python bench/mouth_bank.py CORPUS --out DIR [--clips 8] [--weights DIR] [--true-track] [--threads 1]

One benchmark run (`omnisync bench`'s runner, its report and JSON in DIR) of four dubs: the
no-op, the defaults, the defaults with the mouth bank, and the bank's lent mouths pasted as
they are (`bank-only`: no network edit). `--true-track` dubs at the generator's own mouth
track instead of the tracker's, to separate what the bank lends from where the tracker puts it.
"""

import argparse
from pathlib import Path

import torch

from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import VARIANTS, Variant
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.pipeline.editor import default_weights_dir


class LentMouthsOnly(ModelEditor):
    """The model's audio reading (which picks the donors), but no edit: the crops it is shown."""

    def edit(self, crops, frame_times, mouth_xy, audio, references=None):
        return crops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--true-track", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights = args.weights or default_weights_dir()
    bank_only = Variant("bank-only", "the mouth bank's lent mouths pasted as they are (no network edit)",
                        SamplerConfig(), factory=lambda _: LentMouthsOnly.from_dir(weights), mouth_bank="everywhere")
    variants = [VARIANTS["no-op"], VARIANTS["ds-cfg"], VARIANTS["mouth-bank"], bank_only]
    run_benchmark(args.corpus, variants, args.out, clips=args.clips, weights=args.weights, progress=print,
                  true_track="all" if args.true_track else "")


if __name__ == "__main__":
    main()
