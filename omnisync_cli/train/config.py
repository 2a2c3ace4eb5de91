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


class TrainConfigError(ConfigError):
    """A TrainConfig value that breaks its rule. The field, the rule ("must be in (0, 1)") and
    the value are kept apart, so that `omnisync train` can say it with the flag the user typed
    (--pair-threshold) instead of the field's name."""

    def __init__(self, field: str, rule: str, value: Any):
        super().__init__(f"Invalid training config: {field} {rule}, got {value!r}")
        self.field, self.rule, self.value = field, rule, value


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
        preset_depth = PRESETS[self.preset].depth if self.preset in PRESETS else 0
        checks = [  # (field, holds, the rule it breaks)
            ("preset", self.preset in PRESETS, f"must be one of {', '.join(sorted(PRESETS))}"),
            ("depth", self.depth == 0 or self.depth >= preset_depth,
             f"must be 0 (the preset's) or at least {preset_depth} (the {self.preset} preset's)"),
            ("reference_frames", self.reference_frames >= 0, "must be >= 0"),
            ("steps", self.steps >= 1, "must be at least 1"),
            ("max_seconds", self.max_seconds >= 0, "must be >= 0"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            ("lr", self.lr > 0, "must be positive"),
            ("warmup_steps", self.warmup_steps >= 0, "must be >= 0"),
            ("lr_schedule", self.lr_schedule in LR_SCHEDULES, f"must be one of {', '.join(LR_SCHEDULES)}"),
            ("min_lr_ratio", 0 <= self.min_lr_ratio <= 1, "must be in [0, 1]"),
            ("grad_clip", self.grad_clip >= 0, "must be >= 0"),
            ("ema_decay", 0 <= self.ema_decay < 1, "must be in [0, 1)"),
            ("sigma_dist", self.sigma_dist in SIGMA_DISTS, f"must be one of {', '.join(SIGMA_DISTS)}"),
            ("sigma_std", self.sigma_std > 0, "must be positive"),
            ("sigma_uniform_weight", 0 <= self.sigma_uniform_weight <= 1, "must be in [0, 1]"),
            ("pair_threshold", 0 < self.pair_threshold < 1, "must be in (0, 1)"),
            ("loss_weighting", self.loss_weighting in LOSS_WEIGHTINGS, f"must be one of {', '.join(LOSS_WEIGHTINGS)}"),
            ("mouth_loss_weight", self.mouth_loss_weight >= 0, "must be >= 0"),
            ("change_loss_weight", self.change_loss_weight >= 0, "must be >= 0"),
            ("mouth_loss_radius", self.mouth_loss_radius > 0, "must be positive"),
            ("viseme_loss_weight", self.viseme_loss_weight >= 0, "must be >= 0"),
            ("sync_loss_weight", self.sync_loss_weight >= 0, "must be >= 0"),
            ("source_start_sigma", 0 <= self.source_start_sigma < 1, "must be in [0, 1)"),
            ("hide_mouth_share", 0 <= self.hide_mouth_share <= 1, "must be in [0, 1]"),
            ("lend_mouth_share", 0 <= self.lend_mouth_share <= 1, "must be in [0, 1]"),
            ("region_scale", 0.3 <= self.region_scale <= 1, "must be in [0.3, 1] (a part of the stored crop)"),
            ("p_drop_audio", self.p_drop_audio >= 0, "must be >= 0"),
            ("p_drop_text", self.p_drop_text >= 0, "must be >= 0"),
            ("p_drop_both", 0 <= self.p_drop_both <= 1 - self.p_drop_audio - self.p_drop_text,
             "must be >= 0, and the three dropout probabilities must sum to at most 1"),
            ("flip_prob", 0 <= self.flip_prob <= 1, "must be in [0, 1]"),
            ("color_jitter", 0 <= self.color_jitter < 1, "must be in [0, 1)"),
            ("checkpoint_every", self.checkpoint_every >= 1, "must be at least 1"),
            ("sample_every", self.sample_every >= 0, "must be >= 0"),
            ("log_every", self.log_every >= 1, "must be at least 1"),
            ("num_workers", self.num_workers >= 0, "must be >= 0"),
            ("threads", self.threads >= 0, "must be >= 0"),
        ]
        for field, holds, rule in checks:
            if not holds:
                raise TrainConfigError(field, rule, getattr(self, field))

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
