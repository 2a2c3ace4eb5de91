"""The DiT's building blocks (after DiT's models.py), extended to clips of frames.

Tokens of a clip are kept as (B, F, N, D): batch, frames, patches per frame, width. The
conditioning vector is per frame, (B, F, D), so each frame's tokens are modulated by that
frame's own audio (plus the shared noise level and prompt).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (B, F, N, D) with per-frame shift/scale (B, F, D)."""
    return x * (1 + scale[:, :, None]) + shift[:, :, None]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v over (B, heads, L, d) queries and (B, heads, M, d) keys and values.

    PyTorch's fused kernel, except for bf16 inference on the CPU: there the plain products run
    about 1.7x faster than the fused CPU kernel at this model's sizes (2 x 4 heads x 512 tokens x
    48: 2.0 against 3.45 ms on an AVX-512 BF16 EPYC, 2 threads; bench/results/bf16-network.md),
    with the softmax kept in bf16 (autocast would compute it in fp32, at about 3x its cost)."""
    if q.device.type != "cpu" or q.dtype != torch.bfloat16 or torch.is_grad_enabled():
        return F.scaled_dot_product_attention(q, k, v)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
    with torch.autocast("cpu", enabled=False):
        return torch.softmax(scores, dim=-1) @ v


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """(len(positions), dim) fixed sin-cos embedding, as in "Attention is all you need"."""
    freqs = torch.exp(-math.log(10000.0) * torch.arange(dim // 2, dtype=torch.float64, device=positions.device) / (dim // 2))
    angles = positions.double()[:, None] * freqs[None]  # (P, dim/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


def sincos_2d(dim: int, grid: int) -> torch.Tensor:
    """(grid*grid, dim) embedding of a square patch grid: half the width for rows, half for columns."""
    coords = torch.arange(grid)
    rows = sincos_1d(dim // 2, coords.repeat_interleave(grid))  # row index of patch n
    cols = sincos_1d(dim // 2, coords.repeat(grid))  # column index of patch n
    return torch.cat([rows, cols], dim=1)


class SigmaEmbedder(nn.Module):
    """Noise level sigma in [0, 1] -> (B, D): sin-cos features of 1000 * sigma (the paper's
    discrete t, so the frequencies cover the range like DiT's timestep embedder), then an MLP."""

    def __init__(self, hidden_size: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden_size), nn.SiLU(),
                                 nn.Linear(hidden_size, hidden_size))

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.mlp(sincos_1d(self.freq_dim, 1000.0 * sigma).to(sigma.device))


class PatchEmbed(nn.Module):
    """(B, F, C, S, S) -> (B, F, N, D) by a stride-p convolution on each frame."""

    def __init__(self, in_channels: int, patch_size: int, hidden_size: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_size, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, f = x.shape[:2]
        x = self.proj(x.flatten(0, 1))  # (B*F, D, S/p, S/p)
        return x.flatten(2).transpose(1, 2).reshape(b, f, -1, x.shape[1])  # (B, F, N, D)


class Attention(nn.Module):
    """Multi-head self-attention over (B', L, D) sequences (L = whatever the block groups)."""

    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.proj = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        qkv = self.qkv(x).reshape(b, length, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B', heads, L, head_dim)
        out = attend(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, length, d))


class CrossAttention(nn.Module):
    """Multi-head attention of (B, L, D) queries over a (B, M, D) context (keys and values)."""

    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(hidden_size, hidden_size)
        self.kv = nn.Linear(hidden_size, 2 * hidden_size)
        self.proj = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        h = self.num_heads
        q = self.q(x).reshape(b, length, h, d // h).transpose(1, 2)  # (B, heads, L, head_dim)
        k, v = self.kv(context).reshape(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        out = attend(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, length, d))


def group_tokens(x: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, F, N, D) -> the sequences one attention layer mixes."""
    b, f, n, d = x.shape
    if mode == "joint":
        return x.reshape(b, f * n, d)  # every token of the segment
    if mode == "spatial":
        return x.reshape(b * f, n, d)  # the patches of one frame
    return x.transpose(1, 2).reshape(b * n, f, d)  # "temporal": one patch position over frames


def ungroup_tokens(x: torch.Tensor, mode: str, shape: torch.Size) -> torch.Tensor:
    b, f, n, d = shape
    if mode == "temporal":
        return x.reshape(b, n, f, d).transpose(1, 2)
    return x.reshape(b, f, n, d)


class DiTBlock(nn.Module):
    """adaLN-Zero transformer block (DiT) with per-frame conditioning.

    `mode` says which tokens attend to each other: joint (all of the segment), spatial
    (within a frame) or temporal (across frames at one patch position).
    """

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float, mode: str,
                 references: bool = False):
        super().__init__()
        self.mode = mode
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        # Every token of the segment looks at the reference frames' tokens (ModelConfig.
        # reference_frames); the model zeroes its output projection, so it starts as a no-op.
        self.ref_norm = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6) if references else None
        self.ref_attn = CrossAttention(hidden_size, num_heads) if references else None
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        hidden_mlp = int(hidden_size * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(hidden_size, hidden_mlp), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden_mlp, hidden_size))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor, references: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, F, N, D) tokens; c (B, F, D) conditioning; references (B, M, D) tokens of the
        reference frames, or None (the block without its reference attention)."""
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = \
            self.adaLN_modulation(c).chunk(6, dim=-1)  # each (B, F, D)
        h = modulate(self.norm1(x), shift_msa, scale_msa)
        h = ungroup_tokens(self.attn(group_tokens(h, self.mode)), self.mode, x.shape)
        x = x + gate_msa[:, :, None] * h
        if self.ref_attn is not None and references is not None:
            x = x + self.ref_attn(group_tokens(self.ref_norm(x), "joint"), references).reshape(x.shape)
        h = self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x + gate_mlp[:, :, None] * h


class FinalLayer(nn.Module):
    """adaLN then a linear map of each token to its patch of velocity (p * p * 3 values)."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))
