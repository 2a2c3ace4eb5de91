"""Training the sync expert: batches, loss, learning a planted sync, resuming, and the CLI."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from omnisync_cli.bench.sync import SyncConfig, load_sync_expert
from omnisync_cli.cli import app
from omnisync_cli.data.shards import ShardWriter
from omnisync_cli.errors import ConfigError
from omnisync_cli.train.sync import SyncTrainConfig, augment, draw_batch, info_nce, load_sync_data, train_sync
from tests.train.fake_corpus import FakeCorpus

TINY = SyncConfig(widths=(8, 16), embed_dim=16, audio_hidden=8, audio_frontend="logmel", max_offset=6)


@pytest.fixture(scope="module")
def shard_corpus(tmp_path_factory):
    """FakeCorpus clips (the mouth opens with the loudness) written as shards: 3 s at 25 fps."""
    path = tmp_path_factory.mktemp("sync-corpus")
    fake = FakeCorpus(characters=4, clips_per_character=2, frames=75, size=32, seed=1)
    writer = ShardWriter(path, clips_per_shard=4)
    for i, clip in enumerate(fake.clips):
        meta = {"character_id": fake.infos[i].character, "fps": clip.fps, "utterances": [{}] * len(clip.crops)}
        writer.add(f"clip{i}", meta, np.stack(clip.crops), clip.mouth_xy[0], np.stack(clip.waveforms))
    writer.close()
    return path


def test_batches_pair_each_video_window_with_three_audio_windows(shard_corpus):
    from omnisync_cli.data.shards import CorpusReader

    cfg = SyncTrainConfig(corpus=str(shard_corpus), out_dir="", batch_size=5, model=TINY)
    data = load_sync_data([CorpusReader(shard_corpus)], TINY)
    assert len(data.mouths) == 16 and data.partner[0] == 1 and data.partner[1] == 0
    two = load_sync_data([CorpusReader(shard_corpus)] * 2, TINY, max_clips=3)
    assert len(two.mouths) == 12 and two.partner[6:8] == [7, 6]  # partners stay inside their clip
    video, audio = draw_batch(data, cfg, np.random.default_rng(0))
    assert video.shape == (5, 15, 48, 48) and 0 <= video.min() and video.max() <= 1
    assert audio.shape[0] == 15 and audio.shape[2] == 80


def test_augment_keeps_shape_and_range():
    x = torch.rand(4, 15, 48, 48)
    y = augment(x, 5, np.random.default_rng(0))
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1 and not torch.equal(x, y)


def test_info_nce_prefers_matching_pairs():
    torch.manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    others = torch.nn.functional.normalize(torch.randn(16, 16), dim=-1)
    matched = info_nce(v, torch.cat([v, others]), 0.1)
    shuffled = info_nce(v, torch.cat([v.roll(1, 0), others]), 0.1)
    assert matched < 0.1 < shuffled


def test_learns_a_planted_sync_and_resumes(shard_corpus, tmp_path):
    """On clips whose mouth opens with the loudness, a tiny expert trained 100 steps puts the
    in-sync audio nearer than the shifted and the other utterance's for most windows; a
    second call with more steps resumes from the checkpoint."""
    torch.manual_seed(0)
    cfg = SyncTrainConfig(corpus=str(shard_corpus), out_dir=str(tmp_path), steps=100, batch_size=16,
                          lr=3e-3, checkpoint_every=50, model=TINY)
    train_sync(cfg, say=lambda line: None)
    log = json.loads((tmp_path / "training.json").read_text())["log"]
    late = np.mean([e["pair_acc"] for e in log if "pair_acc" in e][-3:])
    assert late > 0.6, f"batch accuracy after training {late} (chance is 1/3)"
    lines = []
    train_sync(SyncTrainConfig(**{**cfg.__dict__, "steps": 110}), say=lines.append)
    assert "resumed at step 100" in lines
    assert json.loads((tmp_path / "training.json").read_text())["log"][-1]["step"] == 110
    assert load_sync_expert(tmp_path).config == TINY
    with pytest.raises(ConfigError, match="other settings \\(batch_size\\)"):  # not a silent change of recipe
        train_sync(SyncTrainConfig(**{**cfg.__dict__, "steps": 120, "batch_size": 8}), say=lines.append)


def test_train_sync_command(shard_corpus, tmp_path):
    out = tmp_path / "expert"
    result = CliRunner().invoke(app, ["train-sync", str(shard_corpus), "--out", str(out), "--steps", "2",
                                      "--batch-size", "4", "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_sync_expert(out).config.audio_frontend == "whisper-ct2"
    assert (out / "training.json").is_file()


def test_train_sync_command_rejects_absurd_flags(shard_corpus, tmp_path):
    result = CliRunner().invoke(app, ["train-sync", str(shard_corpus), "--out", str(tmp_path / "x"),
                                      "--batch-size", "0"])
    assert result.exit_code == 2 and "--batch-size" in result.stderr


def test_a_wrong_val_corpus_is_refused_before_any_training(shard_corpus, tmp_path):
    """It is read at the first checkpoint: a typo there had cost the whole run first (a user tour)."""
    result = CliRunner().invoke(app, ["train-sync", str(shard_corpus), "--out", str(tmp_path / "x"), "--steps", "2",
                                      "--batch-size", "4", "--val-corpus", str(tmp_path / "nonexist"), "--quiet"])
    assert result.exit_code == 2 and "manifest.json not found" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_stop_signal_checkpoints_the_step_it_reached_and_the_run_resumes(shard_corpus, tmp_path):
    """Ctrl-C between the 500-step checkpoints kept nothing of the steps since (a user tour)."""
    import os
    import signal

    from omnisync_cli.stopping import Stopped
    cfg = SyncTrainConfig(corpus=str(shard_corpus), out_dir=str(tmp_path), steps=100, batch_size=4, model=TINY)

    def say(line):
        if line.startswith("step 50/"):
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Stopped):
        train_sync(cfg, say=say)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 50
    lines = []
    train_sync(SyncTrainConfig(**{**cfg.__dict__, "steps": 60}), say=lines.append)
    assert "resumed at step 50" in lines
