"""The dub pipe where no mouth is found: refused, or passed through where the mouth is absent."""

import numpy as np
import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.face import localiser as localiser_module
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from tests.media.clips import tone, write_audio, write_clip
from tests.pipeline.test_dub import read_all

FPS = 10


class PaintEditor(PassthroughEditor):
    """Paints every crop white: wherever the pipe lets it edit, it shows."""

    def edit(self, crops, frame_times, mouth_xy, audio):
        return np.full_like(crops, 255)


class FirstSecondLocaliser:
    """Sees a mouth at (40, 30) on dark frames only (the first second of the clip below)."""

    config = localiser_module.LocaliserConfig()

    def detect(self, image):
        if image.mean() > 60:
            return []
        return [FaceObservation(40.0, 30.0, 24.0, (28.0, 16.0, 52.0, 36.0), 0.9)]

    def mouth_score(self, image, x, y, face_width):
        return 0.0 if image.mean() > 60 else 0.9


def frames(n: int) -> list[np.ndarray]:
    """1 s of a dark picture, then a bright one (the character leaves)."""
    out = []
    for i in range(n):
        frame = np.full((48, 64, 3), 40 if i < FPS else 120, np.uint8)
        frame[::8] += 10  # some texture
        out.append(frame)
    return out


@pytest.fixture
def no_mediapipe():
    return FaceConfig(use_mediapipe=False)


def test_a_long_stretch_without_a_mouth_passes_through_unedited(tmp_path, monkeypatch, no_mediapipe):
    monkeypatch.setattr(localiser_module, "open_localiser", lambda directory=None: FirstSecondLocaliser())
    source = frames(3 * FPS)
    write_clip(tmp_path / "in.mp4", frames=source, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(3.0, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PaintEditor(region_size=16, segment_frames=4, overlap_frames=1),
                 DubOptions(face=no_mediapipe, crf=0, focus=0.0))
    out = read_all(tmp_path / "out.mp4")
    assert report.track_source == "localiser" and report.frames_unedited >= FPS
    assert all(f.max() == 255 for f in out[:FPS - 2])          # the mouth's second: edited
    assert all(f.max() < 200 for f in out[2 * FPS + 2:])       # long after it left: as the source


def test_a_video_without_any_mouth_is_refused_without_output(tmp_path, monkeypatch, no_mediapipe):
    monkeypatch.setattr(localiser_module, "open_localiser", lambda directory=None: FirstSecondLocaliser())
    write_clip(tmp_path / "in.mp4", frames=frames(3 * FPS)[FPS:], width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    with pytest.raises(InputError, match="no mouth found.*--mouth X,Y or --region"):
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PaintEditor(region_size=16),
            DubOptions(face=no_mediapipe))
    assert not (tmp_path / "out.mp4").exists()
    # Asked for, the frame centre is edited instead.
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PaintEditor(region_size=16),
                 DubOptions(face=FaceConfig(use_mediapipe=False, centre_fallback=True)))
    assert report.track_source == "centre"


@pytest.mark.skipif(not (localiser_module.BUNDLED_LOCALISER / "model.safetensors").is_file(),
                    reason="no bundled localiser")
def test_the_cli_refuses_a_video_with_no_character_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from omnisync_cli.cli import app

    rng = np.random.default_rng(0)
    background = [np.clip(np.full((96, 128, 3), 90) + rng.normal(0, 3, (96, 128, 3)), 0, 255).astype(np.uint8)
                  for _ in range(20)]
    write_clip(tmp_path / "empty.mp4", frames=background, width=128, height=96, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    result = CliRunner().invoke(app, ["dub", str(tmp_path / "empty.mp4"), str(tmp_path / "speech.wav"),
                                      "-o", str(tmp_path / "out.mp4"), "--passthrough", "--quiet"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no mouth found" in lines[0] and "--region" in lines[0]
    assert not any(p.name.startswith("out") or ".out" in p.name for p in tmp_path.iterdir())


class DoubtingLocaliser(FirstSecondLocaliser):
    """Its full-frame look claims a mouth everywhere, surely; the close look at the region sees none."""

    def detect(self, image):
        return [FaceObservation(40.0, 30.0, 24.0, (28.0, 16.0, 52.0, 36.0), 0.9)]

    def mouth_score(self, image, x, y, face_width):
        return 0.0


def test_the_gate_keeps_the_model_off_a_region_without_a_mouth(tmp_path, monkeypatch, no_mediapipe):
    monkeypatch.setattr(localiser_module, "open_localiser", lambda directory=None: DoubtingLocaliser())
    source = frames(FPS)
    write_clip(tmp_path / "in.mp4", frames=source, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PaintEditor(region_size=16),
        DubOptions(face=no_mediapipe, crf=0))
    assert all(f.max() < 200 for f in read_all(tmp_path / "out.mp4"))


class UnsureLocaliser(FirstSecondLocaliser):
    """Sees a 'mouth' on every look, never surely (a pattern, noise, a gift box), except where told."""

    def __init__(self, sure_every: int = 0):
        self.looks, self.sure_every = 0, sure_every

    def detect(self, image):
        self.looks += 1
        sure = self.sure_every and self.looks % self.sure_every == 0
        return [FaceObservation(40.0, 30.0, 24.0, (28.0, 16.0, 52.0, 36.0), 0.9 if sure else 0.45)]


@pytest.mark.parametrize("sure_every,refused", [(0, True), (8, True), (4, False)])
def test_a_mouth_the_localiser_is_never_sure_of_is_no_mouth(tmp_path, monkeypatch, no_mediapipe, sure_every, refused):
    localiser = UnsureLocaliser(sure_every)
    monkeypatch.setattr(localiser_module, "open_localiser", lambda directory=None: localiser)
    write_clip(tmp_path / "in.mp4", frames=frames(3 * FPS)[:FPS] * 3, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    run = lambda: dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",  # noqa: E731
                      PaintEditor(region_size=16), DubOptions(face=no_mediapipe))
    if refused:  # never sure, or sure on one look of 15: not a mouth
        with pytest.raises(InputError, match="only shapes it was unsure of.*--mouth X,Y"):
            run()
        assert not (tmp_path / "out.mp4").exists()
    else:  # sure on a quarter of its looks: followed
        assert run().track_source == "localiser"


def test_black_frames_in_a_fade_stay_black(tmp_path):
    source = frames(3 * FPS)[:FPS] + [np.zeros((48, 64, 3), np.uint8)] * FPS + frames(3 * FPS)[:FPS]
    write_clip(tmp_path / "in.mp4", frames=source, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(3.0, 16000), 16000)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
        PaintEditor(region_size=16, segment_frames=4, overlap_frames=1),
        DubOptions(face=FaceConfig(region=(20.0, 14.0, 24.0, 24.0)), crf=0, focus=0.0))
    out = read_all(tmp_path / "out.mp4")
    assert all(f.max() == 255 for f in out[:FPS - 1])  # a textured region: painted
    assert all(f.max() <= 2 for f in out[FPS + 1:2 * FPS - 1])  # black: kept black


class SceneLocaliser(FirstSecondLocaliser):
    """Sees the mouth at (40, 30) on the dark character frames, nothing on the cutaway."""

    def detect(self, image):
        if image[:, :, 1].mean() > image[:, :, 0].mean() + 20:  # the green cutaway
            return []
        return [FaceObservation(40.0, 30.0, 24.0, (28.0, 16.0, 52.0, 36.0), 0.9)]


def test_a_short_cutaway_to_another_scene_is_not_edited(tmp_path, monkeypatch, no_mediapipe):
    monkeypatch.setattr(localiser_module, "open_localiser", lambda directory=None: SceneLocaliser())
    character = frames(FPS)  # dark, textured rows
    grass = np.zeros((48, 64, 3), np.uint8)
    grass[:, :, 1] = 120
    grass[:, ::5] = (30, 160, 30)  # another texture, another scene
    source = character * 2 + [grass] * 6 + character * 2  # a 0.6 s cutaway: shorter than a filled gap
    write_clip(tmp_path / "in.mp4", frames=source, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(len(source) / FPS, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PaintEditor(region_size=16, segment_frames=4, overlap_frames=1),
                 DubOptions(face=no_mediapipe, crf=0, focus=0.0))
    out = read_all(tmp_path / "out.mp4")
    assert report.frames_filled >= 5  # the cutaway's frames were filled from the neighbours...
    assert all(f.max() == 255 for f in out[:2 * FPS - 1])  # the character: edited
    assert all(f.max() < 200 for f in out[2 * FPS + 1:2 * FPS + 5])  # ...but not edited
