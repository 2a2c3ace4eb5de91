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


def test_a_checkpoint_of_another_training_command_is_refused_in_one_line(tmp_path):
    """`train --out` on a `train-localiser` run (and every other pairing) read the wrong keys."""
    import pytest

    from omnisync_cli.errors import ConfigError
    from omnisync_cli.train.checkpoint import check_run_kind
    localiser_state = {"settings": "{}", "model": {}, "optimizer": {}, "scheduler": {}, "sampler": "{}", "step": 1}
    with pytest.raises(ConfigError, match="holds a checkpoint of another kind of training run, not of `omnisync train`"):
        check_run_kind(tmp_path, localiser_state, ("config", "model", "ema"), "train")
    check_run_kind(tmp_path, localiser_state, ("settings", "model", "sampler"), "train-localiser")  # its own: fine
