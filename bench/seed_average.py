"""The dub with each segment's edit averaged over two noise seeds: does the edit's error
come from the sampler's noise (variance) or from the network (bias)? (stop 24)

    python bench/seed_average.py CORPUS N_CLIPS OUT    # no-op and seed-avg2, one thread

Compare with `omnisync bench CORPUS --clips N --variants no-op,ds-cfg --threads 1`.
"""
import sys
import numpy as np
import cv2, torch
from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import Variant
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import load_editor

torch.set_num_threads(1); cv2.setNumThreads(1)

class SeedAverage:
    def __init__(self, weights):
        self.a = load_editor(weights, SamplerConfig(seed=0), "")
        self.b = load_editor(weights, SamplerConfig(seed=1), "")
    def __getattr__(self, name):
        return getattr(self.a, name)
    def edit(self, crops, times, mouth_xy, audio, **kw):
        ea = self.a.edit(crops, times, mouth_xy, audio, **kw).astype(np.float32)
        eb = self.b.edit(crops, times, mouth_xy, audio, **kw).astype(np.float32)
        return np.rint((ea + eb) / 2).astype(np.uint8)

variant = Variant("seed-avg2", "DS-CFG, each segment's edit averaged over two noise seeds", SamplerConfig(),
                  factory=SeedAverage)
corpus, clips, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from omnisync_cli.bench.variants import VARIANTS
run_benchmark(corpus, [VARIANTS["no-op"], variant], out, clips=clips, progress=print)
