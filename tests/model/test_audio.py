"""Audio frontends (log-mel, Whisper from a local directory), windows at frame times, encoder."""

import numpy as np
import pytest
import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.model.audio import (SAMPLE_RATE, AudioEncoder, AudioFeatures, WhisperFrontend,
                                      build_audio_frontend, logmel_features, window_length, windows_at)
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from tests.model.tiny_hf import WHISPER_D_MODEL


def test_logmel_rate_shape_silence_and_pitch():
    silence = logmel_features(np.zeros(SAMPLE_RATE, np.float32), n_mels=80)
    assert silence.rate == 100.0
    assert silence.values.shape == (101, 80)  # centred frames at 0, 10, ..., 1000 ms
    assert torch.allclose(silence.values, torch.full_like(silence.values, silence.pad_value))
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    low = logmel_features(0.5 * np.sin(2 * np.pi * 300 * t), 80).values[50]
    high = logmel_features(0.5 * np.sin(2 * np.pi * 3000 * t), 80).values[50]
    assert low.argmax() < high.argmax()
    assert low.max() > silence.pad_value + 1


def test_windows_are_centred_on_frame_times_and_padded_with_silence():
    feats = AudioFeatures(torch.arange(10, dtype=torch.float32)[:, None], rate=10.0, pad_value=-1.0)
    assert window_length(0.4, 10.0) == 4
    win = windows_at(feats, np.array([0.5, 0.0, 0.95]), 0.4)  # centres rows 5, 0, 10 (round(9.5))
    assert win.shape == (3, 4, 1)
    assert win[0, :, 0].tolist() == [3, 4, 5, 6]
    assert win[1, :, 0].tolist() == [-1, -1, 0, 1]
    assert win[2, :, 0].tolist() == [8, 9, -1, -1]


def test_audio_encoder_gives_one_embedding_per_frame():
    enc = AudioEncoder(channels=20, window=16, hidden=8, out_dim=12)
    assert enc(torch.randn(2, 5, 16, 20)).shape == (2, 5, 12)


def test_whisper_frontend_from_a_local_directory(whisper_dir):
    front = WhisperFrontend(whisper_dir)
    wave = np.random.default_rng(0).standard_normal(int(2.5 * SAMPLE_RATE)).astype(np.float32) * 0.1
    feats = front.features(wave)  # chunks of 2 * 50 mel frames = 1 s
    assert feats.rate == 50.0 and feats.values.shape == (125, WHISPER_D_MODEL)
    before_start = windows_at(feats, np.array([0.0]), 0.2)[0]  # rows -5..4: five of silence
    assert torch.allclose(before_start[:5], front.silence.expand(5, -1))
    assert torch.equal(before_start[5:], feats.values[:5])
    cfg = get_preset("tiny", audio_frontend="whisper", audio_encoder_dir=str(whisper_dir), audio_window_s=0.2)
    model = OmniSyncDiT(cfg)  # reads d_model from the saved config
    assert model.audio_channels == WHISPER_D_MODEL and model.audio_window == 10
    windows = windows_at(build_audio_frontend(cfg).features(wave), np.arange(4) / 25, 0.2)[None]
    x = torch.zeros(1, 4, 3, 16, 16)
    assert model(x, torch.tensor([0.5]), x, windows).shape == x.shape


def test_whisper_errors_name_the_directory(tmp_path):
    with pytest.raises(WeightsError, match=str(tmp_path)):
        WhisperFrontend(tmp_path)
