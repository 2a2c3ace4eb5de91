"""The network's forward on the CPU through ONNX Runtime, for fp32 dubs.

On a CPU without native bf16 the dub runs the network in fp32; ONNX Runtime's kernels run
that forward faster and steadier than eager PyTorch (`bench/model_forward.py --onnx`). `OnnxNetwork`
is called exactly as `OmniSyncDiT.forward` is (the guided model and the sampler do not know
which one runs). Each set of given arguments (text or not, references or not) is a graph of
its own, exported from the loaded model on first use with a free batch size, and so is each
segment length (the tracer fixes it: the dub's own test of the model on the source's speech
edits shorter segments than the dub, and on a CPU without native bf16 a dub crashed there, in
the graph of the first length it had called with). Exported graphs
are kept in a cache folder keyed by the weights, the config and the library versions, so a
later dub with the same model skips the export (about 1.5 s).
"""

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

# Argument order of OmniSyncDiT.forward after (x, sigma, source, audio).
OPTIONAL_INPUTS = ("text", "drop_audio", "drop_text", "references")
OPSET = 17
CACHED_GRAPHS = 8  # the cache keeps the graphs of the last few models used (each ~ the weights' size)


def onnx_runtime_available() -> bool:
    """Whether ONNX Runtime and the exporter's `onnx` package (torch.onnx.export needs it) are
    installed: found, not imported. Importing `onnx` (its protobuf modules) took 0.12-0.15 s of
    every dub's model load, which a dub whose graphs are cached never uses; ONNX Runtime is
    imported where a session opens."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "omnisync" / "onnx"


class _Forward(torch.nn.Module):
    """OmniSyncDiT.forward with the given optional arguments as positional inputs."""

    def __init__(self, model: torch.nn.Module, given: tuple[str, ...]):
        super().__init__()
        self.model, self.given = model, given

    def forward(self, x, sigma, source, audio, *optional):
        return self.model(x, sigma, source, audio, **dict(zip(self.given, optional)))


class OnnxNetwork:
    """`model`'s forward, fp32, through ONNX Runtime sessions of `threads` threads."""

    def __init__(self, model: torch.nn.Module, threads: int | None = None, cache_dir: Path | None = None,
                 int8: bool = False):
        self.model = model.eval()
        self.int8 = int8  # weights quantised to int8, activations per call (`quantised`)
        self.threads = threads or torch.get_num_threads()
        self.cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
        self._sessions: dict[tuple[str, ...], object] = {}
        self._weights_key = _weights_key(model)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, source: torch.Tensor, audio: torch.Tensor,
                 text: torch.Tensor | None = None, drop_audio: torch.Tensor | None = None,
                 drop_text: torch.Tensor | None = None, references: torch.Tensor | None = None) -> torch.Tensor:
        b = x.shape[0]
        sigma = torch.as_tensor(sigma, dtype=torch.float32).reshape(-1).expand(b).contiguous()
        optional = dict(text=text, drop_audio=drop_audio, drop_text=drop_text, references=references)
        given = tuple(name for name in OPTIONAL_INPUTS if optional[name] is not None)
        inputs = dict(x=x, sigma=sigma, source=source, audio=audio, **{k: optional[k] for k in given})
        session = self._session(given, inputs, frames=x.shape[1])
        wanted = {i.name for i in session.get_inputs()}  # the exporter drops inputs the graph ignores
        feed = {name: value.detach().cpu().float().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
                for name, value in inputs.items() if name in wanted}
        return torch.from_numpy(session.run(None, feed)[0]).to(x.device)

    def _session(self, given: tuple[str, ...], example: dict[str, torch.Tensor], frames: int):
        """The session for these arguments and segments of `frames` frames: from the cached graph,
        else exported (and cached)."""
        key = (given, frames)
        if key not in self._sessions:
            name = f"{self._weights_key}-{'-'.join(given) or 'plain'}-{frames}f{'-matmul-int8' if self.int8 else ''}"
            path = self.cache_dir / f"{name}.onnx"
            session = None
            cached = _read_cached(path)
            if cached is not None:
                try:
                    session = self._open(cached)
                except Exception:  # noqa: BLE001  (a damaged entry; ORT raises its own Exception types)
                    session = None
            if session is None:
                graph = export_graph(self.model, given, example)
                graph = quantised(graph) if self.int8 else graph
                _write_cached(path, graph)
                session = self._open(graph)
            self._sessions[key] = session
        return self._sessions[key]

    def _open(self, graph: bytes):
        import onnxruntime
        # errors only: its warnings (a telemetry id it cannot store in a read-only cache) are not the user's
        onnxruntime.set_default_logger_severity(3)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _read_cached(path: Path) -> bytes | None:
    try:
        graph = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):  # a read-only cache (another user's, a read-only mount) is still read
        os.utime(path)  # recently used: pruned last
    return graph


def _write_cached(path: Path, graph: bytes) -> None:
    """Written whole or not at all; a read-only cache only costs the next dub an export."""
    part = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
            part = tmp.name
            tmp.write(graph)
        os.replace(part, path)
        prune_cache(path.parent, CACHED_GRAPHS)
    except OSError:
        if part is not None:
            Path(part).unlink(missing_ok=True)


def prune_cache(folder: Path, keep: int) -> None:
    """Delete all but the `keep` most recently used graphs in `folder`."""
    graphs = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in graphs[keep:]:
        old.unlink(missing_ok=True)


def export_graph(model: torch.nn.Module, given: tuple[str, ...], example: dict[str, torch.Tensor]) -> bytes:
    """The ONNX graph of model.forward(x, sigma, source, audio, **given), batch size free."""
    names = ["x", "sigma", "source", "audio", *given]
    args = tuple(example[name].float() if example[name].is_floating_point() else example[name] for name in names)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes taken as constants (the batch is free)
        torch.onnx.export(_Forward(model, given).eval(), args, buffer, input_names=names, output_names=["velocity"],
                          dynamic_axes={name: {0: "batch"} for name in [*names, "velocity"]},
                          opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


QUANTISED_LAYERS = ("MatMul",)


def quantised(graph: bytes, layers: tuple[str, ...] | None = QUANTISED_LAYERS) -> bytes:
    """The graph with the weights of its `layers` (ONNX op types; None: every kind ONNX Runtime
    takes) in int8 and their inputs quantised on each call (ONNX Runtime's dynamic
    quantisation). By default the matrix products only: its ConvInteger
    kernel ran the patch and audio convolutions slower than their fp32 kernel (the shipped
    model's guided forward of one segment, 2 threads, 12 rounds in turn on an AVX2 CPU: 68.9 ms
    median against 74.0 ms with the convolutions in int8 too, 82.5 ms fp32), at the same error
    against fp32 (rms 0.0043 against 0.0042 of an output of rms 1.14: bench/results/int8-matmul/)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process the graph first
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "int8.onnx"
            quantize_dynamic(onnx.load_from_string(graph), out, weight_type=QuantType.QInt8,
                             op_types_to_quantize=None if layers is None else list(layers))
            return out.read_bytes()
    finally:
        logging.getLogger().setLevel(level)


def _weights_key(model: torch.nn.Module) -> str:
    """A name for these weights and config under these library versions (the exporter's read from
    its package metadata: importing it costs a dub whose graphs are cached 0.12-0.15 s)."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps(asdict(model.config), sort_keys=True, default=str).encode())
    digest.update(f"torch {torch.__version__} onnx {importlib.metadata.version('onnx')} opset {OPSET}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
