"""The training loop: CFM loss (paper Eq. 2) on Eq. 3 pairs, AdamW, EMA, checkpoints, DDP.

    train(TrainConfig(preset="cpu-small", out_dir="runs/default"), "corpus/")

Read it top to bottom: set up (process group, data, model, optimizer), resume from
`out_dir/checkpoint.pt` if it is there, loop over batches, write the EMA weights. The same
call resumes a killed run: every random draw of an example is a function of (seed, epoch,
item) and the data stream's position is `step x batch_size`, so a resumed run on the CPU
gives bitwise the weights of one that never stopped.

Under `torchrun --nproc_per_node N` each process trains on its own shard of the data
stream (DDP averages the gradients; gloo on CPU, nccl on GPU); only rank 0 writes files.
"""

import copy
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from omnisync_cli.bench.sync import SyncExpert, load_sync_expert, open_sync_scorer
from omnisync_cli.diffusion.flow import noise_path, velocity_error
from omnisync_cli.errors import ConfigError
from omnisync_cli.model.device import autocast, cpu_has_native_bf16, resolve_device
from omnisync_cli.model.config import ModelConfig
from omnisync_cli.model.dit import OmniSyncDiT, clean_estimate
from omnisync_cli.model.weights import load_model, save_model
from omnisync_cli.stopping import stop_requested
from omnisync_cli.train.checkpoint import CHECKPOINT_FILE, check_run_kind, load_checkpoint, save_checkpoint
from omnisync_cli.train.config import GROWN_PARTS, TrainConfig, run_model_config
from omnisync_cli.train.corpus import describe, open_corpus, summarize
from omnisync_cli.train.data import ClipSource, StreamSampler, TrainingExamples
from omnisync_cli.train.ema import ema_update
from omnisync_cli.train.objectives import (change_weight_map, loss_weights, mouth_glimpses, sync_loss,
                                          viseme_loss)
from omnisync_cli.train.probe import PROBE_CLIPS, audio_probe
from omnisync_cli.train.samples import validation_pairs, write_samples
from omnisync_cli.train.schedules import ema_decay_at, lr_factor

TRAINING_FILE = "training.json"
# Settings that may change when a run is resumed; any other change would make the resumed
# run a different experiment, so it is refused.
RESUME_MAY_CHANGE = {"steps", "max_seconds", "out_dir", "checkpoint_every", "sample_every", "sample_clips",
                     "sample_steps", "log_every", "num_workers", "device", "threads"}
CURVE_POINTS = 200  # loss-curve points kept in training.json


@dataclass(frozen=True)
class StepInfo:
    step: int  # optimizer steps done
    loss: float  # this rank's loss of the step
    rank: int
    model: torch.nn.Module  # the trained weights (not the DDP wrapper)
    ema: torch.nn.Module  # their moving average


def training_precision(device_type: str, bf16_supported: bool) -> str:
    """Autocast dtype name for training: bf16 where the device computes it natively (fp16's
    range without a loss scaler), else fp16 with the GradScaler on older GPUs and fp32 on
    other CPUs (where PyTorch emulates bf16, slower than fp32). Measured on an AVX-512 BF16
    EPYC, one thread, cpu-small at batch 8: 1.35 s a step in bf16 vs 1.8 s in fp32."""
    if device_type != "cuda":
        return "bf16" if bf16_supported else "fp32"
    return "bf16" if bf16_supported else "fp16"


def setup_distributed(device_name: str) -> tuple[int, int, torch.device, torch.dtype | None, bool]:
    """(rank, world size, device, autocast dtype, whether we opened the process group).

    torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them this is one process."""
    device, _ = resolve_device(device_name)
    native_bf16 = (torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bf16())
    device, amp_dtype = resolve_device(device_name, training_precision(device.type, native_bf16))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device, amp_dtype, False
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    opened = not dist.is_initialized()
    if opened:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device, amp_dtype, opened


def check_resumable(saved: dict, config: TrainConfig) -> None:
    # The sync expert matters only to a run with a sync loss: without one it did nothing, given or not.
    free = RESUME_MAY_CHANGE | (set() if config.sync_loss_weight else {"sync_expert"})
    changed = sorted(k for k, v in config.to_dict().items()
                     if k not in free and saved.get(k) != v
                     and not (isinstance(v, tuple) and list(v) == saved.get(k)))
    if changed:
        raise ConfigError(f"{config.out_dir} holds a checkpoint of a run with other settings "
                          f"({', '.join(changed)}); resume with the same settings or use a new out_dir")


def grown_block_positions(old_depth: int, new_depth: int) -> list[int]:
    """Where the `old_depth` trained blocks go in a network of `new_depth` blocks: spread
    evenly from the first to the last, so the new ones sit between them (6 -> 8: 0, 1, 3,
    4, 6, 7; blocks 2 and 5 are new)."""
    if not 1 <= old_depth <= new_depth:
        raise ValueError(f"cannot grow {old_depth} blocks into {new_depth}")
    if old_depth == 1:
        return [0]
    return [round(i * (new_depth - 1) / (old_depth - 1)) for i in range(old_depth)]


def init_from_trained(model: OmniSyncDiT, trained: OmniSyncDiT, origin: str) -> list[str]:
    """Copy `trained`'s weights into `model`; returns the names left at their fresh init.

    The configurations must match except for the audio settings (frontend, window, encoder
    width): switching the audio frontend keeps everything the network learned about pictures
    and starts only the audio encoder fresh. A model without the displacement head may grow
    one (train.config.GROWN_PARTS; its weights start fresh, as a no-op), and a shallower one
    may grow blocks (`grown_block_positions`; the new ones start as the identity). Any other
    difference is a ConfigError."""
    audio_fields = {"audio_frontend", "audio_encoder_dir", "n_mels", "audio_window_s", "audio_hidden"}
    ours, theirs = model.config.to_dict(), trained.config.to_dict()
    differ = sorted(k for k in ours if ours[k] != theirs[k] and k not in audio_fields)
    for part in GROWN_PARTS:
        if theirs[part] and ours[part] != theirs[part]:
            flag = "--" + part.replace("_", "-") + ("" if isinstance(theirs[part], bool) else f" {theirs[part]}")
            raise ConfigError(f"{origin} was trained with {flag}; fine-tune it with {flag}")
    if ours["depth"] < theirs["depth"]:
        raise ConfigError(f"{origin} has {theirs['depth']} blocks; fine-tune it with --depth {theirs['depth']} or more")
    differ = [k for k in differ if k not in GROWN_PARTS + ("depth",)]  # grown: the new weights start fresh
    if differ:
        raise ConfigError(f"{origin} holds a model of another configuration ({', '.join(differ)} "
                          "differ); fine-tune with that model's preset")
    positions = grown_block_positions(theirs["depth"], ours["depth"])

    def placed(name: str) -> str:  # a trained block's name in the grown network
        if not name.startswith("blocks."):
            return name
        _, index, rest = name.split(".", 2)
        return f"blocks.{positions[int(index)]}.{rest}"

    state, target = {placed(k): v for k, v in trained.state_dict().items()}, model.state_dict()
    fresh = [k for k, v in target.items() if k not in state or state[k].shape != v.shape]
    grown = (("audio_embed.", "flow_head.", "reference_")
             + tuple(f"blocks.{i}." for i in range(ours["depth"]) if i not in positions)
             + tuple(f"blocks.{i}.ref_attn." for i in range(ours["depth"])))
    if any(not k.startswith(grown) for k in fresh):
        raise ConfigError(f"{origin}: weights {fresh[:3]} do not fit the model")
    model.load_state_dict({k: (target[k] if k in fresh else state[k]) for k in target})
    return fresh


def hearing(config) -> tuple:
    """What a network hears: its audio frontend, encoder directory and window."""
    return config.audio_frontend, config.audio_encoder_dir, config.audio_window_s


def hears_as(expert_config, model_config: ModelConfig) -> bool:
    """A sync expert can score (or train) a model only if it hears the same audio."""
    return hearing(expert_config) == hearing(model_config)


def frozen_sync_expert(config: TrainConfig, model_config: ModelConfig, device: torch.device) -> SyncExpert:
    """The sync expert the sync loss uses, frozen; it must hear what the DiT hears."""
    expert = (load_sync_expert(config.sync_expert) if config.sync_expert
              else open_sync_scorer().expert)
    if not hears_as(expert.config, model_config):
        raise ConfigError(f"the sync expert hears {hearing(expert.config)} but the model {hearing(model_config)} "
                          "(frontend, encoder, window); train an expert on the model's audio (`omnisync train-sync`)")
    expert = copy.deepcopy(expert).to(device).eval().requires_grad_(False)
    return expert


def batch_loss(net: torch.nn.Module, model: OmniSyncDiT, batch: dict, config: TrainConfig,
               expert: SyncExpert | None) -> torch.Tensor:
    """The training loss of one batch (TrainingExamples' keys): Eq. 2 with the run's loss
    weights, plus the sync-expert and viseme losses the run asks for. `net` is the model or
    its DDP wrapper; `expert` the frozen sync expert (None without a sync loss)."""
    model_config = model.config
    weight = loss_weights(batch["sigma"], batch["mouth_xy"], model_config.region_size,
                          config.loss_weighting, config.mouth_loss_weight, config.mouth_loss_radius)
    if config.change_loss_weight > 0:
        weight = weight * change_weight_map(batch["x"], batch["source"], batch["pseudo"],
                                            config.change_loss_weight)
    x_sigma = noise_path(batch["x"], batch["noise"], batch["sigma"])
    v = net(x_sigma, batch["sigma"], source=batch["source"], audio=batch["audio"],
            text=batch["text"], drop_audio=batch["drop_audio"], drop_text=batch["drop_text"],
            references=batch["references"] if model_config.reference_frames else None)
    loss = velocity_error(v, batch["x"], batch["noise"], weight)  # Eq. 2
    if expert is not None:
        # The expert's span is a share of a 1.0 region: of a smaller crop, more.
        glimpses = mouth_glimpses(clean_estimate(model_config, x_sigma, v, batch["sigma"]),
                                  batch["mouth_xy"], expert.config.mouth_span / config.region_scale,
                                  expert.config.mouth_px)
        loss = loss + config.sync_loss_weight * sync_loss(expert, glimpses, batch["audio"], ~batch["drop_audio"])
    if config.viseme_loss_weight > 0:
        loss = loss + config.viseme_loss_weight * viseme_loss(model.audio_visemes(batch["audio"]), batch["visemes"])
    return loss


def _bar(enabled: bool) -> Progress:
    return Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(), disable=not enabled)


def train(config: TrainConfig, corpus_dir: str | Path | Sequence[str | Path] | ClipSource,
          progress: bool = True,
          on_step: Callable[["StepInfo"], None] | None = None) -> Path:
    """Train (or resume) the run `config` describes on the corpus; returns `config.out_dir`,
    which then holds the EMA weights (config.json + model.safetensors) and training.json.

    `corpus_dir`: a corpus folder (synthetic shards or `prepare-data` output), a list of
    them trained on as one, or any `ClipSource`. `progress`: draw a rich progress bar
    (rank 0). `on_step(StepInfo)` is called on every rank after every optimizer step
    (tests stop a run or read its weights with it).
    """
    # --- set up ------------------------------------------------------------------------------
    rank, world, device, amp_dtype, opened_group = setup_distributed(config.device)
    if world > 1 and config.max_seconds:  # ranks would stop at different steps and hang
        raise ConfigError("max_seconds (a time budget) is for one process; give distributed runs steps")
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out_dir)
    model_config = run_model_config(config.to_dict())
    source = open_corpus(corpus_dir) if isinstance(corpus_dir, (str, Path, list, tuple)) else corpus_dir
    dataset = TrainingExamples(source, model_config, config)
    if rank == 0 and not any(dataset.index.has_pseudo_pair(c) for c, _ in dataset.index.targets):
        warnings.warn("no clip of the corpus has a second rendering (pseudo-pair): noise levels "
                      f"above {config.pair_threshold} will not be trained, and progressive init "
                      "starts there; add the synthetic corpus (`omnisync synth`) to the corpora")

    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = OmniSyncDiT(model_config).to(device)
    if config.init_from:  # fine-tuning: start from trained weights of the same preset
        fresh = init_from_trained(model, load_model(config.init_from, "cpu"), config.init_from)
        if fresh and rank == 0:
            warnings.warn(f"{config.init_from}: {len(fresh)} tensors are new to it ({fresh[0]}, ...); "
                          "they start fresh, every other weight is fine-tuned")
    # The viseme head learns only from the viseme loss: frozen without it (DDP wants a
    # gradient for every trainable weight in every step).
    model.viseme_head.requires_grad_(config.viseme_loss_weight > 0)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr, betas=config.betas,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(
        lr_factor, warmup_steps=config.warmup_steps, total_steps=config.steps,
        schedule=config.lr_schedule, min_ratio=config.min_lr_ratio))
    # fp16 autocast needs loss scaling against gradient underflow; bf16 and fp32 do not.
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    expert = frozen_sync_expert(config, model_config, device) if config.sync_loss_weight > 0 else None
    step, curve, probes, wall_s = 0, [], [], 0.0

    # --- resume ------------------------------------------------------------------------------
    if (out / CHECKPOINT_FILE).is_file():
        ckpt = load_checkpoint(out / CHECKPOINT_FILE)
        check_run_kind(out, ckpt, ("config", "model", "ema", "optimizer", "scheduler", "scaler", "step"), "train")
        check_resumable(ckpt["config"], config)
        if ckpt["world_size"] != world:
            warnings.warn(f"resuming a {ckpt['world_size']}-process run on {world} processes: "
                          "training continues, but not on the same data stream")
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        step, curve, wall_s = ckpt["step"], ckpt["curve"], ckpt["wall_s"]
        probes = ckpt.get("probes", [])

    net = model
    if world > 1:
        net = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    sampler = StreamSampler(len(dataset), config.seed, rank, world, position=step * config.batch_size)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler,
                        num_workers=config.num_workers, pin_memory=device.type == "cuda")
    writer = rank == 0
    val_pairs = validation_pairs(dataset, config.sample_clips, config.seed) if writer else []
    probe_pairs = validation_pairs(dataset, PROBE_CLIPS, config.seed) if writer else []

    saved = [step]  # the step of the last checkpoint

    def checkpoint() -> None:
        saved[0] = step
        save_checkpoint(out / CHECKPOINT_FILE, {
            "config": config.to_dict(), "step": step, "world_size": world,
            "sampler_position": step * config.batch_size,
            "model": model.state_dict(), "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "curve": curve, "probes": probes,
            "wall_s": wall_s + time.perf_counter() - started})

    # --- loop --------------------------------------------------------------------------------
    started = time.perf_counter()
    window_start, window_loss, window_steps = time.perf_counter(), torch.zeros((), device=device), 0
    with _bar(progress and writer) as bar, stop_requested() as stop:
        task = bar.add_task("train", total=config.steps, completed=step, info="")
        batches = iter(loader)
        # Ctrl-C, SIGTERM or SIGHUP stop it at the next step as the time budget would (a
        # checkpoint and the weights written), then raise Stopped (below).
        while step < config.steps and stop.signal is None and not (
                config.max_seconds and time.perf_counter() - started >= config.max_seconds):
            batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
            model.train()
            with autocast(device, amp_dtype):
                loss = batch_loss(net, model, batch, config, expert)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            ema_update(ema, model, ema_decay_at(step, config.ema_decay))
            step += 1
            window_loss += loss.detach()
            window_steps += 1

            last = step == config.steps or stop.signal is not None or (
                config.max_seconds and time.perf_counter() - started >= config.max_seconds)
            if step % config.log_every == 0 or last:
                if world > 1:  # the curve is the mean over all ranks' batches
                    dist.all_reduce(window_loss)
                    window_loss /= world
                mean_loss = window_loss.item() / window_steps
                curve.append([step, mean_loss])
                rate = window_steps * config.batch_size * world / (time.perf_counter() - window_start)
                steps_rate = rate / config.batch_size / world
                bar.update(task, completed=step,
                           info=f"loss {mean_loss:.4f}  {rate:.1f} samples/s  {steps_rate:.2f} steps/s")
                window_start, window_steps = time.perf_counter(), 0
                window_loss = torch.zeros((), device=device)
            if writer and config.sample_every and (step % config.sample_every == 0 or last):
                write_samples(ema, dataset, val_pairs, out / "samples" / f"step_{step:07d}.png",
                              config.sample_steps, device, config.seed)
                if len(probe_pairs) >= 2:
                    probes.append({"step": step, **audio_probe(ema, dataset, probe_pairs, seed=config.seed)})
                    if progress:
                        bar.console.print(f"step {step}: audio probe (mouth error) own {probes[-1]['own']:.4f}"
                                          f"  other clip's {probes[-1]['other']:.4f}  null {probes[-1]['null']:.4f}")
            if writer and (step % config.checkpoint_every == 0 or last):
                checkpoint()
            if on_step is not None:
                on_step(StepInfo(step, loss.item(), rank, model, ema))
        if writer and stop.signal is not None and saved[0] != step:  # the signal came after the step's save
            checkpoint()
    wall_s += time.perf_counter() - started

    # --- the result: EMA weights and what the model card needs --------------------------------
    if writer:
        save_model(ema, out)
        (out / TRAINING_FILE).write_text(json.dumps({
            "preset": config.preset,
            "steps": step,
            "batch_size": config.batch_size,
            "world_size": world,
            "samples_seen": step * config.batch_size * world,
            "wall_time_s": round(wall_s, 1),
            "device": str(device),
            "parameters": model.num_parameters(),
            "final_loss": curve[-1][1] if curve else None,
            "loss_curve": curve[::max(1, len(curve) // CURVE_POINTS)],
            "audio_probe": probes,
            "corpus": {"path": describe(corpus_dir), **summarize(dataset.index, source)},
            "config": config.to_dict(),
        }, indent=2) + "\n")
    if opened_group:
        # The ranks meet before either tears the group down: rank 0 still writes the weights and
        # card while the others are done, and once in five full test runs rank 1 aborted at its
        # teardown ("terminate called without an active exception", tests/train/test_ddp.py).
        dist.barrier()
        dist.destroy_process_group()
    stop.raise_if_asked()  # stopped by a signal: what was done is saved; the same command resumes
    return out
