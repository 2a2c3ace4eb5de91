"""A tiny benchmark split (3 clips, one per category, 0.5 s of 96 px frames) and a tiny model
that edits, built once per session."""

from dataclasses import replace

import pytest
import torch


@pytest.fixture(scope="session")
def bench_corpus(tmp_path_factory):
    from omnisync_cli.data.corpus import PRESETS, build_corpus

    path = tmp_path_factory.mktemp("corpus")
    build_corpus(path, replace(PRESETS["tiny"], identities=0, clip_seconds=0.5))  # bench only
    return path


@pytest.fixture(scope="session")
def faceless_corpus(bench_corpus, tmp_path_factory):
    """The tiny benchmark split with its last clip's source a flat grey picture: a clip in which
    the pipeline finds no mouth, as `omnisync bench` meets one."""
    import shutil

    import numpy as np

    from omnisync_cli.bench.runner import load_manifest
    from omnisync_cli.media.video import probe_video
    from tests.media.clips import write_clip

    path = tmp_path_factory.mktemp("faceless") / "corpus"
    shutil.copytree(bench_corpus, path)
    clip = load_manifest(path)[-1]
    info = probe_video(clip.source)
    write_clip(clip.source, n_frames=clip.frames, width=info.width, height=info.height, fps=round(clip.fps),
               frames=[np.full((info.height, info.width, 3), 128, np.uint8)] * clip.frames)
    return path


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """An untrained tiny model whose output layer is not zero: a freshly initialised one
    predicts x = source exactly (a no-op), which would not show the model being run."""
    from omnisync_cli.model.config import get_preset
    from omnisync_cli.model.dit import OmniSyncDiT
    from omnisync_cli.model.weights import save_model

    torch.manual_seed(0)
    model = OmniSyncDiT(get_preset("tiny"))
    torch.nn.init.normal_(model.final_layer.linear.weight, std=0.02)
    return save_model(model, tmp_path_factory.mktemp("weights"))


@pytest.fixture(autouse=True)
def _single_thread(one_torch_thread):
    """Every benchmark test on one torch thread (tests/conftest.py)."""
