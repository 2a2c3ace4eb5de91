"""Speed of the model on a GPU in fp16 (the design's default there) beside fp32 and bf16, and of
one training step of the shipped recipe (issue: real-time dubbing, GPU path; issue: default
model, the command a GPU user trains with). Without a visible CUDA GPU it says so and measures
nothing; `--device cpu` runs the same measurements on the CPU, to check the script and for a
CPU figure beside the GPU's.

    python bench/gpu_speed.py [--device cuda] [--write bench/results/gpu.md]

1. The guided forward of one segment (conditional + unconditional batched, as the sampler runs
   it) of the shipped model, in frames of output video per second at the default 2 sampler
   steps and the segments' overlap.
2. The render stage: `ModelEditor.edit` over the overlapping segments of a 10 s 25 fps clip
   (`pipeline.segments.edit_in_segments`, as the dub runs them) at the
   defaults (progressive init + DS-CFG, 2 steps), on stand-in crops (smooth random images) and
   stand-in audio features of the shipped frontend's shape; and how far the fp16 and bf16
   edits land from the fp32 edit (PSNR over the crops, 8-bit): a half-precision overflow or
   NaN shows as a low figure.
3. One optimizer step of the shipped recipe (`train.loop.batch_loss` with its mouth, viseme
   and sync-expert losses, AdamW, the EMA update) on random batches, at several batch sizes,
   under the precision `omnisync train` picks (bf16 autocast on GPUs that have it).
4. A whole `omnisync dub` of a 10 s 512x512 clip, where the pipeline's dependencies (PyAV, the
   CTranslate2 Whisper encoder) are installed; the row says when they are not.
"""

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.bench.metrics import psnr
from omnisync_cli.bench.sync import BUNDLED_SYNC_EXPERT, load_sync_expert
from omnisync_cli.bundled import bundled_weights
from omnisync_cli.model.audio import AudioFeatures, frontend_rate
from omnisync_cli.model.device import autocast, cpu_has_native_bf16, resolve_device
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.model.weights import load_model
from omnisync_cli.pipeline.segments import SegmentItem, edit_in_segments
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.ema import ema_update
from omnisync_cli.train.loop import batch_loss, training_precision

CLIP_SECONDS, CLIP_FPS = 10.0, 25.0
# The shipped model's last stage (weights/cpu-small/training.json): the losses a step computes.
RECIPE = TrainConfig(pair_threshold=0.1, loss_weighting="x", mouth_loss_weight=10, viseme_loss_weight=1,
                     sync_loss_weight=0.1, output_flow=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(run, device: torch.device, repeats: int) -> float:
    """Seconds per call of `run`, after one warm-up call."""
    run()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def forward_fps(model, device: torch.device, dtype: torch.dtype | None, repeats: int = 20) -> float:
    cfg = model.config
    shape = (2, cfg.segment_frames, 3, cfg.region_size, cfg.region_size)
    x, source = torch.randn(shape, device=device), torch.rand(shape, device=device) * 2 - 1
    audio = torch.randn(2, cfg.segment_frames, model.audio_window, model.audio_channels, device=device)
    sigma = torch.full((2,), 0.5, device=device)

    def run():
        with torch.no_grad(), autocast(device, dtype):
            model(x, sigma, source, audio)

    seconds = timed(run, device, repeats)
    new_frames = cfg.segment_frames - cfg.overlap_frames  # per segment, after the overlap
    return new_frames / (seconds * SamplerConfig().steps)


class StandInFrontend:
    """Audio features of the shipped frontend's shape (rows per second, channels), random."""

    def __init__(self, model, seed: int = 0):
        self.rate, self.channels, self.seed = frontend_rate(model.config), model.audio_channels, seed

    def features(self, samples: np.ndarray) -> AudioFeatures:
        rows = int(np.ceil(len(samples) / 16000 * self.rate))
        values = np.random.default_rng(self.seed).standard_normal((rows, self.channels)).astype(np.float32)
        return AudioFeatures(torch.from_numpy(values), self.rate, 0.0)


def stand_in_clip(size: int, frames: int, seed: int = 0) -> np.ndarray:
    """(frames, size, size, 3) uint8 smooth random images, drifting slowly in time."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (frames // 25 + 2, 4, 4, 3))
    t = np.linspace(0, len(coarse) - 1.001, frames)
    lo, w = t.astype(int), (t % 1)[:, None, None, None]
    blend = torch.from_numpy((1 - w) * coarse[lo] + w * coarse[lo + 1]).permute(0, 3, 1, 2).float()
    big = torch.nn.functional.interpolate(blend, size=(size, size), mode="bicubic", align_corners=True)
    return big.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()


def render_clip_edits(editor: ModelEditor, crops: np.ndarray, times: np.ndarray, mouth: np.ndarray,
                      audio: AudioFeatures) -> np.ndarray:
    """The editor over the clip's overlapping segments, as the pipeline runs it; the edited crops."""
    items = [SegmentItem(crops[j], times[j], mouth[j]) for j in range(len(crops))]
    edits = edit_in_segments(items, lambda c, t, m: editor.edit(c, t, m, audio),
                             editor.segment_frames, editor.overlap_frames)
    return np.stack([edited for _, edited in edits])


def render_rows(model, device_name: str, precisions: list[str]) -> list[str]:
    frames = int(CLIP_SECONDS * CLIP_FPS)
    crops = stand_in_clip(model.config.region_size, frames)
    times = np.arange(frames) / CLIP_FPS
    mouth = np.full((frames, 2), 0.5, np.float32)
    frontend = StandInFrontend(model)
    rows, reference = [], None
    for precision in precisions:
        editor = ModelEditor(model, SamplerConfig(device=device_name, dtype=precision), audio_frontend=frontend)
        audio = editor.prepare_audio(np.zeros(int(CLIP_SECONDS * 16000), np.float32))
        edited = render_clip_edits(editor, crops, times, mouth, audio)  # warm-up, and the output compared
        synchronize(editor.device)
        start = time.perf_counter()
        render_clip_edits(editor, crops, times, mouth, audio)
        synchronize(editor.device)
        seconds = time.perf_counter() - start
        reference = edited if reference is None else reference
        agreement = "(itself)" if edited is reference else f"{psnr(edited, reference):.1f}"
        rows.append(f"| {precision} | {frames / seconds:.0f} | {seconds:.2f} | {agreement} |")
    return rows


def random_batch(model, batch: int, device: torch.device, seed: int = 0) -> dict:
    """A batch with TrainingExamples' keys and shapes (values random, in their ranges)."""
    cfg, g = model.config, torch.Generator().manual_seed(seed)
    clip = (batch, cfg.segment_frames, 3, cfg.region_size, cfg.region_size)
    values = {
        "x": torch.rand(clip, generator=g) * 2 - 1,
        "source": torch.rand(clip, generator=g) * 2 - 1,
        "noise": torch.randn(clip, generator=g),
        "references": torch.zeros(batch, 0, *clip[2:]),
        "audio": torch.randn(batch, cfg.segment_frames, model.audio_window, model.audio_channels, generator=g),
        "text": torch.randn(batch, cfg.text_dim, generator=g),
        "sigma": torch.rand(batch, generator=g),
        "drop_audio": torch.rand(batch, generator=g) < 0.1,
        "drop_text": torch.rand(batch, generator=g) < 0.1,
        "mouth_xy": 0.4 + 0.2 * torch.rand(batch, cfg.segment_frames, 2, generator=g),
        "visemes": torch.rand(batch, cfg.segment_frames, 5, generator=g),
        "pseudo": torch.rand(batch, generator=g) < 0.5,
    }
    return {k: v.to(device) for k, v in values.items()}


def train_step_rate(device: torch.device, amp: torch.dtype | None, batch: int, repeats: int) -> float:
    """Optimizer steps per second of the recipe's step at this batch size."""
    model = load_model(bundled_weights("cpu-small"), device).train()
    model.viseme_head.requires_grad_(True)
    ema = load_model(bundled_weights("cpu-small"), device).requires_grad_(False)
    expert = load_sync_expert(bundled_weights(BUNDLED_SYNC_EXPERT)).to(device).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    data = random_batch(model, batch, device)

    def step():
        with autocast(device, amp):
            loss = batch_loss(model, model, data, RECIPE, expert)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), RECIPE.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        ema_update(ema, model, 0.999)

    return 1.0 / timed(step, device, repeats)


def dub_row(device_name: str, precision: str) -> str:
    """One whole dub in its own process, where the pipeline can run here."""
    missing = [name for name in ("av", "ctranslate2", "soundfile") if importlib.util.find_spec(name) is None]
    if missing:
        return f"| {precision} | not run: {', '.join(missing)} not installed on this machine | | |"
    from pipeline import render_clip, run_dub, speech  # bench/pipeline.py

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = tmp / "clip.mp4", tmp / "speech.wav"
        render_clip(video, CLIP_SECONDS, CLIP_FPS, 512, 512, seed=3)
        speech(audio, CLIP_SECONDS, seed=4)
        wall, rss, summary = run_dub(video, audio, tmp / "out.mp4", ("--device", device_name, "--dtype", precision))
    render = summary["seconds"]["render"]
    return f"| {precision} | {wall:.2f} | {summary['output_frames'] / render:.1f} | {rss // 1024} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", default="", help="training batch sizes, comma-separated "
                        "(default: 8,64,256 on a GPU, 8 on the CPU)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        emit(["# GPU speed", "", "No CUDA GPU is visible on this machine: nothing measured."], args.write)
        return
    device, _ = resolve_device(args.device, "fp32")
    gpu = device.type == "cuda"
    precisions = ["fp32", "fp16", "bf16"] if gpu else ["fp32"] + (["bf16"] if resolve_device("cpu", "auto")[1] else [])
    batches = [int(b) for b in args.batches.split(",")] if args.batches else ([8, 64, 256] if gpu else [8])
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} threads"
    model = load_model(bundled_weights("cpu-small"), device)

    forward = [f"| {p} | {forward_fps(model, device, resolve_device(args.device, p)[1]):.0f} |" for p in precisions]
    render = render_rows(model, args.device, precisions)
    train_precision = training_precision(device.type, torch.cuda.is_bf16_supported() if gpu else cpu_has_native_bf16())
    amp = resolve_device(args.device, train_precision)[1]
    train = []
    for batch in batches:
        rate = train_step_rate(device, amp, batch, repeats=20 if gpu else 5)
        train.append(f"| {batch} | {train_precision} | {rate:.2f} | {rate * batch:.0f} |")
    dubs = [dub_row(args.device, p) for p in (["fp16"] if gpu else ["fp32"])]
    emit([f"# Model speed on {name}", "",
          f"`python bench/gpu_speed.py --device {args.device}`, torch {torch.__version__}, the shipped "
          "weights/cpu-small.", "",
          "## Guided forward of one segment", "",
          "| precision | frames of video per s (2 steps) |", "|---|---|", *forward, "",
          f"## Render stage: the editor over a {CLIP_SECONDS:.0f} s {CLIP_FPS:.0f} fps clip's segments "
          "(stand-in crops and audio features)", "",
          "| precision | frames per s | seconds | PSNR vs the fp32 edit, dB |", "|---|---|---|---|", *render, "",
          "## One training step of the shipped recipe (random batches)", "",
          "| batch | autocast | steps per s | samples per s |", "|---|---|---|---|", *train, "",
          f"## Whole dub, {CLIP_SECONDS:.0f} s 512x512 clip", "",
          "| precision | wall s | render stage frames per s | peak RSS MiB |", "|---|---|---|---|", *dubs],
         args.write)


if __name__ == "__main__":
    main()
