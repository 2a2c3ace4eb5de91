"""`omnisync bench` with the one-step peak sweep's variants registered (stop 47; README.md here).

    python bench/results/one-step/bench_one_step.py bench CORPUS --clips 24 --variants steps1-peak1.5 --threads 2 --out OUT
"""
import sys
from omnisync_cli.bench import variants as V
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.guidance.dscfg import GuidanceConfig
for peak in (1.25, 1.5, 1.75, 2.5):
    name = f"steps1-peak{peak:g}"
    V.VARIANTS[name] = V.Variant(name, f"1 step, DS-CFG peak {peak:g}", SamplerConfig(steps=1, guidance=GuidanceConfig(w_peak=peak)))
from omnisync_cli.cli import app
app(sys.argv[1:])
