"""The sync-expert loss, the clean estimate it scores, and the audio probe of the training log."""

import json

import numpy as np
import pytest
import torch

from omnisync_cli.bench.sync import SyncConfig, SyncExpert, mouth_windows, save_sync_expert
from omnisync_cli.diffusion.flow import cfm_loss, noise_path, velocity_error
from omnisync_cli.errors import ConfigError
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT, clean_estimate
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples
from omnisync_cli.train.loop import frozen_sync_expert, train
from omnisync_cli.train.objectives import mouth_glimpses, sync_loss
from omnisync_cli.train.probe import audio_probe, mouth_error
from omnisync_cli.train.samples import validation_pairs


def tiny_expert_config(**kw) -> SyncConfig:
    """An expert that hears what the tiny preset hears (log-mel, 20 bands, 0.16 s windows)."""
    base = dict(frames=3, mouth_px=8, widths=(8, 8, 8, 8), embed_dim=16, audio_hidden=16,
                audio_window_s=0.16, audio_frontend="logmel", n_mels=20)
    return SyncConfig(**{**base, **kw})


@pytest.mark.parametrize("prediction", ["x", "v"])
def test_clean_estimate_inverts_the_velocity_the_model_returns(prediction):
    config = get_preset("tiny", prediction=prediction)
    g = torch.Generator().manual_seed(0)
    x, eps = torch.randn(2, 2, 3, 4, 4, generator=g), torch.randn(2, 2, 3, 4, 4, generator=g)
    sigma = torch.tensor([0.02, 0.7])  # one below the x head's floor of 0.05
    x_sigma = noise_path(x, eps, sigma)
    if prediction == "x":  # forward(): v = (x_sigma - x_hat) / max(sigma, 0.05)
        v = (x_sigma - x) / sigma.clamp(min=0.05).view(-1, 1, 1, 1, 1)
    else:  # the exact velocity of the straight path
        v = eps - x
    assert torch.allclose(clean_estimate(config, x_sigma, v, sigma), x, atol=1e-5)


def test_velocity_error_is_cfm_loss_without_the_forward_pass():
    g = torch.Generator().manual_seed(1)
    x, eps, v = (torch.randn(2, 5, generator=g) for _ in range(3))
    weight = torch.tensor([[2.0], [0.5]])
    assert torch.equal(cfm_loss(lambda *_a, **_k: v, x, torch.tensor([0.3, 0.6]), eps, weight=weight),
                       velocity_error(v, x, eps, weight))


def test_mouth_glimpses_cut_the_square_the_benchmark_cuts():
    """The differentiable cut matches bench.sync.mouth_windows (OpenCV) on a smooth picture."""
    size, config = 64, SyncConfig()
    yy, xx = np.mgrid[0:size, 0:size]
    frame = np.stack([128 + 100 * np.sin(xx / 7.0), 128 + 100 * np.cos(yy / 5.0),
                      128 + 80 * np.sin((xx + yy) / 9.0)], axis=-1).astype(np.uint8)
    crops = np.stack([frame, np.roll(frame, 5, axis=1)])  # (F=2, S, S, 3)
    mouth_xy = np.array([[0.5, 0.6], [0.35, 0.7]])
    expected = mouth_windows(crops, mouth_xy, config).astype(np.float32) / 255.0  # (F, P, P, 3)
    clips = torch.from_numpy(crops).float().permute(0, 3, 1, 2)[None] / 127.5 - 1
    got = mouth_glimpses(clips, torch.tensor(mouth_xy)[None], config.mouth_span, config.mouth_px)
    assert got.shape == (1, 2, 3, config.mouth_px, config.mouth_px)
    got = got[0].permute(0, 2, 3, 1).numpy()
    assert np.abs(got - expected).mean() < 3 / 255, np.abs(got - expected).mean()


def test_mouth_glimpses_pass_gradients_to_the_clips():
    clips = torch.zeros(1, 2, 3, 16, 16, requires_grad=True)
    mouth_glimpses(clips, torch.full((1, 2, 2), 0.5), 0.5, 8).sum().backward()
    inside = clips.grad[0, 0, 0, 6:10, 6:10]
    assert (inside > 0).all() and clips.grad[0, 0, 0, 0, 0] == 0  # only the square around the mouth


def test_sync_loss_masks_dropped_audio_and_leaves_the_expert_frozen():
    torch.manual_seed(0)
    expert = SyncExpert(tiny_expert_config(), audio_channels=20).eval().requires_grad_(False)
    glimpses = torch.rand(2, 5, 3, 8, 8, requires_grad=True)
    audio = torch.randn(2, 5, 16, 20)
    both = sync_loss(expert, glimpses, audio, torch.tensor([True, True]))
    first = sync_loss(expert, glimpses, audio, torch.tensor([True, False]))
    alone = sync_loss(expert, glimpses[:1], audio[:1], torch.tensor([True]))
    assert 0 <= both.item() <= 2
    assert torch.isclose(first, alone, atol=1e-6)
    none = sync_loss(expert, glimpses, audio, torch.tensor([False, False]))
    assert none.item() == 0
    first.backward()
    assert glimpses.grad[0].abs().sum() > 0 and glimpses.grad[1].abs().sum() == 0
    assert all(p.grad is None for p in expert.parameters())


def test_mouth_error_weighs_the_mouth_not_the_rest():
    target = torch.zeros(1, 1, 3, 20, 20)
    far = target.clone()
    far[..., :4, :4] = 1.0  # a corner, far from the mouth
    near = target.clone()
    near[..., 12:16, 8:12] = 1.0  # around the mouth
    mouth = torch.tensor([[[0.5, 0.7]]])
    assert mouth_error(near, target, mouth) > 20 * mouth_error(far, target, mouth)
    assert mouth_error(target, target, mouth) == 0


def test_audio_probe_of_a_model_that_copies_the_source_reads_equal(corpus):
    """A fresh model is a no-op editor (x_hat = source): its mouth error cannot depend on the audio."""
    torch.manual_seed(0)
    model = OmniSyncDiT(get_preset("tiny"))
    dataset = TrainingExamples(corpus, model.config, TrainConfig(preset="tiny"))
    probe = audio_probe(model, dataset, validation_pairs(dataset, 4, 0))
    assert probe["own"] > 0 and probe["own"] == probe["other"] == probe["null"] and probe["gap"] == 0
    # from the noised source, as a dub starts: x_hat = source, so it is the no-op's own error
    assert probe["dub_own"] == probe["dub_other"] == probe["dub_null"] > 0 and probe["dub_gap"] == 0
    with pytest.raises(ValueError):
        audio_probe(model, dataset, validation_pairs(dataset, 1, 0))


def test_audio_probe_gives_a_model_with_references_its_references(corpus):
    """Probed on a dataset made for a plain model, a model with references still gets them:
    their attention changes what it predicts."""
    from tests.model.test_dit import perturbed
    torch.manual_seed(0)
    plain = TrainingExamples(corpus, get_preset("tiny"), TrainConfig(preset="tiny"))
    pairs = validation_pairs(plain, 4, 0)
    model = perturbed(OmniSyncDiT(get_preset("tiny", reference_frames=2)))
    with_refs = audio_probe(model, plain, pairs)
    for block in model.blocks:  # the same network without its reference attention
        block.ref_attn = None
    assert with_refs["dub_own"] != audio_probe(model, plain, pairs)["dub_own"]


def test_training_with_the_sync_loss_logs_the_probe_and_keeps_the_expert(tmp_path, corpus):
    torch.manual_seed(0)
    expert = SyncExpert(tiny_expert_config(), audio_channels=20)
    save_sync_expert(expert, tmp_path / "expert")
    before = {k: v.clone() for k, v in expert.state_dict().items()}
    config = TrainConfig(preset="tiny", out_dir=str(tmp_path / "run"), steps=4, batch_size=2, lr=2e-3,
                         warmup_steps=1, sample_every=2, sample_clips=2, log_every=1,
                         sync_loss_weight=0.5, sync_expert=str(tmp_path / "expert"))
    train(config, corpus, progress=False)
    info = json.loads((tmp_path / "run" / "training.json").read_text())
    assert [p["step"] for p in info["audio_probe"]] == [2, 4]
    assert all(set(p) >= {"own", "other", "null", "gap"} for p in info["audio_probe"])
    assert info["config"]["sync_loss_weight"] == 0.5
    assert all(torch.equal(v, before[k]) for k, v in expert.state_dict().items())


def test_an_expert_that_hears_other_audio_is_refused(tmp_path):
    save_sync_expert(SyncExpert(tiny_expert_config(audio_window_s=0.32), audio_channels=20), tmp_path)
    config = TrainConfig(preset="tiny", sync_loss_weight=1.0, sync_expert=str(tmp_path))
    with pytest.raises(ConfigError, match="sync expert hears"):
        frozen_sync_expert(config, get_preset("tiny"), torch.device("cpu"))
