"""Size and speed of the OmniSync network at a preset (default cpu-small).

Prints the parameter count, the guided forward time per frame (conditional + unconditional
batched, one segment, as ModelEditor runs it) and the time of one training step
(forward + backward + AdamW) at batch 8.

    python bench/model_forward.py [--preset cpu-small] [--set attention=factorized --set patch_size=4]
    python bench/model_forward.py --weights weights/cpu-small --int8   # + int8 dynamic quantisation

    python bench/model_forward.py --weights weights/cpu-small --compile  # + torch.compile (run twice:
                                                                       # cold, then inductor's disk cache)
    python bench/model_forward.py --weights weights/cpu-small --onnx --repeats 20  # + ONNX Runtime
    python bench/model_forward.py --weights weights/cpu-small --low-precision --repeats 20  # bf16 parts

With `--low-precision` the guided forward under bf16 autocast is timed as the model runs it
(its fp32 weights cast by autocast on every call) and as a dub runs it
(`model.device.low_precision_network`: weights cast once, the exact GELU), call by call in
turn, with the velocity change; and the parts apart: one attention call of the segment's
size by PyTorch's fused kernel and by `model.layers.attend`, and GELU's tanh form against
the exact one on the MLP's activations.

With `--compile` the guided forward under bf16 autocast (the dub's precision on a CPU with
native bf16) is timed eagerly and through `torch.compile` (inductor), with the seconds the
first compiled call takes: what a dub would pay at start-up, once per process.

With `--onnx` the fp32 guided forward is timed in eager torch and through ONNX Runtime
(`model.onnx_cpu`, what a dub runs on a CPU without native bf16), alternating call by call
so that both see the same load; min and median of each, the export's seconds, and the
largest change of the velocity.

With `--int8` the guided forward is also timed with every Linear layer quantised to int8
on the fly (torch.ao's dynamic quantisation, the CPU's fbgemm kernels), and the largest and
mean change of the velocity it outputs is printed beside the speed ratio.
"""

import argparse
import copy
import statistics
import time
import warnings

import torch

from omnisync_cli.diffusion.flow import cfm_loss
from omnisync_cli.model.config import ModelConfig, get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import load_model


def parse_overrides(items: list[str]) -> dict:
    defaults = ModelConfig()
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        kind = type(getattr(defaults, key))
        out[key] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return out


def timed(fn, repeats: int) -> float:
    """Fastest of `repeats` runs after a warm-up: the 2 cores here are shared, and the
    minimum is the figure least disturbed by other processes."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--set", action="append", default=[], help="field=value override")
    parser.add_argument("--batch", type=int, default=8, help="training batch (clips)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--weights", default=None, help="time these trained weights (their config) instead")
    parser.add_argument("--int8", action="store_true", help="also time int8 dynamic quantisation of the linears")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile under bf16 autocast")
    parser.add_argument("--onnx", action="store_true", help="also time the forward through ONNX Runtime")
    parser.add_argument("--low-precision", action="store_true",
                        help="also time the bf16 forward as the model runs it and as a dub runs it, and its parts")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.weights:
        model = load_model(args.weights, torch.device("cpu"))
        cfg = model.config
    else:
        cfg = get_preset(args.preset, **parse_overrides(args.set))
        model = OmniSyncDiT(cfg)
    f, s = cfg.segment_frames, cfg.region_size
    w, c = model.audio_window, model.audio_channels
    print(f"preset {args.preset} {cfg}")
    print(f"parameters: {model.num_parameters():,}  tokens per segment: {f * cfg.tokens_per_frame}  "
          f"threads: {torch.get_num_threads()}")

    model.eval()
    x = torch.randn(2, f, 3, s, s)  # cond + uncond of one segment, as one batch
    audio = torch.randn(2, f, w, c)
    drop = torch.tensor([False, True])
    k = cfg.reference_frames  # a model with reference frames gets them, as in a dub
    refs = torch.randn(2, k, 3, s, s) if k else None
    with torch.no_grad():
        t_fwd = timed(lambda: model(x, torch.full((2,), 0.5), x, audio, drop_audio=drop, references=refs),
                      args.repeats)
    print(f"guided forward (cond+uncond batched, {f} frames{f', {k} reference frames' if k else ''}): "
          f"{t_fwd * 1000:.1f} ms per segment, {t_fwd / f * 1000:.1f} ms per frame per step")
    if args.int8:
        time_int8(model, x, audio, drop, t_fwd, args.repeats)
    if args.compile:
        time_compiled(model, x, audio, drop, args.repeats)
    if args.onnx:
        time_onnx(model, x, audio, drop, args.repeats)
    if args.low_precision:
        time_low_precision(model, x, audio, drop, args.repeats)

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    b = args.batch
    xb, src = torch.rand(b, f, 3, s, s) * 2 - 1, torch.rand(b, f, 3, s, s) * 2 - 1
    ab = torch.randn(b, f, w, c)

    def step() -> None:
        loss = cfm_loss(model, xb, torch.rand(b), torch.randn_like(xb), source=src, audio=ab,
                        **({"references": torch.randn(b, k, 3, s, s)} if k else {}))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t_step = timed(step, args.repeats)
    print(f"train step (batch {b}, forward + backward + AdamW): {t_step:.2f} s")


def time_int8(model, x, audio, drop, t_fwd: float, repeats: int) -> None:
    """The same guided forward with the linears quantised to int8 on the fly, and how far
    its velocity moves from the fp32 one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        quantised = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                           dtype=torch.qint8)
    sigma = torch.full((2,), 0.5)
    with torch.no_grad():
        t_q = timed(lambda: quantised(x, sigma, x, audio, drop_audio=drop), repeats)
        change = (quantised(x, sigma, x, audio, drop_audio=drop) - model(x, sigma, x, audio, drop_audio=drop)).abs()
    print(f"int8 dynamic: {t_q * 1000:.1f} ms per segment, {t_fwd / t_q:.2f}x the fp32 speed; velocity "
          f"change max {change.max():.4f}, mean {change.mean():.5f}")


def time_compiled(model, x, audio, drop, repeats: int) -> None:
    """The guided forward under bf16 autocast, eager and compiled by inductor, and the first
    compiled call's seconds (tracing and C++ compilation, or reading inductor's disk cache)."""
    sigma = torch.full((2,), 0.5)
    compiled = torch.compile(model, dynamic=False)

    def run(fn):
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            return fn(x, sigma, x, audio, drop_audio=drop)

    start = time.perf_counter()
    run(compiled)
    first = time.perf_counter() - start
    t_eager = timed(lambda: run(model), max(repeats, 10))
    t_compiled = timed(lambda: run(compiled), max(repeats, 10))
    change = (run(compiled).float() - run(model).float()).abs()
    print(f"bf16 autocast: eager {t_eager * 1000:.1f} ms per segment, compiled {t_compiled * 1000:.1f} ms "
          f"({t_eager / t_compiled:.2f}x); first compiled call {first:.1f} s; velocity change max "
          f"{change.max():.4f}, mean {change.mean():.5f}")


def time_onnx(model, x, audio, drop, repeats: int) -> None:
    """Eager fp32 and ONNX Runtime, call by call in turn (the export not cached)."""
    import tempfile

    from omnisync_cli.model.onnx_cpu import OnnxNetwork

    sigma = torch.full((2,), 0.5)
    with tempfile.TemporaryDirectory() as cache:
        network = OnnxNetwork(model, cache_dir=cache)
        start = time.perf_counter()
        network(x, sigma, x, audio, drop_audio=drop)
        first = time.perf_counter() - start
        eager, onnx = [], []
        with torch.no_grad():
            for _ in range(max(repeats, 10)):
                for fn, times in ((lambda: model(x, sigma, x, audio, drop_audio=drop), eager),
                                  (lambda: network(x, sigma, x, audio, drop_audio=drop), onnx)):
                    start = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - start)
            change = (network(x, sigma, x, audio, drop_audio=drop) - model(x, sigma, x, audio, drop_audio=drop)).abs()
    med = statistics.median
    print(f"fp32 guided forward: eager min {min(eager) * 1000:.1f} / median {med(eager) * 1000:.1f} ms, "
          f"ONNX Runtime min {min(onnx) * 1000:.1f} / median {med(onnx) * 1000:.1f} ms "
          f"({min(eager) / min(onnx):.2f}x / {med(eager) / med(onnx):.2f}x); first call (export + session) "
          f"{first:.1f} s; velocity change max {change.max():.5f}")


def alternating(fns: dict, repeats: int) -> dict:
    """{name: (min, median) seconds} of each function, called in turn `repeats` times."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def time_low_precision(model, x, audio, drop, repeats: int) -> None:
    """bf16 autocast: the model as it is against its low-precision copy, then the parts."""
    import torch.nn.functional as F

    from omnisync_cli.model.device import low_precision_network
    from omnisync_cli.model.layers import attend

    sigma = torch.full((2,), 0.5)
    network = low_precision_network(model, torch.bfloat16)

    def run(fn):
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            return fn(x, sigma, x, audio, drop_audio=drop).float()

    with torch.no_grad():
        exact = model(x, sigma, x, audio, drop_audio=drop)
    result = alternating({"model": lambda: run(model), "copy": lambda: run(network)}, max(repeats, 10))
    for name, label in (("model", "model under autocast"), ("copy", "low-precision copy")):
        change = (run(model if name == "model" else network) - exact).abs()
        print(f"bf16 {label}: min {result[name][0] * 1000:.1f} / median {result[name][1] * 1000:.1f} ms per segment; "
              f"velocity change from fp32 max {change.max():.4f}, mean {change.mean():.5f}")
    cfg = model.config
    tokens, heads = cfg.segment_frames * cfg.tokens_per_frame, cfg.num_heads
    q, k, v = (torch.randn(2, heads, tokens, cfg.hidden_size // heads).to(torch.bfloat16) for _ in range(3))
    hidden = torch.randn(2, tokens, int(cfg.hidden_size * cfg.mlp_ratio)).to(torch.bfloat16)
    with torch.no_grad():
        parts = alternating({"fused": lambda: F.scaled_dot_product_attention(q, k, v),
                             "attend": lambda: attend(q, k, v),
                             "tanh": lambda: F.gelu(hidden, approximate="tanh"),
                             "exact": lambda: F.gelu(hidden)}, max(repeats, 30))
        exact_attention = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
        errors = {name: (out.float() - exact_attention).abs().max()
                  for name, out in (("fused", F.scaled_dot_product_attention(q, k, v)), ("attend", attend(q, k, v)))}
    print(f"one attention call (2 x {heads} heads x {tokens} tokens, bf16): fused min {parts['fused'][0] * 1000:.2f} ms "
          f"(largest error {errors['fused']:.4f}), attend min {parts['attend'][0] * 1000:.2f} ms "
          f"(largest error {errors['attend']:.4f})")
    print(f"GELU on (2, {tokens}, {hidden.shape[-1]}) bf16: tanh form min {parts['tanh'][0] * 1000:.2f} ms, "
          f"exact min {parts['exact'][0] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
