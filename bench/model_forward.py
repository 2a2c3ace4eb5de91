"""Size and speed of the OmniSync network at a preset (default cpu-small).

Prints the parameter count, the guided forward time per frame (conditional + unconditional
batched, one segment, as ModelEditor runs it) and the time of one training step
(forward + backward + AdamW) at batch 8.

    python bench/model_forward.py [--preset cpu-small] [--set attention=factorized --set patch_size=4]
"""

import argparse
import time
import torch

from omnisync_cli.diffusion.flow import cfm_loss
from omnisync_cli.model.config import ModelConfig, get_preset
from omnisync_cli.model.dit import OmniSyncDiT


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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
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
    with torch.no_grad():
        t_fwd = timed(lambda: model(x, torch.full((2,), 0.5), x, audio, drop_audio=drop), args.repeats)
    print(f"guided forward (cond+uncond batched, {f} frames): {t_fwd * 1000:.1f} ms per segment, "
          f"{t_fwd / f * 1000:.1f} ms per frame per step")

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    b = args.batch
    xb, src = torch.rand(b, f, 3, s, s) * 2 - 1, torch.rand(b, f, 3, s, s) * 2 - 1
    ab = torch.randn(b, f, w, c)

    def step() -> None:
        loss = cfm_loss(model, xb, torch.rand(b), torch.randn_like(xb), source=src, audio=ab)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t_step = timed(step, args.repeats)
    print(f"train step (batch {b}, forward + backward + AdamW): {t_step:.2f} s")


if __name__ == "__main__":
    main()
