"""The sync expert's scoring (LSE-D / LSE-C / offset), crops, weights I/O and the recovery R."""

import json

import numpy as np
import pytest
import torch

from omnisync_cli.bench.scores import sync_recovery
from omnisync_cli.bench.sync import (SyncConfig, SyncExpert, load_sync_expert, mouth_windows, offset_distances,
                                     save_sync_expert, stack_windows, summarise_distances)
from omnisync_cli.errors import WeightsError
from omnisync_cli.model.audio import AudioFeatures

TINY = SyncConfig(widths=(8, 16), embed_dim=16, audio_hidden=8, audio_frontend="logmel", max_offset=6)


def test_lse_of_per_offset_distances():
    dists = np.array([1.0, 0.9, 0.5, 0.95, 1.1])  # offsets -2 .. 2
    score = summarise_distances(dists, max_offset=2)
    assert score.offset == 0
    assert score.lse_d == pytest.approx(0.5)
    assert score.lse_c == pytest.approx(0.95 - 0.5)  # median - min


def test_mouth_windows_centre_the_mouth():
    crops = np.zeros((2, 96, 96, 3), np.uint8)
    crops[0, 60:64, 20:24] = 255  # a white mark at (22, 62) px = (0.229, 0.646)
    crops[1, 46:50, 46:50] = 255  # at the centre
    mouths = mouth_windows(crops, np.array([[22 / 96, 62 / 96], [0.5, 0.5]]), SyncConfig())
    assert mouths.shape == (2, 48, 48, 3)
    for m in mouths:
        ys, xs = np.nonzero(m[..., 0] > 64)
        assert abs(xs.mean() - 23.5) < 1.5 and abs(ys.mean() - 23.5) < 1.5


class _Planted(SyncExpert):
    """Embeds a video window by its middle frame's brightness and an audio window by its
    middle row, both as a point on a circle: equal values give distance 0."""

    def embed_video(self, windows):
        k = self.config.frames // 2
        return _circle(windows[:, 3 * k:3 * k + 3].mean((1, 2, 3)))

    def embed_audio(self, windows):
        return _circle(windows[:, windows.shape[1] // 2, 0])


def _circle(v):
    return torch.stack([torch.cos(v * 3), torch.sin(v * 3)], -1)


def test_offset_distances_find_a_planted_shift():
    """The mouth at frame t shows the sound of frame t - 3 (the picture lags the sound), so
    the best offset, audio frame t + k against video frame t, is k = -3."""
    rng = np.random.default_rng(0)
    fps, frames, lag = 25.0, 60, 3
    sound = rng.uniform(0, 1, frames + 20).astype(np.float32)
    brightness = np.concatenate([np.zeros(lag, np.float32), sound[:frames - lag]])  # before the track: silence, 0
    mouths = (np.broadcast_to(brightness[:, None, None, None], (frames, 48, 48, 3)) * 255).round().astype(np.uint8)
    feats = AudioFeatures(torch.from_numpy(sound[:, None].repeat(4, 1)), rate=fps, pad_value=0.0)
    expert = _Planted(TINY, 4)
    dists = offset_distances(expert, mouths, feats, fps)
    score = summarise_distances(dists, TINY.max_offset)
    assert score.offset == -lag
    assert score.lse_d < 0.05 and score.lse_c > 0.3


class _FrameFrontend:
    """Audio features = the waveform's value at each video frame (25 per second)."""

    def features(self, waveform):
        rows = torch.from_numpy(np.asarray(waveform[::640], np.float32))
        return AudioFeatures(rows[:, None].repeat(1, 4), rate=25.0, pad_value=0.0)


def test_window_accuracy_of_a_perfect_expert():
    """With the planted expert every in-sync window beats every shift and the other clip."""
    from omnisync_cli.bench.sync import SyncScorer
    from omnisync_cli.bench.sync_check import SyncClip, window_accuracy

    rng = np.random.default_rng(1)
    clips = []
    for i, group in enumerate(("seen", "heldout-head")):
        sound = rng.uniform(0.2, 1.0, 50).astype(np.float32)
        crops = (np.broadcast_to(sound[:, None, None, None], (50, 96, 96, 3)) * 255).round().astype(np.uint8)
        clips.append(SyncClip(id=str(i), group=group, fps=25.0, target=crops, noop=crops[::-1].copy(),
                              speech=np.repeat(sound, 640)))
    acc = window_accuracy(SyncScorer(_Planted(TINY, 4), _FrameFrontend()), clips)
    for group in ("seen", "heldout", "all"):
        row = acc[group]
        assert row["shift"] > 0.97 and row["other"] > 0.9 and row["offset_ok"] == 1.0
        assert row["speech_windows"] == row["windows"] and row["segment_shift"] > 0.99
    assert acc["all"]["clips"] == 2 and acc["seen"]["clips"] == 1 and acc["heldout"]["windows"] == 46


def test_speaking_marks_the_windows_with_sound():
    from omnisync_cli.bench.sync_check import speaking

    x = np.zeros(32000, np.float32)
    x[8000:16000] = np.sin(np.arange(8000) * 0.3)  # sound from 0.5 s to 1 s: frames 12.5 .. 25
    on = speaking(x, np.arange(2, 48), 25.0, 5)
    assert not on[:8].any() and on[10:22].all() and not on[26:].any()


def test_stack_windows_orders_frames_then_channels():
    mouths = np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones((6, 4, 4, 3), np.uint8)
    x = stack_windows(mouths, np.array([1]), 3)
    assert x.shape == (1, 9, 4, 4)
    assert torch.allclose(x[0, ::3, 0, 0] * 255, torch.tensor([1.0, 2.0, 3.0]))


def test_weights_round_trip_and_damage(tmp_path):
    torch.manual_seed(0)
    expert = SyncExpert(TINY, audio_channels=80).eval()
    save_sync_expert(expert, tmp_path)
    loaded = load_sync_expert(tmp_path)
    x = torch.rand(2, 15, 48, 48)
    assert torch.allclose(loaded.embed_video(x), expert.embed_video(x))
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["model"]["embed_dim"] = 32
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(WeightsError, match="does not match"):
        load_sync_expert(tmp_path)
    with pytest.raises(WeightsError, match="train-sync"):
        load_sync_expert(tmp_path / "missing")


def test_sync_recovery():
    assert sync_recovery({"lse_c": 0.3}, {"lse_c": 0.1}, {"lse_c": 0.5}) == {"sync_r": pytest.approx(0.5)}
    assert sync_recovery({"lse_c": 0.1}, {"lse_c": 0.1}, {"lse_c": 0.5})["sync_r"] == pytest.approx(0.0)
    assert sync_recovery({"lse_c": 0.3}, {"lse_c": 0.5}, {"lse_c": 0.5}) == {}  # truth no better than no-op
    assert sync_recovery({}, {"lse_c": 0.1}, {"lse_c": 0.5}) == {}


def test_bundled_expert_scores_a_benchmark_clip(bench_corpus):
    """The shipped expert loads and scores a benchmark clip end to end (crops, features, offsets)."""
    from omnisync_cli.bench.runner import load_manifest
    from omnisync_cli.bench.sync import open_sync_scorer
    from omnisync_cli.bench.sync_check import load_sync_clip

    scorer = open_sync_scorer()
    clip = load_sync_clip(load_manifest(bench_corpus)[0])
    score = scorer.score(clip.target, clip.speech, clip.fps)
    assert np.isfinite(score.lse_d) and score.lse_c >= 0
    assert abs(score.offset) <= scorer.config.max_offset


def test_benchmark_scores_sync_of_output_truth_and_noop(bench_corpus, tmp_path):
    """The runner scores every dub's sync, the ground truth's once per clip, and R per dub
    (the no-op's own R is 0 by definition)."""
    from omnisync_cli.bench.runner import run_benchmark
    from omnisync_cli.bench.variants import get_variants

    results = run_benchmark(bench_corpus, get_variants("no-op"), tmp_path, clips=1, strip_clips=0)
    clip = results["clips"][0]
    assert set(clip["truth_sync"]) == {"lse_c", "lse_d", "sync_offset"}
    scores = clip["variants"]["no-op"]["scores"]
    assert {"lse_c", "lse_d", "sync_offset"} <= set(scores)
    if "sync_r" in scores:  # only where the truth scores surer than the no-op
        assert scores["sync_r"] == pytest.approx(0.0)
    row = results["summary"]["no-op"]["all"]
    assert row["truth_lse_c"] == pytest.approx(clip["truth_sync"]["lse_c"], abs=1e-4)
    assert row["noop_lse_d"] == pytest.approx(scores["lse_d"], abs=1e-4)
