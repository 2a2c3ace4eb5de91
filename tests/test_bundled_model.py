"""The model the quick start uses: the committed weights load, are described by their model
card, and dub the bundled example end to end (one sampler step, to keep the suite fast)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.media.video import probe_video
from omnisync_cli.model.weights import load_model
from omnisync_cli.pipeline.editor import BUNDLED_WEIGHTS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_bundled_weights_load_and_come_with_their_card():
    model = load_model(BUNDLED_WEIGHTS)
    assert model.config.audio_frontend == "whisper-ct2"  # the frontend docs/audio-encoder.md chose
    assert model.config.region_size == 64 and 2_000_000 < model.num_parameters() < 6_000_000
    card = (BUNDLED_WEIGHTS / "README.md").read_text()
    assert f"{model.num_parameters():,}" in card
    training = json.loads((BUNDLED_WEIGHTS / "training.json").read_text())
    assert training["parameters"] == model.num_parameters()


def test_bundled_model_dubs_the_bundled_example(tmp_path):
    out = tmp_path / "dubbed.mp4"
    result = CliRunner().invoke(app, ["dub", str(EXAMPLES / "speaker.mp4"), str(EXAMPLES / "speech.wav"),
                                      "-o", str(out), "--steps", "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    info, source = probe_video(out), probe_video(EXAMPLES / "speaker.mp4")
    assert (info.width, info.height) == (source.width, source.height)
    assert info.frame_count == summary["output_frames"] > 0
    assert info.fps == source.fps
