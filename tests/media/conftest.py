"""Clips shared by several media tests, built once per session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media.clips import pattern, write_clip


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media_clips")


@pytest.fixture(scope="session")
def cfr_clip(clip_dir: Path) -> Path:
    """6 frames, 64x48, 25 fps, lossless H.264."""
    path = clip_dir / "cfr25.mp4"
    write_clip(path, 6, 64, 48, 25)
    return path


@pytest.fixture(scope="session", params=["mp4", "mkv", "ts"])
def gop_clip(clip_dir: Path, request: pytest.FixtureRequest) -> Path:
    """23 frames in GOPs of 4 with B-frames and textured content, so seeking has work to do.

    MP4 seeks exactly by its index; MPEG-TS has none, so seeks land late and must be retried.
    """
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 60, (48, 64, 3), dtype=np.uint8)
    frames = [np.roll(pattern(i, 64, 48) // 2 + texture, i, axis=1) for i in range(23)]
    path = clip_dir / f"gops.{request.param}"
    params = "keyint=4:min-keyint=4:scenecut=0:bframes=2:b-adapt=0"
    options = {"crf": "20", "x264-params": params}
    write_clip(path, width=64, height=48, frames=frames, options=options)
    return path
