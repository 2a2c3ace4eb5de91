"""The whole dub pipe on small generated clips, with the pass-through editor."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from omnisync_cli.errors import ConfigError, InputError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.paste import paste_bounds
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoReader, probe_video
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.editing import edit_every
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.pipeline.timeline import Extend
from tests.media.clips import cartoon, faint_checker, tone, write_audio, write_clip, write_garbage

FIXED_REGION = FaceConfig(region=(20.0, 14.0, 24.0, 24.0))  # no detection: a known box


def textured(i: int, width: int, height: int) -> np.ndarray:
    return cartoon(i, width, height)


def read_all(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f.image for f in reader.iter_frames()]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


class ShiftEditor(PassthroughEditor):
    """Brightens every crop: an edit that must show inside the region and nowhere else."""

    def edit(self, crops, frame_times, mouth_xy, audio):
        return np.clip(crops.astype(int) + 60, 0, 255).astype(np.uint8)


@pytest.fixture
def clip(tmp_path):
    frames = [textured(i, 64, 48) for i in range(10)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=25, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(0.6, 16000), 16000)  # 15 frames: ping-pong
    return tmp_path, frames


# Lossless encoding (crf 0) isolates the pipeline from x264: pixels outside the pasted
# rectangle must come out as decoded. (The default crf's own loss is measured by
# bench/pipeline.py.) Inside, the edit must show.
@pytest.mark.parametrize("editor,margin,floor", [
    (PassthroughEditor(region_size=16), 0, float("inf")),  # an unchanged crop: frame as decoded
    (ShiftEditor(region_size=16), 1, 60.0),  # the rectangle grows to even pixels for 4:2:0
])
def test_output_follows_the_audio_and_keeps_the_source_outside_the_region(clip, editor, margin, floor):
    folder, frames = clip
    out = folder / "out.mp4"
    report = dub(folder / "in.mp4", folder / "speech.wav", out, editor,
                 DubOptions(face=FIXED_REGION, crf=0, focus=0.0))
    info = probe_video(out)
    assert (info.width, info.height, info.fps, info.has_audio) == (64, 48, Fraction(25), True)
    assert report.output_frames == info.frame_count == 15
    assert abs(len(load_audio(out)) / 16000 - 0.6) <= 1 / 25
    decoded = read_all(out)
    source = read_all(folder / "in.mp4")
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7, 6, 5, 4]  # ping-pong past the end
    left, top, right, bottom = paste_bounds(report_box(), 64, 48)
    outside = np.ones((48, 64), bool)
    outside[max(0, top - margin):bottom + margin, max(0, left - margin):right + margin] = False
    shifted = isinstance(editor, ShiftEditor)
    for j, k in enumerate(order):
        assert psnr(decoded[j][outside], source[k][outside]) >= floor
        inside = decoded[j][top + 4:bottom - 4, left + 4:right - 4].mean()
        assert (inside > source[k][top + 4:bottom - 4, left + 4:right - 4].mean() + 30) == shifted


def test_focus_keeps_the_edit_near_the_mouth(clip):
    """The default focus fades the edit with the distance from the mouth: full at the mouth,
    a fraction of it near the region's edge; focus 0 pastes it evenly."""
    folder, _ = clip
    gains = {}
    for focus in (0.0, 0.3):
        out = folder / f"focus{focus}.mp4"
        dub(folder / "in.mp4", folder / "speech.wav", out, ShiftEditor(region_size=16),
            DubOptions(face=FIXED_REGION, crf=0, feather=0.0, focus=focus, redrawn_levels=0.0, chroma_focus=0.0))
        change = read_all(out)[0].astype(float).mean(axis=2) - read_all(folder / "in.mp4")[0].astype(float).mean(axis=2)
        # the mouth (region centre) and near a corner, 4 x 4 pixels each (whole chroma samples:
        # on this random texture 4:2:0 moves single pixels by several levels)
        gains[focus] = (change[24:28, 30:34].mean(), change[16:20, 22:26].mean())
    assert gains[0.0][0] == pytest.approx(gains[0.0][1], abs=3) and gains[0.0][0] > 30
    assert gains[0.3][0] > 30 and gains[0.3][1] < 0.5 * gains[0.3][0]


def report_box():
    from omnisync_cli.face.fallback import override_box
    return override_box(None, FIXED_REGION.region, 64, 48, FIXED_REGION.fallback_size)[0]


def test_longer_video_is_cut_and_rotation_is_applied(tmp_path):
    write_clip(tmp_path / "in.mp4", n_frames=20, width=64, height=48, rotation=90)
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.rotation) == (48, 64, 0)
    assert report.output_frames == info.frame_count == 10


@pytest.mark.parametrize("rotation,shown", [(0, Fraction(4, 3)), (90, Fraction(3, 4))])
def test_non_square_pixels_keep_their_shape(tmp_path, rotation, shown):
    write_clip(tmp_path / "in.mp4", n_frames=10, width=64, height=48, rotation=rotation,
               pixel_aspect=Fraction(4, 3))
    assert probe_video(tmp_path / "in.mp4").pixel_aspect == shown  # upright: a turned pixel is turned too
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PassthroughEditor(region_size=16),
        DubOptions(face=FIXED_REGION))
    info = probe_video(tmp_path / "out.mp4")
    assert info.pixel_aspect == shown and info.rotation == 0


def test_variable_frame_rate_source_goes_on_its_average_grid(tmp_path):
    pts = [0, 1, 3, 4, 7, 8, 9, 12, 13, 14]  # in 1/50 s: irregular gaps
    write_clip(tmp_path / "in.mp4", n_frames=10, fps=25, pts=pts, time_base=Fraction(1, 50))
    write_audio(tmp_path / "speech.wav", tone(0.3, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    info = probe_video(tmp_path / "out.mp4")
    assert info.frame_count == report.output_frames == round(0.3 * report.fps)


def test_a_variable_rate_clip_keeps_every_frame_of_its_fast_stretch(tmp_path):
    """12 fps for 1.5 s, then 24 fps for 1.25 s (a user tour): dubbed at 24 fps, not the
    average 17.5, every source frame is written (each 12 fps frame twice)."""
    pts = [2 * i for i in range(18)] + [36 + i for i in range(30)]
    frames = write_clip(tmp_path / "in.mp4", n_frames=len(pts), fps=24, pts=pts, time_base=Fraction(1, 24))
    write_audio(tmp_path / "speech.wav", tone(2.75, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    assert report.fps == 24 and report.output_frames == 66
    with VideoReader(tmp_path / "out.mp4") as reader:
        written = [f.image.astype(np.float32) for f in reader.iter_frames()]
    nearest = [int(np.argmin([np.abs(w - s).mean() for s in frames])) for w in written]
    assert set(nearest) == set(range(len(pts)))


def test_a_clip_that_dropped_frames_plays_on_its_nominal_rate(tmp_path):
    """One frame in ten missing from a 30 fps stream (a phone in low light): the dub is 30 fps,
    the frame before each gap held, and no frame is lost or shifted."""
    pts = [i for i in range(60) if i % 10 != 9]
    write_clip(tmp_path / "in.mp4", n_frames=len(pts), fps=30, pts=pts, time_base=Fraction(1, 30))
    assert probe_video(tmp_path / "in.mp4").fps == 30
    write_audio(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    info = probe_video(tmp_path / "out.mp4")
    assert report.fps == info.fps == 30 and info.frame_count == report.output_frames == 30


def test_a_stream_copied_trim_is_not_called_truncated(tmp_path):
    """`ffmpeg -ss T -c copy` keeps the GOP before the cut and hides it with an edit list: the
    header counts those frames, the decoder rightly skips them; that is not a damaged file."""
    import subprocess
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    write_clip(tmp_path / "in.mp4", n_frames=60, fps=30, options={"g": "30", "preset": "ultrafast", "crf": "18"})
    subprocess.run([ffmpeg, "-v", "error", "-ss", "0.34", "-i", str(tmp_path / "in.mp4"), "-c", "copy",
                    str(tmp_path / "trim.mp4")], check=True)
    info = probe_video(tmp_path / "trim.mp4")
    with VideoReader(tmp_path / "trim.mp4") as reader:
        decoded = sum(1 for _ in reader.iter_frames())
    assert info.frame_count - decoded > 2  # the header's count holds the skipped frames
    write_audio(tmp_path / "speech.wav", tone(0.5, 16000), 16000)
    report = dub(tmp_path / "trim.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    assert not any("truncated" in w for w in report.warnings)


def test_the_dub_says_which_speech_track_it_took_and_that_transparency_is_lost(tmp_path):
    from tests.media.clips import write_rgba_clip
    from tests.media.test_audio import write_two_tracks
    write_rgba_clip(tmp_path / "cutout.mov", 20, 64, 48)
    write_two_tracks(tmp_path / "speech.mka", default=1)
    report = dub(tmp_path / "cutout.mov", tmp_path / "speech.mka", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    assert any("has 2 audio tracks; using track 2 (dialogue)" in w for w in report.warnings)
    assert any("has transparent parts" in w for w in report.warnings)


def test_an_odd_sized_video_is_dubbed_one_pixel_larger_with_its_last_row_and_column_repeated(tmp_path):
    """GIFs and screen grabs come in odd sizes, which H.264 4:2:0 cannot store: the dub says so
    and repeats the last column and row instead of refusing the video (a user tour)."""
    frames = [cartoon(i, 65, 49) for i in range(10)]
    write_clip(tmp_path / "odd.mov", frames=frames, width=65, height=49, codec="png", pix_fmt="rgb24")
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    report = dub(tmp_path / "odd.mov", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
    assert any("is 65x49 pixels" in w and "the dub is 66x50" in w for w in report.warnings)
    # The planes are what the encoder stores and a player shows (an odd-sized frame's RGB is
    # converted by another route, a few levels apart at sharp colour edges).
    with VideoReader(tmp_path / "odd.mov") as reader:
        source = [f.planes for f in reader.iter_frames()]
    with VideoReader(tmp_path / "out.mp4") as reader:
        out = [f.planes for f in reader.iter_frames()]
    assert out[0].y.shape == (50, 66) and out[0].u.shape == (25, 33)
    luma = np.mean([np.abs(o.y[:49, :65].astype(np.float32) - s.y).mean() for o, s in zip(out, source)])
    chroma = np.mean([np.abs(o.u.astype(np.float32) - s.u).mean() for o, s in zip(out, source)])
    assert luma < 1.0 and chroma < 1.0  # the picture itself, only through H.264
    y = out[3].y.astype(np.float32)
    assert np.abs(y[:, 65] - y[:, 64]).mean() < 2.0 and np.abs(y[49] - y[48]).mean() < 2.0


def test_a_frame_over_85_times_taller_than_wide_is_tracked_and_dubbed(tmp_path):
    """A 16x2000 strip shrinks to a camera-motion thumbnail one pixel wide, on which OpenCV's
    phase correlation asserted: a traceback and exit 1 (a user tour). It measures no motion."""
    write_clip(tmp_path / "strip.mp4", n_frames=3, width=16, height=2000)
    write_audio(tmp_path / "speech.wav", tone(0.12, 16000), 16000)
    options = DubOptions(face=FaceConfig(centre_fallback=True, use_mediapipe=False, use_localiser=False))
    report = dub(tmp_path / "strip.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4",
                 PassthroughEditor(region_size=16), options)
    assert (report.width, report.height, report.output_frames) == (16, 2000, 3)


def test_a_one_frame_video_at_1_fps_is_dubbed_like_a_still_image(tmp_path):
    """A photo exported as a one-frame video at 1 fps was dubbed at 1 fps: over 2 s of speech the
    mouth moved twice (a user tour). It is held at a still image's 25 fps; a faster rate is kept."""
    write_clip(tmp_path / "photo.mp4", n_frames=1, fps=1)
    write_clip(tmp_path / "fast.mp4", n_frames=1, fps=50)
    write_audio(tmp_path / "speech.wav", tone(2.0, 16000), 16000)
    for name, fps in (("photo.mp4", 25), ("fast.mp4", 50)):
        report = dub(tmp_path / name, tmp_path / "speech.wav", tmp_path / f"out-{name}",
                     PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION))
        assert (report.fps, report.output_frames) == (fps, 2 * fps)
        assert probe_video(tmp_path / f"out-{name}").frame_count == 2 * fps


def test_the_dub_says_when_the_speech_stretches_the_video_or_is_under_a_frame(tmp_path):
    write_clip(tmp_path / "in.mp4", n_frames=5, fps=25)  # 0.2 s
    write_audio(tmp_path / "long.wav", tone(1.0, 16000), 16000)
    write_audio(tmp_path / "blip.wav", tone(0.01, 16000), 16000)
    write_audio(tmp_path / "even.wav", tone(0.25, 16000), 16000)
    options = DubOptions(face=FIXED_REGION, extend=Extend.loop)
    long = dub(tmp_path / "in.mp4", tmp_path / "long.wav", tmp_path / "a.mp4", PassthroughEditor(region_size=16), options)
    assert any("(1.00 s) is longer than the video (0.20 s), so the video is played from its start again" in w
               for w in long.warnings)
    blip = dub(tmp_path / "in.mp4", tmp_path / "blip.wav", tmp_path / "b.mp4", PassthroughEditor(region_size=16), options)
    assert any("lasts 10 ms, less than one frame; the dub is one frame long" in w for w in blip.warnings)
    even = dub(tmp_path / "in.mp4", tmp_path / "even.wav", tmp_path / "c.mp4", PassthroughEditor(region_size=16), options)
    assert not any("longer than the video" in w or "one frame" in w for w in even.warnings)


@pytest.mark.parametrize("mode", list(Extend))
def test_every_extension_mode_gives_the_audio_length(clip, mode):
    folder, _ = clip
    report = dub(folder / "in.mp4", folder / "speech.wav", folder / f"{mode.value}.mp4",
                 PassthroughEditor(region_size=16), DubOptions(extend=mode, face=FIXED_REGION))
    assert probe_video(folder / f"{mode.value}.mp4").frame_count == report.output_frames == 15


@pytest.mark.parametrize("level", [0.0, 3e-4])  # digital silence; hiss at -70 dBFS
def test_silent_speech_is_refused_before_tracking_and_nothing_is_written(clip, level, monkeypatch):
    folder, _ = clip
    noise = np.random.default_rng(0).uniform(-level, level, 8000).astype(np.float32)
    write_audio(folder / "silence.wav", noise, 16000)
    monkeypatch.setattr("omnisync_cli.pipeline.dub.analysed", lambda *a, **k: pytest.fail("tracked"))
    with pytest.raises(InputError, match="the speech is silent"):
        dub(folder / "in.mp4", folder / "silence.wav", folder / "out.mp4", PassthroughEditor(region_size=16),
            DubOptions(face=FIXED_REGION))
    assert not (folder / "out.mp4").exists()


def test_quiet_speech_with_long_silences_is_dubbed(clip):
    folder, _ = clip
    quiet = np.zeros(8000, np.float32)
    quiet[3000:3400] = 0.01 * np.sin(np.arange(400) * 0.3)  # a short word at -40 dBFS
    write_audio(folder / "quiet.wav", quiet, 16000)
    dub(folder / "in.mp4", folder / "quiet.wav", folder / "out.mp4", PassthroughEditor(region_size=16),
        DubOptions(face=FIXED_REGION))
    assert probe_video(folder / "out.mp4").frame_count == round(0.5 * 25)


class FailingEditor(PassthroughEditor):
    def edit(self, crops, frame_times, mouth_xy, audio):
        raise RuntimeError("model crashed")


def test_a_failure_midway_leaves_nothing_at_the_output(clip):
    folder, _ = clip
    with pytest.raises(RuntimeError):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", FailingEditor(region_size=16),
            DubOptions(face=FIXED_REGION))
    assert sorted(p.name for p in folder.iterdir()) == ["in.mp4", "speech.wav"]


class ReplacingEditor(PassthroughEditor):
    """An editor during whose work `source` is copied over `target` (an input changed mid-dub)."""

    def __init__(self, source, target):
        super().__init__(region_size=16)
        self.source, self.target = source, target

    def edit(self, crops, frame_times, mouth_xy, audio):
        if self.source is not None:
            self.target.write_bytes(self.source.read_bytes())
            self.source = None
        return super().edit(crops, frame_times, mouth_xy, audio)


@pytest.mark.parametrize("changed", ["speech", "video of another size"])
def test_an_input_changed_mid_dub_is_said_and_nothing_is_written(clip, changed):
    """A speech file replaced mid-dub gave a 15-frame video carrying the new, longer speech (and a
    tag vouching for it); a video replaced by a larger one stopped in a traceback (a user tour)."""
    folder, _ = clip
    other = folder / "other" / "new"
    other.parent.mkdir()
    if changed == "speech":
        write_audio(other.with_suffix(".wav"), tone(1.2, 16000), 16000)
        other, target = other.with_suffix(".wav"), folder / "speech.wav"
    else:
        write_clip(other.with_suffix(".mp4"), frames=[textured(i, 96, 64) for i in range(10)], width=96, height=64)
        other, target = other.with_suffix(".mp4"), folder / "in.mp4"
    with pytest.raises(InputError, match=f"^{target} changed while it was being dubbed; no dub was written"):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", ReplacingEditor(other, target),
            DubOptions(face=FIXED_REGION))
    assert sorted(p.name for p in folder.iterdir()) == ["in.mp4", "other", "speech.wav"]


def run(folder, video="in.mp4", audio="speech.wav", output="out.mp4", **options):
    return dub(folder / video, folder / audio, folder / output, PassthroughEditor(region_size=16),
               DubOptions(face=FIXED_REGION, **options))


def test_bad_inputs_are_refused_with_one_line_errors(clip):
    folder, _ = clip
    write_garbage(folder / "garbage.mp4")
    write_audio(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    (folder / "zero.wav").write_bytes(b"")
    write_clip(folder / "mute.mp4", n_frames=3)
    cases = [
        (InputError, dict(video="missing.mp4")),
        (InputError, dict(audio="missing.wav")),
        (InputError, dict(video="garbage.mp4")),
        (InputError, dict(video="speech.wav")),  # audio given as the video
        (InputError, dict(audio="empty.wav")),
        (InputError, dict(audio="zero.wav")),
        (InputError, dict(audio="mute.mp4")),  # a video without an audio track as speech
        (OutputError, dict(output="in.mp4")),  # the input is never overwritten
        (OutputError, dict(output="speech.mp3")),
        (OutputError, dict(output="nowhere/out.mp4")),
        (ConfigError, dict(feather=3.0)),
    ]
    for error, kwargs in cases:
        options = {k: v for k, v in kwargs.items() if k == "feather"}
        paths = {k: v for k, v in kwargs.items() if k != "feather"}
        with pytest.raises(error) as caught:
            run(folder, **paths, **options)
        assert "\n" not in str(caught.value) and str(caught.value)
    assert not (folder / "out.mp4").exists()


def test_existing_output_needs_overwrite(clip):
    folder, _ = clip
    (folder / "out.mp4").write_bytes(b"keep me")
    with pytest.raises(OutputError, match="--overwrite"):
        run(folder)
    assert (folder / "out.mp4").read_bytes() == b"keep me"
    run(folder, overwrite=True)
    assert probe_video(folder / "out.mp4").frame_count == 15


def test_one_analysis_renders_several_speech_tracks_like_dub(tmp_path):
    """analyse once, render twice: each output is the dub of its own speech (length, audio),
    and equals what dub() writes for the same inputs."""
    from omnisync_cli.pipeline.analysis import analyse
    from omnisync_cli.pipeline.dub import render
    from tests.media.clips import tone, write_audio, write_clip
    frames = [np.full((48, 64, 3), 60 + 10 * i, np.uint8) for i in range(10)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48)
    write_audio(tmp_path / "short.wav", tone(0.2, 16000), 16000)
    write_audio(tmp_path / "long.wav", tone(0.6, 16000), 16000)
    options = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)))
    analysis = analyse(tmp_path / "in.mp4", options)
    short = render(analysis, tmp_path / "short.wav", tmp_path / "short.mp4", PassthroughEditor(), options)
    long = render(analysis, tmp_path / "long.wav", tmp_path / "long.mp4", PassthroughEditor(), options)
    assert (short.output_frames, long.output_frames) == (5, 15)
    assert "track" in short.seconds and "render" in long.seconds
    whole = dub(tmp_path / "in.mp4", tmp_path / "long.wav", tmp_path / "whole.mp4", PassthroughEditor(), options)
    assert whole.output_frames == long.output_frames
    assert (tmp_path / "whole.mp4").read_bytes() == (tmp_path / "long.mp4").read_bytes()


class GreenEditor(PassthroughEditor):
    """Paints a green square in the middle of every crop."""

    def edit(self, crops, frame_times, mouth_xy, audio):
        out = crops.copy()
        s = out.shape[1]
        out[:, s // 4: 3 * s // 4, s // 4: 3 * s // 4] = (30, 200, 40)
        return out


@pytest.mark.parametrize("keep_colours", [True, False])
def test_the_edit_keeps_the_source_hues_unless_told_otherwise(tmp_path, keep_colours):
    skin = np.zeros((48, 64, 3), np.uint8)
    skin[:] = (190, 140, 115)
    write_clip(tmp_path / "in.mp4", frames=[faint_checker(skin)] * 6, width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.24, 16000), 16000)
    options = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)), feather=0.0, focus=0.0,
                         keep_colours=keep_colours)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", GreenEditor(region_size=16), options)
    with VideoReader(tmp_path / "out.mp4") as reader:
        centre = next(iter(reader.iter_frames())).image[24, 32].astype(int)
    greenish = centre[1] > centre[0] + 40
    assert greenish != keep_colours, centre


def test_the_chroma_focus_keeps_the_edits_colour_change_only_near_the_mouth(tmp_path):
    """A green the source region also shows (so the colour hold's range allows it), painted on
    skin over the middle half of the region: with the chroma focus off it is green everywhere;
    with a narrow one, green at the mouth (the region's centre) and skin-coloured 6 px away."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:] = (190, 140, 115)
    frame[:, 44:] = (30, 200, 40)  # inside the region's right edge
    write_clip(tmp_path / "in.mp4", frames=[faint_checker(frame)] * 6, width=64, height=48)
    write_audio(tmp_path / "speech.wav", tone(0.24, 16000), 16000)
    greenish = {}
    for sd in (0.0, 0.05):
        options = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)), feather=0.0, focus=0.0, chroma_focus=sd)
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / f"out{sd}.mp4", GreenEditor(region_size=16),
            options)
        with VideoReader(tmp_path / f"out{sd}.mp4") as reader:
            image = next(iter(reader.iter_frames())).image.astype(int)
        greenish[sd] = [bool(image[y, x, 1] > image[y, x, 0] + 40) for y, x in ((24, 32), (24, 38))]
    assert greenish == {0.0: [True, True], 0.05: [True, False]}
    with pytest.raises(ConfigError, match="chroma focus"):
        dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "bad.mp4", PassthroughEditor(),
            DubOptions(chroma_focus=-1))


@pytest.mark.parametrize("source,shrunk", [("landmarks", True), ("override", False)])
def test_the_region_scale_shrinks_a_tracked_region_but_not_one_given_by_hand(clip, source, shrunk):
    """region_scale 0.5 of a tracked face: the edit stays in the central half of the box;
    a --region the user gave is edited whole."""
    import dataclasses

    from omnisync_cli.pipeline.analysis import analyse
    from omnisync_cli.pipeline.dub import render
    folder, _ = clip
    options = DubOptions(face=FIXED_REGION, crf=0, feather=0.0, focus=0.0, chroma_focus=0.0, region_scale=0.5)
    analysis = analyse(folder / "in.mp4", options)
    analysis = dataclasses.replace(analysis, track=dataclasses.replace(analysis.track, source=source))
    render(analysis, folder / "speech.wav", folder / "out.mp4", ShiftEditor(region_size=16), options)
    change = read_all(folder / "out.mp4")[0].astype(float) - read_all(folder / "in.mp4")[0].astype(float)
    centre = change[24:28, 30:34].mean()  # the box (20..44, 14..38) centre
    ring = change[16:19, 22:25].mean()  # inside the box, outside its central half
    assert centre > 30
    assert (ring < 5) == shrunk and (ring > 30) == (not shrunk)


def test_a_region_scale_out_of_range_is_refused(clip):
    folder, _ = clip
    with pytest.raises(ConfigError, match="region scale"):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", PassthroughEditor(),
            DubOptions(region_scale=0.1))


class TimesEditor(ShiftEditor):
    """ShiftEditor that notes the frame times it is asked to edit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.times = []

    def edit(self, crops, frame_times, mouth_xy, audio):
        self.times.extend(np.asarray(frame_times).tolist())
        return super().edit(crops, frame_times, mouth_xy, audio)


@pytest.mark.parametrize("rate, edited_share", [(0, 1.0), (24, 0.5)])
def test_a_fast_video_is_edited_at_the_edit_rate_and_every_frame_shows_the_edit(tmp_path, rate, edited_share):
    frames = [textured(i, 64, 48) for i in range(30)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=50, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(0.6, 16000), 16000)  # 30 frames at 50 fps
    editor = TimesEditor(region_size=16)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", editor,
                 DubOptions(face=FIXED_REGION, edit_rate=rate, crf=0))
    assert len(set(np.round(np.array(editor.times) * 50).astype(int))) == round(30 * edited_share)
    assert report.frames_edited == 30 and report.output_frames == 30  # every frame is written with an edit
    with VideoReader(tmp_path / "out.mp4") as reader:
        out = [f.image for f in reader.iter_frames()]
    assert len(out) == 30
    for dubbed, source in zip(out, frames):  # the brightened region shows on every frame
        assert dubbed[20:28, 28:36].astype(int).mean() > source[20:28, 28:36].astype(int).mean() + 30


@pytest.mark.parametrize("fps, rate, every", [(60, 24, 2), (50, 24, 2), (48, 24, 2), (30, 24, 1), (25, 24, 1),
                                              (120, 24, 5), (60, 0, 1), (6, 24, 1)])
def test_edit_every_keeps_at_least_the_edit_rate(fps, rate, every):
    assert edit_every(fps, rate) == every


@pytest.mark.parametrize("rate", [0.5, -1, float("nan"), 5000])
def test_a_bad_edit_rate_is_refused(clip, rate):
    folder, _ = clip
    with pytest.raises(ConfigError, match="edit rate"):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "out.mp4", PassthroughEditor(region_size=16),
            DubOptions(face=FIXED_REGION, edit_rate=rate))


class SegmentCounter(ShiftEditor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.segments = 0

    def edit(self, crops, frame_times, mouth_xy, audio):
        self.segments += 1
        return super().edit(crops, frame_times, mouth_xy, audio)


def test_the_segments_overlap_the_options_say(clip):
    """DubOptions.overlap_frames overrides the editor's own overlap: 15 output frames in
    segments of 4 take 5 segments sharing 1 frame (the editor's), 4 sharing none, 7 sharing 2."""
    folder, _ = clip
    counts = {}
    for overlap in (None, 0, 2):
        editor = SegmentCounter(region_size=16, segment_frames=4, overlap_frames=1)
        dub(folder / "in.mp4", folder / "speech.wav", folder / f"out{overlap}.mp4", editor,
            DubOptions(face=FaceConfig(mouth=(32.0, 24.0)), overlap_frames=overlap, keep_quiet_source=False))
        counts[overlap] = editor.segments
    assert counts == {None: 5, 0: 4, 2: 7}
    with pytest.raises(ConfigError, match="negative"):
        dub(folder / "in.mp4", folder / "speech.wav", folder / "bad.mp4", PassthroughEditor(region_size=16),
            DubOptions(face=FaceConfig(mouth=(32.0, 24.0)), overlap_frames=-1))


def test_a_video_without_a_stated_length_is_dubbed_to_its_end(tmp_path):
    """A Matroska file written to a pipe (as a browser's MediaRecorder WebM) states no
    duration: its length is its frames', not one frame 0 s long (a user tour: the dub held
    the first frame throughout)."""
    import subprocess
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    frames = [textured(i, 64, 48) for i in range(10)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=25, bt709=True)
    with open(tmp_path / "piped.mkv", "wb") as piped:
        subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "in.mp4"), "-c", "copy", "-f", "matroska",
                        "pipe:1"], stdout=piped, check=True)
    assert probe_video(tmp_path / "piped.mkv").duration == 0  # the header states none
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)  # 10 frames
    report = dub(tmp_path / "piped.mkv", tmp_path / "speech.wav", tmp_path / "out.mp4", PassthroughEditor(region_size=16),
                 DubOptions(face=FIXED_REGION, crf=0))
    assert report.video_seconds == pytest.approx(0.4)
    decoded, source = read_all(tmp_path / "out.mp4"), read_all(tmp_path / "in.mp4")
    assert len(decoded) == 10
    for out, src in zip(decoded, source):
        assert psnr(out, src) >= 40


def test_only_the_part_of_the_video_the_speech_shows_is_analysed(tmp_path):
    """A 4 s video with 0.4 s of speech is tracked up to 0.4 + ANALYSIS_MARGIN_S s, not to its
    end (a user tour: 4 s of speech on a 180 s video tracked all 180 s); a plan, which any later
    speech may reuse, still covers the whole video."""
    from omnisync_cli.pipeline.analysis import ANALYSIS_MARGIN_S
    write_clip(tmp_path / "in.mp4", frames=[textured(i % 10, 64, 48) for i in range(100)], width=64, height=48,
               fps=25, bt709=True)
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PassthroughEditor(region_size=16),
                 DubOptions(face=FIXED_REGION))
    assert report.source_frames == round((0.4 + ANALYSIS_MARGIN_S) * 25) and report.output_frames == 10
    assert report.video_seconds == pytest.approx(4.0)  # the video's length, not the part analysed
    planned = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "planned.mp4",
                  PassthroughEditor(region_size=16), DubOptions(face=FIXED_REGION), plan=tmp_path / "in.plan.npz")
    assert planned.source_frames == 100
    assert read_all(tmp_path / "out.mp4")[-1].tobytes() == read_all(tmp_path / "planned.mp4")[-1].tobytes()


def test_recordings_joined_end_to_end_are_dubbed_whole(tmp_path):
    """Two MPEG-TS parts cat-ed together: the second's clock starts again at 0 and its pictures
    are larger. Every frame of both parts is dubbed, in order, at the first part's size."""
    grey = lambda k, width, height: np.full((height, width, 3), 10 * k + 20, np.uint8)  # noqa: E731
    write_clip(tmp_path / "a.ts", n_frames=10, width=64, height=48, frames=[grey(k, 64, 48) for k in range(10)])
    write_clip(tmp_path / "b.ts", n_frames=10, width=96, height=72, frames=[grey(k, 96, 72) for k in range(10, 20)])
    joined = tmp_path / "joined.ts"
    joined.write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    write_audio(tmp_path / "speech.wav", tone(0.8, 16000), 16000)  # 20 frames at 25 fps
    report = dub(joined, tmp_path / "speech.wav", tmp_path / "out.mp4", PassthroughEditor(region_size=16),
                 DubOptions(face=FaceConfig(region=(20, 14, 24, 24))))
    assert (report.source_frames, report.output_frames) == (20, 20)
    with VideoReader(tmp_path / "out.mp4") as reader:
        frames = list(reader.iter_frames())
    assert {f.image.shape for f in frames} == {(48, 64, 3)}
    levels = [float(f.image.mean()) for f in frames]
    assert levels == pytest.approx([10 * k + 20 for k in range(20)], abs=3)  # each frame in its place, none twice
