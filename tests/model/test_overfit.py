"""Proof that the parts fit together: a tiny model overfits a handful of synthetic clips.

Each clip is a 16 px "face" whose mouth (a dark bar) opens with the loudness of the audio
at each frame. The condition clip V_cd is the same face speaking another utterance (other
mouth openings); the target V_ab follows the target audio. Training uses the real pieces
(log-mel frontend, windows at frame times, cfm_loss, sigma sampler, null-audio dropout),
sampling the real ModelEditor (progressive init at tau, DS-CFG).
"""

import numpy as np
import torch

from omnisync_cli.diffusion.flow import cfm_loss, sample_training_sigma
from omnisync_cli.guidance.dscfg import GuidanceConfig
from omnisync_cli.model.audio import SAMPLE_RATE, logmel_features, windows_at
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor, SamplerConfig, crops_to_tensor

FPS, FRAMES, SIZE = 25, 4, 16
LOSS_FACTOR = 20  # the loss must fall at least this much (measured: ~100x)


def face(openings, shade):
    """(F, S, S, 3) uint8: skin of one shade, a dark mouth bar `opening` pixels high."""
    out = np.full((len(openings), SIZE, SIZE, 3), shade, np.uint8)
    out[:, 3:6, 3:6] = out[:, 3:6, 10:13] = 40  # eyes
    for f, h in enumerate(openings):
        out[f, 10 - h // 2:10 + (h + 1) // 2, 4:12] = 20
    return out


def speech(levels, rng):
    """Waveform whose loudness in each frame's 40 ms is that frame's level."""
    t = np.arange(int(SAMPLE_RATE / FPS)) / SAMPLE_RATE
    return np.concatenate([lv * np.sin(2 * np.pi * 220 * t + rng.uniform(0, 6)) for lv in levels]).astype(np.float32)


def make_clips(n=4, seed=0):
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        shade = 150 + 25 * i
        src_open, tgt_open = rng.integers(0, 7, FRAMES), rng.integers(0, 7, FRAMES)
        wave = speech(tgt_open / 6 * 0.8, rng)
        clips.append(dict(source=face(src_open, shade), target=face(tgt_open, shade), wave=wave))
    return clips


def test_tiny_model_overfits_and_samples_move_to_the_targets():  # one thread: conftest.py
    torch.manual_seed(0)
    cfg = get_preset("tiny")
    model = OmniSyncDiT(cfg)
    clips = make_clips()
    times = np.arange(FRAMES) / FPS + 0.5 / FPS  # frame centres on the audio's clock
    audio = torch.stack([windows_at(logmel_features(c["wave"], cfg.n_mels), times, cfg.audio_window_s)
                         for c in clips])  # (B, F, W, C)
    source = torch.cat([crops_to_tensor(c["source"]) for c in clips])  # (B, F, 3, S, S)
    target = torch.cat([crops_to_tensor(c["target"]) for c in clips])

    g = torch.Generator().manual_seed(0)
    eval_sigma, eval_noise = sample_training_sigma(64, g).reshape(16, 4), torch.randn(16, *target.shape, generator=g)

    def eval_loss():
        with torch.no_grad():
            return np.mean([cfm_loss(model, target, s, n, source=source, audio=audio).item()
                            for s, n in zip(eval_sigma, eval_noise)])

    before = eval_loss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(300):  # ~5 s on one busy core
        drop = torch.rand(len(clips), generator=g) < 0.1  # null audio now and then, for CFG
        loss = cfm_loss(model, target, sample_training_sigma(len(clips), g), torch.randn(target.shape, generator=g),
                        source=source, audio=audio, drop_audio=drop)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = eval_loss()
    assert after * LOSS_FACTOR < before, (before, after)

    editor = ModelEditor(model, SamplerConfig(tau=0.92, steps=8, device="cpu",
                                              guidance=GuidanceConfig("ds", w_peak=2.0, s=0.2)))
    err = {"source": [], "out": [], "mouth_to_target": [], "mouth_to_source": []}
    for c in clips:
        out = editor.edit(c["source"], times, np.tile([0.5, 0.62], (FRAMES, 1)),
                          editor.prepare_audio(c["wave"])).astype(float)
        err["source"].append(np.abs(c["source"].astype(float) - c["target"]).mean())
        err["out"].append(np.abs(out - c["target"]).mean())
        err["mouth_to_target"].append(np.abs(out - c["target"])[:, 6:14].mean())
        err["mouth_to_source"].append(np.abs(out - c["source"])[:, 6:14].mean())
    err = {k: float(np.mean(v)) for k, v in err.items()}
    # measured: out 5.2 vs source 12.4 grey levels; mouth 8.2 from the target, 25 from the source
    assert err["out"] < 0.6 * err["source"], err
    assert err["mouth_to_target"] < 0.5 * err["mouth_to_source"], err
