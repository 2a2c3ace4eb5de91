"""The GPU path keeps every tensor on the model's device. The meta device stands in for CUDA
here: an operation that mixes it with a CPU tensor fails as one that mixes CUDA and CPU does
(a constant built on the CPU inside the network or a loss broke `--device cuda` once)."""

import torch

from omnisync_cli.bench.sync import SyncConfig, SyncExpert
from omnisync_cli.diffusion.sampling import SAMPLERS, progressive_init, sigma_schedule
from omnisync_cli.guidance.dscfg import GuidanceConfig, guided_model
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.mouth_hiding import hide_mouth
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.loop import batch_loss

META = torch.device("meta")


def model_on_meta():
    torch.manual_seed(0)
    return OmniSyncDiT(get_preset("tiny", output_flow=True, reference_frames=2)).to(META)


def test_a_dub_segment_samples_on_the_models_device():
    model = model_on_meta()
    cfg = model.config
    clip = torch.zeros(1, cfg.segment_frames, 3, cfg.region_size, cfg.region_size, device=META)
    mouth = torch.full((1, cfg.segment_frames, 2), 0.5)  # the editor's, on the CPU
    audio = torch.zeros(1, cfg.segment_frames, model.audio_window, model.audio_channels, device=META)
    source = hide_mouth(clip, mouth)
    velocity = guided_model(model, GuidanceConfig(), 0.92, mouth, source=source, audio=audio, text=None,
                            references=torch.zeros(1, 2, *clip.shape[2:], device=META),
                            frame_peak=torch.full((1, cfg.segment_frames), 2.0))
    out = SAMPLERS["euler"](velocity, progressive_init(source, 0.92, torch.zeros_like(clip)), sigma_schedule(2, 0.92))
    assert out.device == META and out.shape == clip.shape


def test_a_training_step_runs_on_the_models_device():
    model = model_on_meta()
    cfg = model.config
    b, f, s = 2, cfg.segment_frames, cfg.region_size
    clip = torch.zeros(b, f, 3, s, s, device=META)
    batch = {"x": clip, "source": clip, "noise": clip, "references": torch.zeros(b, 2, 3, s, s, device=META),
             "audio": torch.zeros(b, f, model.audio_window, model.audio_channels, device=META),
             "text": torch.zeros(b, cfg.text_dim, device=META), "sigma": torch.zeros(b, device=META),
             "drop_audio": torch.zeros(b, dtype=torch.bool, device=META),
             "drop_text": torch.zeros(b, dtype=torch.bool, device=META),
             "mouth_xy": torch.zeros(b, f, 2, device=META), "pseudo": torch.zeros(b, dtype=torch.bool, device=META)}
    expert = SyncExpert(SyncConfig(frames=3, widths=(8, 8, 8, 8), embed_dim=8, audio_hidden=8),
                        model.audio_channels).to(META)
    config = TrainConfig(preset="tiny", reference_frames=2, output_flow=True, loss_weighting="x",
                         mouth_loss_weight=10, change_loss_weight=1, sync_loss_weight=0.1)
    loss = batch_loss(model, model, batch, config, expert)  # the viseme loss reads its mask: not on meta
    loss.backward()
    assert loss.device == META and all(p.grad.device == META for p in model.final_layer.parameters())


def test_the_sync_experts_contrastive_loss_runs_on_its_device():
    from omnisync_cli.train.sync import info_nce

    assert info_nce(torch.zeros(4, 8, device=META), torch.zeros(12, 8, device=META), 0.1).device == META
