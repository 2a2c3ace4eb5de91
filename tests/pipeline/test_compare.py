"""dub --compare: source | dubbed side by side, frame for frame (ping-pong included), with
the speech, beside the output."""

import numpy as np
import pytest

from omnisync_cli.errors import InputError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.compare import half_size
from omnisync_cli.pipeline import dub as dub_module
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from tests.media.clips import faint_checker, tone, write_audio, write_clip

OPTIONS = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)), compare=True)


class Whiten(PassthroughEditor):
    def __init__(self):
        super().__init__(region_size=16)

    def edit(self, crops, frame_times, mouth_xy, audio):
        return np.full_like(crops, 255)


def levels(n):
    """Frames of one grey level each (10, 30, 50, ...), so each is recognisable (a faint checker:
    the dub keeps flat regions)."""
    return [faint_checker(np.full((48, 64, 3), 10 + 20 * i, np.uint8)) for i in range(n)]


def test_the_comparison_pairs_each_dubbed_frame_with_its_source_frame(tmp_path):
    write_clip(tmp_path / "in.mp4", frames=levels(6), width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)  # 10 frames: ping-pong 0..5..0
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", Whiten(), OPTIONS)
    assert report.comparison == str(tmp_path / "out.compare.mp4")
    with VideoReader(report.comparison) as reader:
        frames = [f.image.astype(int) for f in reader.iter_frames()]
        assert (reader.info.width, reader.info.height) == (128, 48) and reader.info.has_audio
    assert len(frames) == 10
    for j, k in enumerate([0, 1, 2, 3, 4, 5, 4, 3, 2, 1]):
        left, right = frames[j][:, :64], frames[j][:, 64:]
        # (levels 20 apart; the checker adds +-3)
        assert abs(left[4, 4].mean() - (10 + 20 * k)) < 7, j  # the source, outside and inside
        assert abs(left[24, 32].mean() - (10 + 20 * k)) < 7, j
        assert abs(right[4, 4].mean() - (10 + 20 * k)) < 7, j  # the dub keeps the outside...
        assert right[24, 32].mean() > 200, j  # ...and whitened the region


def test_an_existing_comparison_needs_overwrite(tmp_path):
    write_clip(tmp_path / "in.mp4", frames=levels(3), width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.2, 16000), 16000)
    (tmp_path / "out.compare.mp4").write_bytes(b"keep")
    with pytest.raises(OutputError, match="--overwrite"):
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", Whiten(), OPTIONS)
    assert not (tmp_path / "out.mp4").exists() and (tmp_path / "out.compare.mp4").read_bytes() == b"keep"


def test_large_halves_are_scaled_to_fit_1920_together():
    assert half_size(640, 480) == (640, 480)
    assert half_size(3840, 2160) == (960, 540)
    assert half_size(1001, 777) == (960, 746)


def test_the_command_writes_and_names_it(tmp_path):
    from typer.testing import CliRunner

    from omnisync_cli.cli import app
    write_clip(tmp_path / "in.mp4", frames=levels(3), width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.2, 16000), 16000)
    result = CliRunner().invoke(app, ["dub", str(tmp_path / "in.mp4"), str(tmp_path / "speech.wav"), "-o",
                                      str(tmp_path / "out.mp4"), "--passthrough", "--region", "16,8,32,32",
                                      "--compare"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"wrote {tmp_path / 'out.compare.mp4'}: source | dubbed"


def test_a_comparison_that_cannot_be_written_says_the_dub_is(tmp_path, monkeypatch):
    import omnisync_cli.pipeline.dub as dub_module
    write_clip(tmp_path / "in.mp4", frames=levels(6), width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.24, 16000), 16000)

    def full(*args, **kwargs):
        raise OutputError(f"{tmp_path / 'out.compare.mp4'}: writing failed: the disk is full")

    monkeypatch.setattr(dub_module, "write_comparison", full)
    with pytest.raises(OutputError, match="the dub itself is written"):
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", Whiten(), OPTIONS)
    assert (tmp_path / "out.mp4").exists()


class WritesTheComparison(Whiten):
    """An editor during whose work another run writes the --compare video."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def edit(self, crops, frame_times, mouth_xy, audio):
        if not self.path.exists():
            self.path.write_bytes(b"another run's comparison")
        return super().edit(crops, frame_times, mouth_xy, audio)


def test_a_comparison_another_run_wrote_meanwhile_is_kept_without_overwrite(tmp_path):
    """Checked only before the dub, the comparison was then replaced whatever was there (a user tour)."""
    write_clip(tmp_path / "in.mp4", frames=levels(6), width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.24, 16000), 16000)
    theirs = tmp_path / "out.compare.mp4"
    with pytest.raises(OutputError) as raised:
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", WritesTheComparison(theirs), OPTIONS)
    # only the comparison is dropped: the message read "this dub discarded ... the dub itself is written"
    message = str(raised.value)
    assert message.startswith(f"{theirs}: another run wrote this file") and "this comparison discarded" in message
    assert "dub discarded" not in message and message.endswith(f"the dub itself is written: {tmp_path / 'out.mp4'}")
    assert theirs.read_bytes() == b"another run's comparison" and (tmp_path / "out.mp4").exists()


def test_a_source_replaced_while_the_comparison_is_made_gives_no_comparison(tmp_path, monkeypatch):
    """The comparison reads the source again after the dub is in place: a source replaced then
    would be shown beside a dub of the old one (a user tour). It is not written; the dub is."""
    from omnisync_cli.pipeline import compare as compare_module
    write_clip(tmp_path / "in.mp4", frames=levels(6), width=64, height=48)
    write_clip(tmp_path / "other.mp4", frames=levels(6)[::-1], width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.24, 16000), 16000)
    real = compare_module.write_comparison

    def replacing_first(video, *args, **kwargs):
        (tmp_path / "other.mp4").replace(video)
        return real(video, *args, **kwargs)
    monkeypatch.setattr(dub_module, "write_comparison", replacing_first)
    with pytest.raises(InputError, match="in.mp4 changed while it was being dubbed; the comparison was not written") \
            as raised:
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", Whiten(), OPTIONS)
    assert str(raised.value).endswith(f"the dub itself is written: {tmp_path / 'out.mp4'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4", "speech.wav"]
