"""omnisync bench with the int8 network of before stop 48 registered as a variant, "int8-all-layers":
ONNX Runtime's dynamic quantisation of every layer it takes (matrix products and convolutions),
against the default's matrix products only (experiment only: before / after in one run)."""
import sys
import tempfile
from pathlib import Path

from omnisync_cli.cli import app  # noqa: F401  (import order)
import omnisync_cli.guidance.dscfg  # noqa: F401
from omnisync_cli.bench import variants as V
from omnisync_cli.model import editor as E
from omnisync_cli.model import onnx_cpu as O


def all_layers(graph: bytes) -> bytes:
    return plain_quantised(graph, None)  # every layer ONNX Runtime takes


plain_quantised = O.quantised


class AllLayers(O.OnnxNetwork):
    def _session(self, given, example, frames):
        keep = O.quantised
        O.quantised = all_layers
        try:
            return super()._session(given, example, frames)
        finally:
            O.quantised = keep


ALL_CACHE = Path(tempfile.gettempdir()) / "omnisync-int8-all-layers"
plain_network_for = E.ModelEditor._network_for


def network_for(self, sampler):
    # the variant's marker: runtime "onnx-int8", which is what "auto" (the defaults) picks on a CPU
    # without native bf16; only the quantised layers differ
    if sampler.runtime == "onnx-int8":
        return AllLayers(self.model, int8=True, cache_dir=ALL_CACHE)
    return plain_network_for(self, sampler)


E.ModelEditor._network_for = network_for
V.VARIANTS["int8-all-layers"] = V.Variant("int8-all-layers", "the defaults with every layer ONNX Runtime can quantise "
                                          "in int8 (before stop 48: convolutions too)", E.SamplerConfig(runtime="onnx-int8"))
app(sys.argv[1:])
