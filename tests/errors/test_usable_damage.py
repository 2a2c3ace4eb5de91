"""A truncated video whose beginning still decodes is dubbed from that part, with one warning
line that says how much was usable; never silently."""

import pytest
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.media.video import probe_video
from tests.errors.bad_inputs import write_faststart_clip
from tests.media.clips import tone, truncate, write_audio, write_clip

runner = CliRunner()


@pytest.mark.parametrize("name", ["cut.mkv", "cut.avi", "cut.webm", "cut-faststart.mp4"])
def test_truncated_video_is_dubbed_with_one_warning(tmp_path, name):
    video = tmp_path / name
    if name.endswith(".mp4"):
        write_faststart_clip(video, frames=100)
    else:
        write_clip(video, n_frames=100, **({"codec": "libvpx-vp9", "options": {}} if name.endswith(".webm") else {}))
    truncate(video, 0.6)
    write_audio(tmp_path / "speech.wav", tone(2.0, 16000), 16000)
    result = runner.invoke(app, ["dub", str(video), str(tmp_path / "speech.wav"), "-o", str(tmp_path / "out.mp4"),
                                 "--passthrough", "--region", "20,14,24,24", "--json"])
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and " of 100 frames could be decoded" in warnings[0]
    assert "truncated" in warnings[0]
    assert probe_video(tmp_path / "out.mp4").frame_count == 50  # the speech's length all the same


def test_a_video_of_which_less_than_half_decodes_is_refused(tmp_path):
    video = tmp_path / "cut.mkv"
    write_clip(video, n_frames=100)
    truncate(video, 0.2)
    write_audio(tmp_path / "speech.wav", tone(2.0, 16000), 16000)
    result = runner.invoke(app, ["dub", str(video), str(tmp_path / "speech.wav"), "-o", str(tmp_path / "out.mp4"),
                                 "--passthrough", "--region", "20,14,24,24", "-q"])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and " of 100 frames could be decoded" in line and "re-export it" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mkv", "speech.wav"]


def test_a_whole_video_gives_no_warning(tmp_path):
    write_clip(tmp_path / "in.mkv", n_frames=30)
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    result = runner.invoke(app, ["dub", str(tmp_path / "in.mkv"), str(tmp_path / "speech.wav"), "-o",
                                 str(tmp_path / "out.mp4"), "--passthrough", "--region", "20,14,24,24", "--json"])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize(("transfer", "pix_fmt", "warned"), [(18, "yuv422p10le", True), (18, "yuv420p10le", False),
                                                         (1, "yuv420p10le", False)])
def test_hdr_video_kept_as_sdr_is_dubbed_with_one_warning_that_says_so(tmp_path, transfer, pix_fmt, warned):
    """HDR the dub cannot write as HDR (here 4:2:2) dubs, and the user is told the dub is
    standard range; an iPhone's 4:2:0 HLG clip stays HDR (tests/pipeline/test_hdr.py)."""
    from tests.media.clips import write_tagged_clip
    write_tagged_clip(tmp_path / "in.mp4", transfer=transfer, n_frames=10, pix_fmt=pix_fmt)
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    result = runner.invoke(app, ["dub", str(tmp_path / "in.mp4"), str(tmp_path / "speech.wav"), "-o",
                                 str(tmp_path / "out.mp4"), "--passthrough", "--region", "20,14,24,24", "--json"])
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert (len(warnings) == 1 and "HDR video (HLG)" in warnings[0] and "without tone mapping" in warnings[0]) == warned
    assert warned or not warnings
