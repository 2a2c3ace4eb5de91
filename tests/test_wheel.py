"""A built wheel carries the default model: installed outside the repository, it dubs with
the bundled weights from any folder (no editable install, no `weights/` beside it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnisync_cli.media.audio import load_audio, write_wav

ROOT = Path(__file__).resolve().parents[1]


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel, installed into a folder of its own (its dependencies are this Python's)."""
    pytest.importorskip("setuptools")  # the build backend, used without build isolation
    work = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(ROOT)])
    wheel = next((work / "dist").glob("omnisync_cli-*.whl"))
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(work / "site"), str(wheel)])
    return work


def test_the_wheel_dubs_with_its_bundled_model_from_another_folder(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_wav(elsewhere / "speech.wav", load_audio(ROOT / "examples" / "speech.wav")[8000:16000])  # 0.5 s of its speech
    env = {k: v for k, v in os.environ.items() if k != "OMNISYNC_WEIGHTS"}
    env["PYTHONPATH"] = str(installed / "site")
    where = run([sys.executable, "-c", "import omnisync_cli.pipeline.editor as e; print(e.__file__); "
                 "print(e.BUNDLED_WEIGHTS)"], cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(installed / "site") for p in where), where
    done = run([sys.executable, "-m", "omnisync_cli", "dub", str(ROOT / "examples" / "speaker.mp4"), "speech.wav",
                "-o", "dubbed.mp4", "--json", "--steps", "2"], cwd=elsewhere, env=env)
    report = json.loads(done.stdout)
    assert report["output_frames"] == 12 and (elsewhere / "dubbed.mp4").is_file()
