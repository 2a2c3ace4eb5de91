"""Sizes of the tiny transformers models the fixtures in conftest.py save."""

WHISPER_D_MODEL = 24
T5_D_MODEL = 16
