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


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """The networks ONNX Runtime runs (model.onnx_cpu) are cached in a folder of the test
    session, not in the user's ~/.cache."""
    import os

    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
