"""One benchmark run: the session-start default (stage 6, no bank) against today's (stage 7, bank in pauses)."""
import sys
from pathlib import Path
import torch
from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import VARIANTS, Variant
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import load_editor
torch.set_num_threads(2)
before = Variant("before", "stage 6 weights, --mouth-bank off (the defaults at d3e264d)", SamplerConfig(),
                 factory=lambda _: load_editor(Path("/work/runs/s26/stage6w"), SamplerConfig(), ""), mouth_bank="off")
after = Variant("after", "stage 7 weights, the defaults (bank in the new speech's pauses)", SamplerConfig())
run_benchmark(Path(sys.argv[1]), [VARIANTS["no-op"], before, after], Path(sys.argv[2]), clips=int(sys.argv[3]), weights=None, progress=print)
