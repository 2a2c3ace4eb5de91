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


class T5TextEncoder:
    """Mean-pooled last hidden states of a frozen T5 encoder loaded from a local directory."""

    def __init__(self, directory: str | Path, dim: int, device: torch.device | str = "cpu"):
        from transformers import AutoTokenizer, T5EncoderModel

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise WeightsError(f"T5 encoder directory {directory} has no config.json; "
                               "point text_encoder_dir at a saved transformers T5 model")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model = T5EncoderModel.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"Cannot load the T5 encoder or its tokenizer in {directory}: {exc}") from exc
        if model.config.d_model != dim:
            raise WeightsError(f"T5 encoder in {directory} has d_model {model.config.d_model}, "
                               f"but the model config's text_dim is {dim}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.dim = dim

    @torch.no_grad()
    def __call__(self, prompt: str) -> torch.Tensor | None:
        if not prompt.strip():
            return None
        tokens = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        hidden = self.model(**tokens).last_hidden_state[0]  # (L, d_model)
        mask = tokens["attention_mask"][0, :, None].to(hidden.dtype)  # (L, 1)
        return ((hidden * mask).sum(0) / mask.sum().clamp(min=1)).float().cpu()


def build_text_encoder(config, device: torch.device | str = "cpu"):
    """The prompt encoder a `ModelConfig` names: prompt -> (text_dim,) tensor or None."""
    if config.text_encoder == "t5":
        return T5TextEncoder(config.text_encoder_dir, config.text_dim, device)
    return HashTextEncoder(config.text_dim)
