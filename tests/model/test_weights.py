"""Weights I/O: safetensors + config.json round trip, no pickle, and an error per failure."""

import json

import pytest
import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import CONFIG_FILE, WEIGHTS_FILE, load_model, save_model
from tests.model.test_dit import inputs, perturbed


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = perturbed(OmniSyncDiT(get_preset("tiny")))
    save_model(model, tmp_path / "w")
    return model, tmp_path / "w"


def test_round_trip_gives_the_same_outputs_without_pickle(saved, monkeypatch):
    model, path = saved
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load (pickle) used"))
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    kw = inputs(model)
    assert torch.equal(loaded(**kw), model(**kw))
    doc = json.loads((path / CONFIG_FILE).read_text())
    assert doc["format"] == "omnisync-dit" and doc["model"]["region_size"] == 16


def test_missing_directory_and_files(tmp_path, saved):
    _, path = saved
    with pytest.raises(WeightsError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    (path / WEIGHTS_FILE).unlink()
    with pytest.raises(WeightsError, match=WEIGHTS_FILE):
        load_model(path)
    (path / CONFIG_FILE).unlink()
    with pytest.raises(WeightsError, match=CONFIG_FILE):
        load_model(path)


def test_truncated_weights(saved):
    _, path = saved
    data = (path / WEIGHTS_FILE).read_bytes()
    (path / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=f"{WEIGHTS_FILE}.*truncated"):
        load_model(path)


def test_config_that_does_not_match_the_weights(saved):
    _, path = saved
    doc = json.loads((path / CONFIG_FILE).read_text())
    doc["model"]["hidden_size"] = 64
    (path / CONFIG_FILE).write_text(json.dumps(doc))
    with pytest.raises(WeightsError, match="wrong shapes"):
        load_model(path)
    doc["model"]["hidden_size"] = 32
    doc["model"]["depth"] = 3
    (path / CONFIG_FILE).write_text(json.dumps(doc))
    with pytest.raises(WeightsError, match="missing"):
        load_model(path)


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "other", "model": {}}), "not an omnisync model config"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"colour": 1}}), "Unknown model config keys"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"attention": "sparse"}}), "attention"),
    (json.dumps({"format": "omnisync-dit", "version": 9, "model": {}}), "version"),
    (json.dumps({"format": "omnisync-dit", "version": "1", "model": {}}), "version '1'; this omnisync reads version 1"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"num_heads": 0}}), "num_heads must be at least 1"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"patch_size": 0}}), "patch_size must be at least 1"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"depth": 6.5}}), "depth must be a whole number"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"hidden_size": "192"}}), "hidden_size must be a"),
    (json.dumps({"format": "omnisync-dit", "version": 1, "model": {"hidden_size": None}}), "hidden_size must be a"),
])
def test_bad_config_files_name_the_file(saved, content, message):
    _, path = saved
    (path / CONFIG_FILE).write_text(content)
    with pytest.raises(WeightsError, match=message) as info:
        load_model(path)
    assert CONFIG_FILE in str(info.value)


def test_whisper_conditioned_weights_load_without_the_whisper_directory(whisper_dir, tmp_path):
    cfg = get_preset("tiny", audio_frontend="whisper", audio_encoder_dir=str(whisper_dir))
    save_model(OmniSyncDiT(cfg), tmp_path)
    doc = json.loads((tmp_path / CONFIG_FILE).read_text())
    doc["model"]["audio_encoder_dir"] = str(tmp_path / "moved-away")
    (tmp_path / CONFIG_FILE).write_text(json.dumps(doc))
    model = load_model(tmp_path)  # the audio encoder's width comes from the weights
    assert model.audio_channels == OmniSyncDiT(cfg).audio_channels
