"""Fixtures of the training tests."""

import pytest
import torch

from tests.train.fake_corpus import FakeCorpus


@pytest.fixture
def corpus():
    return FakeCorpus()


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on 2 cores shared with other jobs, two spinning OpenMP threads
    make the tiny model's steps 10x slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
