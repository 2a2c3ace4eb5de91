"""Files as omnisync writes them: with the permissions any program gives a file it writes."""

import os
import stat

import numpy as np
import pytest
import torch

from omnisync_cli.bench.instrument_weights import save_instrument
from omnisync_cli.data.shards import ShardWriter
from omnisync_cli.face.localiser import LocaliserConfig
from omnisync_cli.face.localiser_net import LocaliserNet, save_localiser
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import save_model
from omnisync_cli.train.checkpoint import save_checkpoint


@pytest.fixture
def umask_027():
    before = os.umask(0o027)
    yield
    os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_weights_checkpoints_and_shards_get_a_new_files_permissions(tmp_path, umask_027):
    """0666 less the umask, not the 0600 of safetensors' temporary file."""
    save_model(OmniSyncDiT(get_preset("tiny")), tmp_path / "model")
    save_localiser(LocaliserNet(LocaliserConfig()), LocaliserConfig(), tmp_path / "localiser")
    save_instrument(torch.nn.Linear(2, 2), tmp_path / "instrument", {"format": "test"})
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", {"step": 1})
    shards = ShardWriter(tmp_path / "corpus")
    shards.add("clip", {"fps": 25.0}, np.zeros((1, 2, 4, 4, 3), np.uint8), np.zeros((2, 2)), np.zeros((1, 8)))
    shards.close()
    written = {str(p.relative_to(tmp_path)): mode(p) for p in tmp_path.rglob("*") if p.is_file()}
    assert "model/model.safetensors" in written and "corpus/shard-00000.safetensors" in written
    assert written == dict.fromkeys(written, 0o640)


def test_rewritten_weights_keep_the_permissions_given_to_them(tmp_path, umask_027):
    folder = save_model(OmniSyncDiT(get_preset("tiny")), tmp_path / "model")
    (folder / "model.safetensors").chmod(0o664)
    save_model(OmniSyncDiT(get_preset("tiny")), folder)
    assert mode(folder / "model.safetensors") == 0o664
