"""Fixtures of the training tests."""

import pytest

from tests.train.fake_corpus import FakeCorpus


@pytest.fixture
def corpus():
    return FakeCorpus()


@pytest.fixture(autouse=True)
def _single_thread(one_torch_thread):
    """Every training test on one torch thread (tests/conftest.py)."""
