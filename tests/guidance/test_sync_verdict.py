"""The sync verdict keeps an edit only where the expert hears it follow the speech better than
the source (guidance.sync_verdict)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from omnisync_cli.bench.sync import SyncConfig, SyncExpert
from omnisync_cli.guidance.sync_verdict import VerdictConfig, frame_gain, kept_share, verdict, window_agreement


class BrightMouthExpert(nn.Module):
    """An expert that hears any audio as 'an open, bright mouth': its agreement grows with
    the glimpses' brightness."""

    def __init__(self, frames: int = 3, mouth_px: int = 8):
        super().__init__()
        self.config = SyncConfig(frames=frames, mouth_px=mouth_px)

    def embed_video(self, windows):
        brightness = windows.mean(dim=(1, 2, 3))  # [0, 1]
        return F.normalize(torch.stack([brightness, 1 - brightness], -1), dim=-1)

    def embed_audio(self, windows):
        return F.normalize(torch.ones(len(windows), 2) * torch.tensor([1.0, 0.0]), dim=-1)


def clips_with_mouth(value: float, frames: int = 8, size: int = 16) -> torch.Tensor:
    """(1, F, 3, S, S) in [-1, 1]: grey, with a square at the crop centre of `value`."""
    x = torch.full((1, frames, 3, size, size), -0.5)
    x[..., 6:10, 6:10] = value
    return x


def test_frame_gain_is_the_mean_of_the_windows_holding_each_frame():
    gains = torch.tensor([[1.0, 2.0, 3.0]])  # windows of 3 over 5 frames
    got = frame_gain(gains, frames=5, window=3)
    torch.testing.assert_close(got, torch.tensor([[1.0, 1.5, 2.0, 2.5, 3.0]]))


def test_kept_share_ramps_from_the_margin():
    config = VerdictConfig(margin=0.1, ramp=0.2)
    got = kept_share(torch.tensor([-1.0, 0.1, 0.2, 0.3, 0.5]), config)
    torch.testing.assert_close(got, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))


def test_window_agreement_pairs_each_window_with_its_middle_frames_audio():
    torch.manual_seed(0)
    expert = SyncExpert(SyncConfig(frames=3, mouth_px=8, widths=(8, 8, 8, 8), embed_dim=16, audio_hidden=16,
                                   audio_window_s=0.16, audio_frontend="logmel", n_mels=20), 20).eval()
    glimpses, audio = torch.rand(2, 6, 3, 8, 8), torch.randn(2, 6, 16, 20)
    got = window_agreement(expert, glimpses, audio)
    assert got.shape == (2, 4)
    by_hand = (expert.embed_video(glimpses[1, 2:5].flatten(0, 1)[None])
               * expert.embed_audio(audio[1, 3][None])).sum(-1)
    torch.testing.assert_close(got[1, 2], by_hand[0])


def test_an_edit_the_expert_prefers_is_kept_and_one_it_does_not_is_dropped():
    expert = BrightMouthExpert()
    source, brighter, darker = clips_with_mouth(0.0), clips_with_mouth(1.0), clips_with_mouth(-1.0)
    mouth = torch.full((1, 8, 2), 0.5)
    audio = torch.zeros(1, 8, 4, 2)
    assert torch.equal(verdict(expert, source, brighter, mouth, audio, span=0.5), torch.ones(1, 8))
    assert torch.equal(verdict(expert, source, darker, mouth, audio, span=0.5), torch.zeros(1, 8))
    # an edit that leaves the mouth as it was and paints elsewhere gains nothing: dropped
    beside = source.clone()
    beside[..., :3, :3] = 1.0
    assert torch.equal(verdict(expert, source, beside, mouth, audio, span=0.5), torch.zeros(1, 8))


def test_a_segment_shorter_than_the_experts_window_is_kept_whole():
    expert = BrightMouthExpert(frames=5)
    source, darker = clips_with_mouth(0.0, frames=3), clips_with_mouth(-1.0, frames=3)
    got = verdict(expert, source, darker, torch.full((1, 3, 2), 0.5), torch.zeros(1, 3, 4, 2), span=0.5)
    assert torch.equal(got, torch.ones(1, 3))
