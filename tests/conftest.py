"""Fixtures shared by every test folder."""

import pytest


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread: on 2 cores shared with other work, two spinning OpenMP
    threads make small models many times slower, not faster."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
