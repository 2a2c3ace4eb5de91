"""OmniSyncDiT: the mask-free Diffusion Transformer of the paper (Sec. 3.2), in pixel space.

    velocity = model(x, sigma, source, audio, text=None, drop_audio=None, drop_text=None, references=None)

Input tokens are patches of the channel-concatenation [x_sigma, V_cd] of each frame: the
noised target clip and the source clip, whole working region, no mouth mask (mask-free
editing; the network decides what to change). Each frame's tokens are
modulated (adaLN-Zero) by sigma + that frame's audio embedding + the prompt embedding; with
config.output_flow a second head moves the source's pixels (a displacement field) under
the predicted residual. With config.reference_frames K, every block also attends to the
tokens of K crops of the same video at other moments (how this character's mouth looks when
it opens or closes); a call without them runs the plain model.
The output is the flow-matching velocity `eps - x_data` (see diffusion.flow); the head
predicts the clean clip and converts it (config.prediction = "x", the default) or predicts
the velocity itself ("v").
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from omnisync_cli.model.audio import AudioEncoder, frontend_channels, frontend_rate, window_length
from omnisync_cli.model.config import ModelConfig
from omnisync_cli.model.layers import DiTBlock, FinalLayer, PatchEmbed, SigmaEmbedder, sincos_1d, sincos_2d

SIGMA_FLOOR = 0.05  # smallest sigma divided by when turning an x prediction into a velocity
# Mouth parameters the training-only viseme head reads from a frame's audio embedding
# (open, width, round, teeth, tongue: the fields of data.visemes).
MOUTH_PARAMETERS = 5
# Pixels of displacement per unit of the flow head's output (config.output_flow): a unit
# output moves a pixel by a few pixels of the working region, the size of a lip's travel.
FLOW_PIXELS = 4.0


def clean_estimate(config: ModelConfig, x_sigma: torch.Tensor, velocity: torch.Tensor,
                   sigma: torch.Tensor) -> torch.Tensor:
    """The clean clip x_hat a velocity implies, the inverse of forward()'s conversion:
    x_hat = x_sigma - max(sigma, 0.05) v for the x head (exact, floor included), and
    x_sigma - sigma v for the v head (the straight path's x_data = x_sigma - sigma (eps - x_data))."""
    s = torch.as_tensor(sigma, dtype=torch.float32, device=x_sigma.device).reshape(-1)
    if config.prediction == "x":
        s = s.clamp(min=SIGMA_FLOOR)
    return x_sigma.float() - s.view(-1, 1, 1, 1, 1) * velocity.float()


def warp(frames: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out[y, x] = frames[y + flow_y, x + flow_x] (bilinear, borders repeated).

    frames (B, F, C, S, S); flow (B, F, 2, S, S) in pixels, channel 0 along x, 1 along y.
    A zero flow returns the frames exactly."""
    b, f, c, h, w = frames.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=frames.device, dtype=flow.dtype),
                            torch.arange(w, device=frames.device, dtype=flow.dtype), indexing="ij")
    x = (xs + flow[:, :, 0] + 0.5) * (2.0 / w) - 1.0  # pixel centres -> [-1, 1] (align_corners=False)
    y = (ys + flow[:, :, 1] + 0.5) * (2.0 / h) - 1.0
    grid = torch.stack([x, y], dim=-1).reshape(b * f, h, w, 2)
    out = F.grid_sample(frames.reshape(b * f, c, h, w).to(flow.dtype), grid, mode="bilinear",
                        padding_mode="border", align_corners=False)
    return out.reshape(b, f, c, h, w)


class OmniSyncDiT(nn.Module):
    def __init__(self, config: ModelConfig, audio_channels: int | None = None):
        super().__init__()
        self.config = config
        d, p = config.hidden_size, config.patch_size
        self.audio_channels = audio_channels or frontend_channels(config)
        self.audio_window = window_length(config.audio_window_s, frontend_rate(config))

        self.patch_embed = PatchEmbed(6, p, d)  # 3 noised-target + 3 source channels
        self.sigma_embed = SigmaEmbedder(d)
        self.audio_embed = AudioEncoder(self.audio_channels, self.audio_window, config.audio_hidden, d)
        self.text_embed = nn.Linear(config.text_dim, d)
        # Training aid, not used to dub: a linear read-out of the mouth parameters from the
        # audio embedding, so an auxiliary loss (train.objectives) can teach the audio
        # encoder what the mouth does long before the diffusion loss alone would.
        self.viseme_head = nn.Linear(d, MOUTH_PARAMETERS)
        # Learned "no condition" embeddings: classifier-free guidance runs the network with
        # these in place of a frame's audio (and of the prompt when there is none).
        self.null_audio = nn.Parameter(torch.zeros(d))
        self.null_text = nn.Parameter(torch.zeros(d))
        modes = (["joint"] * config.depth if config.attention == "joint"
                 else [("spatial", "temporal")[i % 2] for i in range(config.depth)])
        self.blocks = nn.ModuleList(DiTBlock(d, config.num_heads, config.mlp_ratio, m,
                                             references=config.reference_frames > 0)
                                    for m in modes)
        if config.reference_frames:  # the reference crops' tokens: their patches, where, and which
            self.reference_embed = PatchEmbed(3, p, d)
            self.reference_index = nn.Parameter(torch.zeros(config.reference_frames, d))
        self.final_layer = FinalLayer(d, p, 3)
        self.flow_head = FinalLayer(d, p, 2) if config.output_flow else None
        grid = config.region_size // p
        self.register_buffer("pos_spatial", sincos_2d(d, grid), persistent=False)  # (N, D)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """All weight set-up, as DiT: xavier-uniform linears and patch projection, N(0, 0.02)
        sigma MLP and null embeddings, and zeros for every adaLN modulation and the output
        layer, so each block starts as the identity and the head outputs 0: an x-predicting
        model with source_skip then predicts x_hat = source (a no-op editor), a v-predicting
        one the velocity 0; the displacement head starts at zero too (no motion). The audio
        encoder's convolutions keep PyTorch's default init."""
        def _basic(module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        self.apply(_basic)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.patch_embed.proj.bias)
        nn.init.normal_(self.sigma_embed.mlp[0].weight, std=0.02)
        nn.init.normal_(self.sigma_embed.mlp[2].weight, std=0.02)
        nn.init.normal_(self.null_audio, std=0.02)
        nn.init.normal_(self.null_text, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)
        if self.config.reference_frames:  # the reference attention starts as a no-op
            w = self.reference_embed.proj.weight
            nn.init.xavier_uniform_(w.view(w.shape[0], -1))
            nn.init.zeros_(self.reference_embed.proj.bias)
            nn.init.normal_(self.reference_index, std=0.02)
            for block in self.blocks:
                nn.init.zeros_(block.ref_attn.proj.weight)
                nn.init.zeros_(block.ref_attn.proj.bias)
        if self.flow_head is not None:  # no displacement until trained
            nn.init.zeros_(self.flow_head.adaLN_modulation[-1].weight)
            nn.init.zeros_(self.flow_head.adaLN_modulation[-1].bias)
            nn.init.zeros_(self.flow_head.linear.weight)
            nn.init.zeros_(self.flow_head.linear.bias)

    def audio_visemes(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, F, W, C) audio windows -> (B, F, 5) predicted mouth parameters (training aid)."""
        return self.viseme_head(self.audio_embed(audio))

    def conditioning(self, sigma: torch.Tensor, audio: torch.Tensor, text: torch.Tensor | None,
                     drop_audio: torch.Tensor | None, drop_text: torch.Tensor | None) -> torch.Tensor:
        """Per-frame conditioning vector (B, F, D) = sigma + audio of the frame + prompt."""
        b, f = audio.shape[:2]
        a = self.audio_embed(audio)  # (B, F, D)
        if drop_audio is not None:
            a = torch.where(drop_audio.view(b, 1, 1), self.null_audio.to(a.dtype), a)
        if text is None:
            t = self.null_text.expand(b, -1)
        else:
            t = self.text_embed(text)  # (B, D)
            if drop_text is not None:
                t = torch.where(drop_text.view(b, 1), self.null_text.to(t.dtype), t)
        return self.sigma_embed(sigma)[:, None] + a + t[:, None]

    def reference_tokens(self, references: torch.Tensor) -> torch.Tensor:
        """(B, K, 3, S, S) reference crops -> (B, K * N, D) tokens the blocks attend to."""
        k = references.shape[1]
        if k != self.config.reference_frames:
            raise ValueError(f"the model takes {self.config.reference_frames} reference frames, got {k}")
        tokens = self.reference_embed(references)  # (B, K, N, D)
        tokens = tokens + self.pos_spatial.to(tokens)[None, None] + self.reference_index.to(tokens)[None, :, None]
        return tokens.flatten(1, 2)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, source: torch.Tensor,
                audio: torch.Tensor, text: torch.Tensor | None = None,
                drop_audio: torch.Tensor | None = None,
                drop_text: torch.Tensor | None = None,
                references: torch.Tensor | None = None) -> torch.Tensor:
        """x, source (B, F, 3, S, S); sigma (B,) or scalar; audio (B, F, W, C); text (B, text_dim);
        references (B, K, 3, S, S) crops of the same video at other moments, or None.

        Returns the velocity (B, F, 3, S, S).
        """
        b, f, _, s, _ = x.shape
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1).expand(b)
        tokens = self.patch_embed(torch.cat([x, source], dim=2))  # (B, F, N, D)
        frame_pos = sincos_1d(tokens.shape[-1], torch.arange(f)).to(tokens)  # (F, D)
        tokens = tokens + self.pos_spatial.to(tokens)[None, None] + frame_pos[None, :, None]
        c = self.conditioning(sigma, audio, text, drop_audio, drop_text)  # (B, F, D)
        refs = (self.reference_tokens(references) if references is not None and self.config.reference_frames
                else None)
        for block in self.blocks:
            tokens = block(tokens, c, refs)
        out = self.unpatchify(self.final_layer(tokens, c), s)  # (B, F, 3, S, S)
        if self.config.prediction == "v":
            return out
        if self.flow_head is not None:
            flow = FLOW_PIXELS * self.unpatchify(self.flow_head(tokens, c), s).float()  # (B, F, 2, S, S)
            x_hat = out.float() + warp(source.float(), flow)
        else:
            x_hat = out.float() + source if self.config.source_skip else out.float()
        # v = eps - x_data = (x_sigma - x_data) / sigma on the path; the floor keeps the
        # last steps finite (the network can still represent any v there).
        return (x.float() - x_hat) / sigma.clamp(min=SIGMA_FLOOR).view(b, 1, 1, 1, 1)

    def unpatchify(self, out: torch.Tensor, size: int) -> torch.Tensor:
        b, f, n, _ = out.shape
        p, g = self.config.patch_size, size // self.config.patch_size
        c = out.shape[-1] // (p * p)
        out = out.reshape(b, f, g, g, p, p, c)  # (B, F, rows, cols, p, p, C)
        out = out.permute(0, 1, 6, 2, 4, 3, 5)  # (B, F, C, rows, p, cols, p)
        return out.reshape(b, f, c, size, size)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
