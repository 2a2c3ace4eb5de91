"""`omnisync bench` with one noise image for every frame of every segment (stop 47, not kept; README.md here).

    python bench/results/one-step/bench_one_noise.py bench CORPUS --clips 24 --variants shared-steps1-peak1.25 --threads 2 --out OUT
"""
import sys, torch
from omnisync_cli.model import editor as E
_randn = torch.randn
def shared_randn(*shape, generator=None, **kw):
    size = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)) else shape
    if len(size) == 5:
        g = torch.Generator().manual_seed(1234)
        one = _randn((size[0], 1, *size[2:]), generator=g, **kw)
        return one.expand(*size).contiguous()
    return _randn(*shape, generator=generator, **kw)
E.torch.randn = shared_randn
from omnisync_cli.bench import variants as V
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.guidance.dscfg import GuidanceConfig
for peak in (1.25, 1.5):
    name = f"shared-steps1-peak{peak:g}"
    V.VARIANTS[name] = V.Variant(name, f"1 step, DS-CFG peak {peak:g}, one noise for all frames", SamplerConfig(steps=1, guidance=GuidanceConfig(w_peak=peak)))
V.VARIANTS["shared-two-steps"] = V.Variant("shared-two-steps", "2 steps peak 2, one noise for all frames", SamplerConfig(steps=2, guidance=GuidanceConfig(w_peak=2.0)))
from omnisync_cli.cli import app
app(sys.argv[1:])
