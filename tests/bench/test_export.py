"""A training checkpoint's EMA weights become a weights directory the pipeline loads."""

import pytest
import torch

from omnisync_cli.bench.export import export_weights
from omnisync_cli.errors import WeightsError
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import load_model


@pytest.mark.parametrize("grown", [{}, {"output_flow": True}])
def test_export_saves_the_ema_not_the_raw_weights(tmp_path, grown):
    torch.manual_seed(0)
    config = get_preset("tiny", **grown)
    model, ema = OmniSyncDiT(config), OmniSyncDiT(config)
    # The fields train.loop's checkpoint() writes that export reads: the run grows the preset.
    run = {"preset": "tiny", **grown}
    torch.save({"config": run, "step": 200, "model": model.state_dict(),
                "ema": ema.state_dict(), "optimizer": {}}, tmp_path / "checkpoint.pt")
    assert export_weights(tmp_path / "checkpoint.pt", tmp_path / "weights") == 200
    loaded = load_model(tmp_path / "weights")
    assert loaded.config == config
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, ema.state_dict()[key])
    assert not torch.equal(loaded.patch_embed.proj.weight, model.patch_embed.proj.weight)


def test_export_of_a_file_that_is_no_checkpoint_says_so(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable omnisync training checkpoint"):
        export_weights(tmp_path / "checkpoint.pt", tmp_path / "weights")
    with pytest.raises(WeightsError):
        export_weights(tmp_path / "missing.pt", tmp_path / "weights")
