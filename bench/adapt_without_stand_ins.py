"""`bench/adapt.py` with adaptation as it was before stand-in pseudo-pairs: the ablation.

    python bench/adapt_without_stand_ins.py CORPUS [bench/adapt.py's options]

Each piece of the source is one rendering (no pseudo-pair, so only noise levels at or below
the pair threshold train, on arbitrary pairs), the threshold is the paper's 0.85 and the
source start is off; everything else (the sync loss, the guard, the scoring) is as
`bench/adapt.py` runs it. Results: bench/results/adapt-stand-ins/.
"""

import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

import omnisync_cli.pipeline.adapt as adapt_module
from omnisync_cli.data.pairs import ClipInfo

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class WithoutStandIns(adapt_module.AdaptConfig):
    pair_threshold: float = 0.85
    source_start_sigma: float = 0.0


def one_rendering(pieces, i: int) -> ClipInfo:
    a, b = pieces.spans[i]
    return ClipInfo(adapt_module.CHARACTER, 1, b - a)


if __name__ == "__main__":
    adapt_module.AdaptConfig = WithoutStandIns
    adapt_module.VideoPieces.info = one_rendering
    sys.path.insert(0, str(HERE))
    runpy.run_path(str(HERE / "adapt.py"), run_name="__main__")
