"""One benchmark run: the shipped model (stage 7) against fine-tunes of it grown an edit gate.

    python bench/results/edit-gate/compare.py CORPUS OUT CLIPS RUN_DIR [RUN_DIR ...]
"""
import sys
from pathlib import Path

import torch

from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import VARIANTS, Variant
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import load_editor

torch.set_num_threads(2)


def gated(run: Path) -> Variant:
    return Variant(run.name, f"the defaults with the weights of {run}", SamplerConfig(),
                   factory=lambda _: load_editor(run, SamplerConfig(), ""))


variants = [VARIANTS["no-op"], VARIANTS["ds-cfg"], *(gated(Path(r)) for r in sys.argv[4:])]
run_benchmark(Path(sys.argv[1]), variants, Path(sys.argv[2]), clips=int(sys.argv[3]), weights=None, progress=print)
