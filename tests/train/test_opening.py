"""The opening meter: truth and pause tracks from an utterance, training on shards, weights."""

import json

import numpy as np
import pytest
import torch

from omnisync_cli.bench.opening import (OpeningConfig, OpeningMeter, load_opening_meter, pause_frames,
                                        save_opening_meter, true_opening)
from omnisync_cli.data.shards import ShardWriter
from omnisync_cli.errors import WeightsError
from omnisync_cli.train.opening import OpeningTrainConfig, train_opening
from tests.train.fake_corpus import FakeCorpus

TINY = OpeningConfig(mouth_px=16, mouth_span=0.8, widths=(8, 16))
UTTERANCE = {"amplitude": 1.0, "phonemes": [["", 0.0, 0.5], ["a", 0.5, 0.8], ["m", 0.8, 0.9],
                                            ["a", 0.9, 1.2], ["", 1.2, 2.0]]}


def test_true_opening_is_shut_in_pauses_and_open_on_vowels():
    fps = 25.0
    opening = true_opening(UTTERANCE, fps, 60)
    assert opening.shape == (60,)
    assert np.all(opening[:8] < 0.05) and np.all(opening[-10:] < 0.05)  # 0-0.3 s and 2.0-2.4 s
    assert opening[int(0.65 * fps)] > 0.3  # the first "a"


def test_pause_frames_keep_margins_and_count_the_tail():
    quiet = pause_frames(UTTERANCE, 10.0, 25)  # frames at 0.0, 0.1, ..., 2.4 s
    expected = np.zeros(25, bool)
    expected[[1, 2, 3, 4]] = True  # the first pause 0-0.5 s, 0.1 s in from each end
    expected[13:20] = True  # 1.3-1.9 s of the second
    expected[21:] = True  # after the last sound ends at 2.0 s (+0.1 s)
    assert np.array_equal(quiet, expected), np.flatnonzero(quiet)


@pytest.fixture(scope="module")
def shard_corpus(tmp_path_factory):
    """FakeCorpus clips with their visemes (the opening) as shards."""
    path = tmp_path_factory.mktemp("opening-corpus")
    fake = FakeCorpus(characters=4, clips_per_character=2, frames=40, size=32, seed=3)
    writer = ShardWriter(path, clips_per_shard=4)
    for i, clip in enumerate(fake.clips):
        meta = {"character_id": fake.infos[i].character, "fps": clip.fps, "utterances": [{}] * len(clip.crops)}
        writer.add(f"clip{i}", meta, np.stack(clip.crops), clip.mouth_xy[0], np.stack(clip.waveforms),
                   visemes=np.stack(clip.visemes))
    writer.close()
    return path, fake


def test_meter_learns_the_opening_of_training_crops(shard_corpus, tmp_path):
    path, fake = shard_corpus
    torch.manual_seed(0)
    out = train_opening(OpeningTrainConfig(corpus=str(path), out_dir=str(tmp_path), steps=150, batch_size=32,
                                           lr=3e-3, frame_stride=1, model=TINY), say=lambda line: None)
    meter = load_opening_meter(out)
    assert meter.config == TINY
    clip = fake.clips[0]
    reading = meter.measure(clip.crops[0], clip.mouth_xy[0])
    truth = clip.visemes[0][:, 0]
    assert np.corrcoef(reading, truth)[0, 1] > 0.8
    info = json.loads((tmp_path / "training.json").read_text())
    assert info["examples"] == 8 * 2 * 40 and info["log"][-1]["step"] == 150


def test_weights_round_trip_and_damage_is_one_error(tmp_path):
    torch.manual_seed(0)
    meter = OpeningMeter(TINY)
    save_opening_meter(meter, tmp_path)
    crops = np.random.default_rng(0).integers(0, 255, (3, 24, 24, 3), dtype=np.uint8)
    assert np.allclose(load_opening_meter(tmp_path).measure(crops), meter.measure(crops), atol=1e-6)
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(WeightsError, match="damaged"):
        load_opening_meter(tmp_path)
    with pytest.raises(WeightsError, match="not found"):
        load_opening_meter(tmp_path / "missing")
