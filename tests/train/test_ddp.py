"""Two CPU processes under DDP (gloo), set up the way torchrun sets them up (environment
variables): both ranks end with identical weights, having trained on different data."""

import os
import socket

import torch
import torch.multiprocessing as mp

from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.loop import train
from tests.train.fake_corpus import FakeCorpus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    losses = []

    def record(info):
        losses.append(info.loss)
        if info.step == 3:
            torch.save({"model": info.model.state_dict(), "losses": losses},
                       os.path.join(out_dir, f"rank{rank}.pt"))

    # Each rank is given its own run folder, so a file written by rank 1 would show.
    cfg = TrainConfig(preset="tiny", out_dir=os.path.join(out_dir, f"run-rank{rank}"), steps=3, batch_size=2,
                      lr=2e-3, warmup_steps=1, checkpoint_every=3, sample_every=0, log_every=1,
                      device="cpu", mouth_loss_weight=4.0, viseme_loss_weight=1.0)
    train(cfg, FakeCorpus(), progress=False, on_step=record)


def test_two_processes_end_with_identical_weights(tmp_path):
    # spawn, not fork: by this point of the suite the parent runs threads (torch's pools,
    # earlier tests' readers), and a forked child can inherit a lock one of them held and
    # wait on it forever (seen once in CI: rank 0 idle in train(), the parent in join()).
    # Spawned children import torch again (a few seconds each) but start clean.
    mp.start_processes(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(v, r1["model"][k]) for k, v in r0["model"].items())
    assert r0["losses"] != r1["losses"]  # each rank had its own shard of the data
    assert (tmp_path / "run-rank0" / "model.safetensors").is_file()  # written by rank 0 ...
    assert not (tmp_path / "run-rank1").exists()                      # ... and nothing by rank 1
