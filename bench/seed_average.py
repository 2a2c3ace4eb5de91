"""The dub with each segment's edit averaged over two noise seeds: does the edit's error
come from the sampler's noise (variance) or from the network (bias)? (stop 24)

    python bench/seed_average.py CORPUS N_CLIPS OUT    # no-op and seed-avg2, one thread

Compare with `omnisync bench CORPUS --clips N --variants no-op,ds-cfg --threads 1`
(results: bench/results/seed-average/).
"""

import sys

import cv2
import numpy as np
import torch

from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import VARIANTS, Variant
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import load_editor


class SeedAverage:
    """The default editor twice, with noise seeds 0 and 1; their edits averaged."""

    def __init__(self, weights):
        self.a = load_editor(weights, SamplerConfig(seed=0), "")
        self.b = load_editor(weights, SamplerConfig(seed=1), "")

    def __getattr__(self, name):
        return getattr(self.a, name)

    def edit(self, crops, times, mouth_xy, audio, **pictures):
        first = self.a.edit(crops, times, mouth_xy, audio, **pictures).astype(np.float32)
        second = self.b.edit(crops, times, mouth_xy, audio, **pictures).astype(np.float32)
        return np.rint((first + second) / 2).astype(np.uint8)


def main() -> None:
    corpus, clips, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    variant = Variant("seed-avg2", "DS-CFG, each segment's edit averaged over two noise seeds", SamplerConfig(),
                      factory=SeedAverage)
    run_benchmark(corpus, [VARIANTS["no-op"], variant], out, clips=clips, progress=print)


if __name__ == "__main__":
    main()
