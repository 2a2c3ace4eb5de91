"""Checkpoint files: atomic, pickle-free, RNG states restored."""

import random

import numpy as np
import torch

from omnisync_cli.train.checkpoint import load_checkpoint, save_checkpoint


def test_checkpoint_round_trip_restores_rng_states(tmp_path):
    path = tmp_path / "checkpoint.pt"
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    save_checkpoint(path, {"step": 7, "weights": torch.arange(4.0), "curve": [[1, 0.5]]})
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    state = load_checkpoint(path)  # weights_only=True: would fail on anything pickled
    assert state["step"] == 7 and state["curve"] == [[1, 0.5]]
    torch.testing.assert_close(state["weights"], torch.arange(4.0))
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected
    assert not (tmp_path / "checkpoint.pt.tmp").exists()
