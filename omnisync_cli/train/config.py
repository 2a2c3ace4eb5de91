"""The training run's settings: one frozen dataclass, serialised into every checkpoint and
into `training.json` beside the shipped weights."""

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from omnisync_cli.errors import ConfigError
from omnisync_cli.model.config import PRESETS, ModelConfig, get_preset
from omnisync_cli.train.objectives import LOSS_WEIGHTINGS

SIGMA_DISTS = ("uniform", "logit_normal", "mixture", "sampler")
# Parts a run may add to its preset (TrainConfig and ModelConfig fields of the same names,
# `train` flags --output-flow, --reference-frames K); fine-tuning a model without them grows them.
GROWN_PARTS = ("output_flow", "reference_frames")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    # --- what is trained ----------------------------------------------------------------
    preset: str = "cpu-small"  # model preset (model.config.PRESETS)
    out_dir: str = "runs/train"  # checkpoint.pt, samples/, and the final weights go here
    seed: int = 0  # model init, data order, noise, pair and dropout draws all derive from it
    init_from: str = ""  # weights directory to start from (fine-tuning); "" = fresh init
    # Add the displacement head (model.config.output_flow) to the preset; fine-tuning a
    # model without it grows it (the new weights start as a no-op).
    output_flow: bool = False
    # Give the model this many reference frames (model.config.reference_frames): crops of the
    # condition clip's rendering at other moments, never a frame of the target window itself;
    # fine-tuning a model without them grows the reference attention (starting as a no-op).
    reference_frames: int = 0
    # Blocks of the transformer (0: the preset's depth). Deeper than the preset grows it;
    # fine-tuning a shallower model keeps its blocks and inserts new ones between them, each
    # starting as the identity (adaLN-Zero), so the grown model starts as the trained one.
    depth: int = 0
    # --- optimisation ---------------------------------------------------------------------
    # optimizer steps in total (a resumed run continues up to this); ~2 h of cpu-small at
    # batch 8 on 2 idle cores (measured 0.40 steps/s on one shared core, 2.3 CPU-s a step)
    steps: int = 3000
    max_seconds: float = 0.0  # also stop once this call has trained this long (0: no limit)
    batch_size: int = 8  # clips per optimizer step per process (DDP: global = this x world)
    lr: float = 3e-4  # AdamW peak learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay (DiT trains with 0)
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW moment decays
    warmup_steps: int = 200  # linear learning-rate warm-up from 0 to lr
    lr_schedule: str = "cosine"  # after warm-up: constant, or cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.1  # final lr as a fraction of lr (cosine only)
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    ema_decay: float = 0.999  # EMA of the weights; the EMA is what inference loads
    # --- noise levels and Eq. 3 ------------------------------------------------------------
    # mixture (default): with probability sigma_uniform_weight U(0, 1), else
    # logit-normal(sigma_mean, sigma_std). The logit-normal part is diffusion.flow's default
    # (median sigma 0.69, measured best by the model's overfit test with x-prediction) and
    # puts 12 % of its draws above 0.85, the pseudo-pair branch; the uniform part keeps every
    # level an Euler run from tau visits trained, down to its last step near tau / steps
    # (~0.1), where the logit-normal alone has almost no mass. Default: ~13 % pseudo-pairs.
    sigma_dist: str = "mixture"  # uniform, logit_normal, mixture or sampler
    sigma_mean: float = 0.8  # logit-normal location
    sigma_std: float = 0.8  # logit-normal scale
    sigma_uniform_weight: float = 0.2  # share of uniform draws in the mixture (and in "sampler")
    # sampler: the rest at the noise levels the shipped sampler runs the network at (2 Euler
    # steps from tau 0.92), each moved by N(0, sampler_jitter) (train.schedules.sigma_sampler)
    sampler_sigmas: tuple[float, ...] = (0.92, 0.46)
    sampler_jitter: float = 0.03
    pair_threshold: float = 0.85  # Eq. 3: sigma above it -> pseudo-pair condition (paper t 850)
    # --- loss weights (train.objectives; the defaults are Eq. 2 as written) ---------------
    loss_weighting: str = "velocity"  # velocity (Eq. 2) or x (sigma^2 x Eq. 2: the x error)
    mouth_loss_weight: float = 0.0  # extra weight at the mouth centre: 1 + this x a Gaussian bump
    mouth_loss_radius: float = 0.12  # the bump's standard deviation, as a fraction of the crop
    # Extra weight where a pseudo-pair's target differs from its condition: 1 + this x the
    # pixel's change (train.objectives.change_weight_map); 0: none.
    change_loss_weight: float = 0.0
    viseme_loss_weight: float = 0.0  # auxiliary audio -> mouth-parameter loss (synthetic clips)
    # Wav2Lip's lever: a frozen sync expert (bench.sync) scores the one-step clean estimate's
    # mouth against the audio; 0 = off. It must use the model's audio frontend and window.
    sync_loss_weight: float = 0.0
    sync_expert: str = ""  # its weights directory ("" = the bundled weights/sync-expert)
    # From this noise level up, a pseudo-pair's noised clip is the noised source instead of the
    # noised target (diffusion.flow.source_start_noise): the input a dub's first step sees
    # (Eq. 5), without the target's faint mouth to copy. 0: off (Eq. 2 as written).
    source_start_sigma: float = 0.0
    # Share of examples whose source has a box around its mouth hidden (model.mouth_hiding):
    # the mouth must then come from the audio and the reference frames, not from a copy of
    # the source. 0: never (the paper's mask-free training).
    hide_mouth_share: float = 0.0
    # Share of examples whose condition clip shows, at each frame, the mouth of the condition's
    # own rendering at the moment whose mouth parameters are nearest the target frame's (one of
    # the 3 nearest, at random): what `dub --mouth-bank` shows the network, so that it learns to
    # refine a lent mouth rather than redraw it (pipeline.mouth_bank). 0: never.
    lend_mouth_share: float = 0.0
    # Train on the central part of every stored crop: a working region of this x the one the
    # corpus stored (1.0 x the face width), as the dub's DubOptions.region_scale (0.8) frames
    # it; the mouth positions and the sync loss's mouth glimpse follow. 1: the stored crops.
    region_scale: float = 1.0
    # --- condition dropout (classifier-free guidance) --------------------------------------
    p_drop_audio: float = 0.10  # audio alone replaced by the learned null embedding
    p_drop_text: float = 0.10  # prompt alone dropped
    p_drop_both: float = 0.05  # both dropped at once
    # --- augmentation (same transform on target and condition) -----------------------------
    flip_prob: float = 0.5  # horizontal flip
    color_jitter: float = 0.05  # max relative change of brightness, contrast and saturation
    # --- bookkeeping -------------------------------------------------------------------------
    checkpoint_every: int = 250  # steps between checkpoints (and one at the end)
    sample_every: int = 500  # steps between validation PNGs (source | sampled | target); 0: never
    sample_clips: int = 4  # clips in each validation PNG
    sample_steps: int = 2  # sampler steps from tau for validation samples (the dub's default, model.editor.SamplerConfig)
    log_every: int = 10  # steps between loss-curve points and progress updates
    num_workers: int = 0  # DataLoader worker processes per rank (0: load in the training process)
    # auto: CUDA with bf16 autocast (fp16 + GradScaler on GPUs without bf16); on the CPU bf16
    # autocast where it computes bf16 natively (AMX, AVX-512 BF16), else fp32
    device: str = "auto"
    # CPU intra-op threads (0: torch's default, one per core). On cores shared with other
    # jobs 1 can be faster: measured 0.51 vs 0.22 steps/s (cpu-small, batch 8, load ~4 on 2 cores).
    threads: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.preset in PRESETS, f"preset must be one of {sorted(PRESETS)}"),
            (self.depth == 0 or self.preset not in PRESETS or self.depth >= PRESETS[self.preset].depth,
             "depth must be 0 (the preset's) or at least the preset's depth"),
            (self.reference_frames >= 0, "reference_frames must be >= 0"),
            (self.steps >= 1, "steps must be at least 1"),
            (self.max_seconds >= 0, "max_seconds must be >= 0"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (self.warmup_steps >= 0, "warmup_steps must be >= 0"),
            (self.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of {LR_SCHEDULES}"),
            (0 <= self.min_lr_ratio <= 1, "min_lr_ratio must be in [0, 1]"),
            (self.grad_clip >= 0, "grad_clip must be >= 0"),
            (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1)"),
            (self.sigma_dist in SIGMA_DISTS, f"sigma_dist must be one of {SIGMA_DISTS}"),
            (self.sigma_std > 0, "sigma_std must be positive"),
            (0 <= self.sigma_uniform_weight <= 1, "sigma_uniform_weight must be in [0, 1]"),
            (0 < self.pair_threshold < 1, "pair_threshold must be in (0, 1)"),
            (self.loss_weighting in LOSS_WEIGHTINGS, f"loss_weighting must be one of {LOSS_WEIGHTINGS}"),
            (self.mouth_loss_weight >= 0, "mouth_loss_weight must be >= 0"),
            (self.change_loss_weight >= 0, "change_loss_weight must be >= 0"),
            (self.mouth_loss_radius > 0, "mouth_loss_radius must be positive"),
            (self.viseme_loss_weight >= 0, "viseme_loss_weight must be >= 0"),
            (self.sync_loss_weight >= 0, "sync_loss_weight must be >= 0"),
            (0 <= self.source_start_sigma < 1, "source_start_sigma must be in [0, 1)"),
            (0 <= self.hide_mouth_share <= 1, "hide_mouth_share must be in [0, 1]"),
            (0 <= self.lend_mouth_share <= 1, "lend_mouth_share must be in [0, 1]"),
            (0.3 <= self.region_scale <= 1, "region_scale must be in [0.3, 1] (a part of the stored crop)"),
            (min(self.p_drop_audio, self.p_drop_text, self.p_drop_both) >= 0
             and self.p_drop_audio + self.p_drop_text + self.p_drop_both <= 1,
             "dropout probabilities must be >= 0 and sum to at most 1"),
            (0 <= self.flip_prob <= 1, "flip_prob must be in [0, 1]"),
            (0 <= self.color_jitter < 1, "color_jitter must be in [0, 1)"),
            (self.checkpoint_every >= 1, "checkpoint_every must be at least 1"),
            (self.sample_every >= 0, "sample_every must be >= 0"),
            (self.log_every >= 1, "log_every must be at least 1"),
            (self.num_workers >= 0, "num_workers must be >= 0"),
            (self.threads >= 0, "threads must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"Invalid training config: {message}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown training config keys {unknown}; known keys: {sorted(known)}")
        data = dict(data)
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)


def run_model_config(run: dict[str, Any]) -> ModelConfig:
    """The model a run trains: its preset plus the parts it adds (GROWN_PARTS) and its depth
    when grown; `run` is a TrainConfig as a dict (a checkpoint's or training.json's "config")."""
    grown = {part: run[part] for part in GROWN_PARTS if run.get(part)}
    if run.get("depth"):
        grown["depth"] = run["depth"]
    return replace(get_preset(run["preset"]), **grown)


def preset_and_grown_parts(config: ModelConfig) -> tuple[str, dict[str, Any]] | None:
    """The inverse of `run_model_config`: the preset a trained model's configuration was
    built from and the parts a run added to it (GROWN_PARTS, a greater depth), as TrainConfig
    fields; None when it is no preset grown so."""
    grown: dict[str, Any] = {part: getattr(config, part) for part in GROWN_PARTS if getattr(config, part)}
    plain = replace(config, **{part: ModelConfig.__dataclass_fields__[part].default for part in grown})
    for name, preset in PRESETS.items():
        if replace(plain, depth=preset.depth).to_dict() == preset.to_dict() and plain.depth >= preset.depth:
            return name, grown | ({"depth": plain.depth} if plain.depth > preset.depth else {})
    return None


def keeping_parts_of(config: TrainConfig, init: ModelConfig) -> tuple[TrainConfig, list[str]]:
    """A fine-tune of `init` (the --init-from model's configuration) with the parts that model
    has and the run did not ask for (its displacement head, reference frames, a greater
    depth than the preset's): a run may grow a model, never drop what it learned. Also the
    flags that were added, as a user would spell them."""
    changes: dict[str, Any] = {}
    if init.output_flow and not config.output_flow:
        changes["output_flow"] = True
    if init.reference_frames and not config.reference_frames:
        changes["reference_frames"] = init.reference_frames
    if not config.depth and init.depth > get_preset(config.preset).depth:
        changes["depth"] = init.depth
    flags = ["--" + k.replace("_", "-") + ("" if v is True else f" {v}") for k, v in changes.items()]
    return replace(config, **changes), flags
