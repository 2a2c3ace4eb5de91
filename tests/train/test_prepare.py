"""prepare-data: a folder of real talking videos -> training shards that training reads."""

import json
from fractions import Fraction

import numpy as np
import pytest

from omnisync_cli.data.corpus import PRESETS as CORPUS_PRESETS
from omnisync_cli.data.corpus import build_corpus
from omnisync_cli.data.prepare import PrepareConfig, clip_spans, prepare_data
from omnisync_cli.data.shards import CorpusReader
from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.loop import train

FPS, SIDE, SECONDS = 25, 64, 2.6


def write_talking_video(path, seed=0):
    """A grey 'face' with a dark mouth that opens and closes, plus a tone as speech."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * FPS)
    t = np.arange(int(SECONDS * 16000)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    with VideoWriter(path, SIDE, SIDE, Fraction(FPS), audio) as writer:
        for j in range(n):
            img = np.full((SIDE, SIDE, 3), 40, np.uint8)
            img[16:48, 16:48] = rng.integers(150, 170)
            opening = 1 + int(4 * (1 + np.sin(j / 3)))
            img[34:34 + opening, 24:40] = 10
            writer.write(img)


def test_clip_spans_cut_consecutive_clips_and_drop_a_short_tail():
    assert clip_spans(65, 25.0, 1.0, 0.5) == [(0, 25), (25, 50), (50, 65)]
    assert clip_spans(62, 25.0, 1.0, 0.5) == [(0, 25), (25, 50)]  # a 0.48 s tail


def test_prepared_videos_become_shards_that_training_reads(tmp_path):
    videos = tmp_path / "videos"
    (videos / "alice").mkdir(parents=True)
    write_talking_video(videos / "alice" / "take1.mp4", 0)
    write_talking_video(videos / "bob.mp4", 1)
    config = PrepareConfig(clip_seconds=1.0, min_clip_seconds=0.5, crop_size=32,
                           face=FaceConfig(region=(16, 16, 32, 32)))  # no landmarker in the test
    index = prepare_data(videos, tmp_path / "corpus", config)
    assert index["clips"] == 6 and index["videos"] == {"alice/take1.mp4": 3, "bob.mp4": 3}

    reader = CorpusReader(tmp_path / "corpus")
    assert {reader.info(i).character for i in range(len(reader))} == {"real-alice", "real-bob"}
    assert all(reader.info(i).renderings == 1 for i in range(len(reader)))
    clip = reader.load(0)
    assert clip.crops[0].shape == (25, 32, 32, 3) and clip.fps == 25.0
    assert len(clip.waveforms[0]) == 16000  # 25 frames at 25 fps
    np.testing.assert_allclose(clip.mouth_xy[0], 0.5, atol=1e-6)  # the region's centre
    assert abs(float(clip.crops[0][0, 2:14, 2:30].mean()) - 160) < 15  # the face fills the crop
    assert reader.load(2).crops[0].shape[0] == 15  # the 0.6 s tail

    run = dict(preset="tiny", steps=2, batch_size=2, sample_every=0, log_every=1)
    with pytest.warns(UserWarning, match="pseudo-pair"):  # real clips alone leave sigma > 0.85 untrained
        train(TrainConfig(out_dir=str(tmp_path / "real"), **run), tmp_path / "corpus", progress=False)
    # With the synthetic corpus beside it, both branches of Eq. 3 are served.
    build_corpus(tmp_path / "synth", CORPUS_PRESETS["tiny"])
    out = train(TrainConfig(out_dir=str(tmp_path / "both"), **run),
                [tmp_path / "synth", tmp_path / "corpus"], progress=False)
    info = json.loads((out / "training.json").read_text())
    assert info["corpus"]["clips"] == 6 + CORPUS_PRESETS["tiny"].identities and len(info["corpus"]["path"]) == 2
    assert (out / "model.safetensors").is_file()


def test_an_empty_folder_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="no video"):
        prepare_data(tmp_path, tmp_path / "corpus")


def test_no_usable_clip_leaves_no_corpus_folder(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_talking_video(videos / "short.mp4", 0)
    config = PrepareConfig(clip_seconds=10.0, min_clip_seconds=9.0, face=FaceConfig(region=(16, 16, 32, 32)))
    with pytest.raises(InputError, match="no usable clip"):
        prepare_data(videos, tmp_path / "corpus", config)
    assert not (tmp_path / "corpus").exists()
