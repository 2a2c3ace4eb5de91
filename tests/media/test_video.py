import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.media.video import VideoReader, picture_traits, probe_video, video_track_note
from omnisync_cli.media.yuv import planes_to_rgb, rgb_to_planes
from tests.media.clips import (
    QUADRANT_COLOURS,
    band_level,
    index_level,
    pattern,
    quadrant_colour,
    tone,
    write_audio,
    write_clip,
    write_exif_jpeg,
    write_mjpeg_clip,
    write_tagged_clip,
    write_rgba_clip,
    write_zero_frame_video,
)


def read_all(path: Path) -> list:
    with VideoReader(path) as reader:
        return list(reader.iter_frames())


def assert_quadrants(image: np.ndarray, expected: dict) -> None:
    """`expected` maps displayed quadrant (row, col) -> coded quadrant whose colour it shows."""
    for displayed, coded in expected.items():
        np.testing.assert_allclose(quadrant_colour(image, *displayed), QUADRANT_COLOURS[coded], atol=6)


def test_probe_cfr_clip(cfr_clip: Path) -> None:
    info = probe_video(cfr_clip)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == Fraction(25)
    assert (info.frame_count, info.frame_count_exact) == (6, True)
    assert info.duration == pytest.approx(6 / 25)
    assert (info.rotation, info.has_audio, info.codec, info.pix_fmt) == (0, False, "h264", "yuv420p")


def test_frames_are_rgb_in_order_with_pts_times(cfr_clip: Path) -> None:
    frames = read_all(cfr_clip)
    assert [f.index for f in frames] == list(range(6))
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(6)])
    for frame in frames:
        assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
        assert band_level(frame.image) == pytest.approx(index_level(frame.index), abs=2)
        assert_quadrants(frame.image, {q: q for q in QUADRANT_COLOURS})


def test_iter_frames_restarts_from_the_first_frame(cfr_clip: Path) -> None:
    with VideoReader(cfr_clip) as reader:
        first = list(reader.iter_frames())
        second = list(reader.iter_frames())
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    ("rotation", "hflip", "expected"),
    [
        # FFmpeg's display rotation is counter-clockwise: at -90 the picture is turned
        # clockwise for display, so the coded top-left (red) shows at the top-right.
        (-90, False, {(0, 0): (1, 0), (0, 1): (0, 0), (1, 1): (0, 1), (1, 0): (1, 1)}),
        (90, False, {(0, 0): (0, 1), (0, 1): (1, 1), (1, 1): (1, 0), (1, 0): (0, 0)}),
        (180, False, {(0, 0): (1, 1), (0, 1): (1, 0), (1, 1): (0, 0), (1, 0): (0, 1)}),
        (0, True, {(0, 0): (0, 1), (0, 1): (0, 0), (1, 1): (1, 0), (1, 0): (1, 1)}),
        (90, True, {(0, 0): (1, 1), (0, 1): (0, 1), (1, 1): (0, 0), (1, 0): (1, 0)}),
    ],
    ids=["cw90", "ccw90", "180", "mirror", "ccw90-mirror"],
)
def test_display_matrix_is_applied(tmp_path: Path, rotation: int, hflip: bool, expected: dict) -> None:
    path = tmp_path / "rotated.mp4"
    write_clip(path, 1, 64, 32, rotation=rotation, hflip=hflip)
    transposed = rotation % 180 != 0
    info = probe_video(path)
    assert (info.width, info.height) == ((32, 64) if transposed else (64, 32))
    assert info.rotation == rotation % 360
    (frame,) = read_all(path)
    assert frame.image.shape == (info.height, info.width, 3)
    assert_quadrants(frame.image, expected)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_still_image_is_a_one_frame_video(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"portrait{suffix}"
    cv2.imwrite(str(path), pattern(3, 64, 48)[:, :, ::-1])
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.frame_count, info.has_audio) == (64, 48, Fraction(25), 1, False)
    (frame,) = read_all(path)
    assert_quadrants(frame.image, {q: q for q in QUADRANT_COLOURS})
    with VideoReader(path) as reader:  # re-read as the length rules do (ping-pong, loop)
        (again,) = reader.read_frames(0, 1)
    assert np.array_equal(again.image, frame.image)


def test_photo_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A phone's portrait photo: landscape pixels, EXIF orientation 6 (turn 90 degrees clockwise)."""
    path = tmp_path / "photo.jpg"
    write_exif_jpeg(path, pattern(0, 64, 32), orientation=6)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (32, 64, 270)
    (frame,) = read_all(path)
    assert_quadrants(frame.image, {(0, 0): (1, 0), (0, 1): (0, 0), (1, 1): (0, 1), (1, 0): (1, 1)})


def test_camera_mjpeg_with_exif_in_every_frame(tmp_path: Path) -> None:
    """FFmpeg 8 attaches each MJPEG frame's EXIF as side data PyAV cannot name; reading the
    orientation must not trip over it (it raised ValueError before)."""
    jpeg, clip = tmp_path / "frame.jpg", tmp_path / "camera.avi"
    write_exif_jpeg(jpeg, pattern(0, 64, 32), orientation=6)
    write_mjpeg_clip(clip, jpeg, frames=3)
    info = probe_video(clip)
    assert (info.width, info.height, info.frame_count) == (32, 64, 3)
    frames = read_all(clip)
    assert len(frames) == 3
    assert_quadrants(frames[2].image, {(0, 0): (1, 0), (0, 1): (0, 0), (1, 1): (0, 1), (1, 0): (1, 1)})


def test_phone_portrait_clip_comes_upright(clip_dir: Path) -> None:
    """720x1280 portrait as phones store it: landscape 1280x720 pictures, rotated -90 degrees."""
    path = clip_dir / "portrait.mp4"
    write_clip(path, 2, 1280, 720, 30, rotation=-90, bt709=True)
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.rotation) == (720, 1280, Fraction(30), 270)
    frames = read_all(path)
    assert [f.image.shape for f in frames] == [(1280, 720, 3)] * 2
    assert_quadrants(frames[1].image, {(0, 0): (1, 0), (0, 1): (0, 0), (1, 1): (0, 1), (1, 0): (1, 1)})
    # The index band (coded bottom rows) is now the leftmost columns.
    assert frames[1].image[:, :100].mean() == pytest.approx(index_level(1), abs=2)


def test_pictures_to_look_at_are_the_upright_frames_shrunk(clip_dir: Path) -> None:
    """The phone portrait clip as pictures at most 320 px long: upright, same times, the
    same content as the exact frames shrunk."""
    path = clip_dir / "portrait-looks.mp4"
    write_clip(path, 3, 1280, 720, 30, rotation=-90)
    with VideoReader(path) as reader:
        frames = list(reader.iter_frames())
        pictures = list(reader.iter_pictures(320))
        full = list(reader.iter_pictures(4096))
    assert [p.index for p in pictures] == [0, 1, 2]
    assert [p.time_s for p in pictures] == [f.time_s for f in frames]
    assert all(p.image.shape == (320, 180, 3) for p in pictures)  # a quarter of 1280x720, upright
    shrunk = cv2.resize(frames[1].image, (180, 320), interpolation=cv2.INTER_AREA)
    assert np.abs(pictures[1].image.astype(int) - shrunk).mean() < 3
    assert full[1].image.shape == frames[1].image.shape  # a frame that fits keeps its size
    # The grey thumbnail the camera's motion is measured on: upright too, the frame's brightness.
    grey = pictures[1].grey(128)
    luma = cv2.resize(cv2.cvtColor(frames[1].image, cv2.COLOR_RGB2GRAY), (72, 128), interpolation=cv2.INTER_AREA)
    assert grey.shape == (128, 72) and grey.dtype == np.uint8
    assert np.corrcoef(grey.ravel(), luma.ravel())[0, 1] > 0.95
    assert np.corrcoef(grey[::-1, ::-1].ravel(), luma.ravel())[0, 1] < 0.5  # not turned the other way


def test_variable_frame_rate_times_come_from_pts(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    pts_ms = [0, 40, 100, 120, 200, 330]
    write_clip(path, 6, pts=pts_ms, time_base=Fraction(1, 1000))
    frames = read_all(path)
    assert [f.time_s for f in frames] == pytest.approx([t / 1000 for t in pts_ms])
    levels = [band_level(f.image) for f in frames]
    assert levels == pytest.approx([index_level(i) for i in range(6)], abs=2)
    info = probe_video(path)
    assert info.frame_count == 6
    assert float(info.fps) == pytest.approx(6 / info.duration)  # the average rate
    with VideoReader(path) as reader:
        assert [f.time_s for f in reader.read_frames(2, 5)] == pytest.approx([0.1, 0.12, 0.2])


def test_odd_size(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    written = write_clip(path, 2, 101, 77, pix_fmt="yuv444p")
    info = probe_video(path)
    assert (info.width, info.height) == (101, 77)
    frames = read_all(path)
    assert frames[1].image.shape == (77, 101, 3)
    assert frames[1].planes.y.shape == (77, 101) and frames[1].planes.u.shape == (39, 51)
    # The 4:4:4 source is carried as 4:2:0 planes (what the output is encoded as anyway), so
    # its colour edges soften by a pixel; a misplaced odd row or column would cost far more.
    assert np.abs(frames[1].image.astype(int) - written[1]).mean() < 3


def test_ten_bit_is_converted_to_eight_bit(tmp_path: Path) -> None:
    path = tmp_path / "ten.mp4"
    write_clip(path, 3, pix_fmt="yuv420p10le")
    assert probe_video(path).pix_fmt == "yuv420p10le"
    frame = read_all(path)[2]
    assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)
    assert band_level(frame.image) == pytest.approx(index_level(2), abs=2)
    assert_quadrants(frame.image, {q: q for q in QUADRANT_COLOURS})


def test_alpha_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "alpha.mov"
    written = write_rgba_clip(path, 2, 40, 30)
    assert probe_video(path).pix_fmt == "rgba"
    frames = read_all(path)
    # PNG is lossless and alpha is ignored: the RGB is carried exactly as 4:2:0 planes of it.
    assert np.array_equal(frames[1].image, planes_to_rgb(rgb_to_planes(written[1])))


def test_transparency_is_noticed_only_where_a_pixel_is_transparent(tmp_path: Path) -> None:
    import cv2
    write_rgba_clip(tmp_path / "alpha.mov", 2, 40, 30)
    assert picture_traits(tmp_path / "alpha.mov").transparent
    opaque = np.full((30, 40, 4), 255, np.uint8)
    cv2.imwrite(str(tmp_path / "opaque.png"), opaque)  # RGBA, but nothing transparent
    assert not picture_traits(tmp_path / "opaque.png").transparent
    opaque[:5, :5, 3] = 0
    cv2.imwrite(str(tmp_path / "cutout.png"), opaque)
    assert picture_traits(tmp_path / "cutout.png").transparent
    write_clip(tmp_path / "plain.mp4", n_frames=2, width=40, height=30)
    assert not picture_traits(tmp_path / "plain.mp4").transparent


def test_an_interlaced_picture_is_noticed(tmp_path: Path) -> None:
    write_clip(tmp_path / "fields.mp4", n_frames=4, width=64, height=48, options={"flags": "+ilme+ildct"})
    write_clip(tmp_path / "frames.mp4", n_frames=4, width=64, height=48)
    assert picture_traits(tmp_path / "fields.mp4").interlaced
    assert not picture_traits(tmp_path / "frames.mp4").interlaced


def test_read_frames_equals_sequential_decoding(gop_clip: Path) -> None:
    sequential = read_all(gop_clip)
    assert len(sequential) == 23
    with VideoReader(gop_clip) as reader:
        # Backward and forward jumps, GOP boundaries (every 4), the end, and past the end.
        spans = [(20, 23), (13, 17), (0, 3), (7, 9), (3, 12), (22, 30), (5, 5), (16, 17), (1, 2)]
        for start, stop in spans:
            got = reader.read_frames(start, stop)
            want = sequential[start:stop]
            assert [f.index for f in got] == [f.index for f in want]
            assert [f.time_s for f in got] == [f.time_s for f in want]
            assert all(np.array_equal(g.image, w.image) for g, w in zip(got, want))


def test_a_matroska_file_whose_clock_starts_late_is_as_long_as_its_frames(tmp_path: Path) -> None:
    """Matroska states the time its last frame ends, start included (a camera's TS remuxed with
    its timestamps): a 0.24 s video starting at 10 s read as 10.24 s long, and (FFmpeg finds no
    start in this one) its frames were timed from 10 s (a user tour)."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    write_clip(tmp_path / "clip.mp4", n_frames=6)
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "clip.mp4"), "-c", "copy", "-output_ts_offset", "10",
                    str(tmp_path / "late.mkv")], check=True)
    info = probe_video(tmp_path / "late.mkv")
    assert info.duration == pytest.approx(0.24, abs=0.05)
    assert info.frame_count == 6
    assert [f.time_s for f in read_all(tmp_path / "late.mkv")] == pytest.approx([0, 0.04, 0.08, 0.12, 0.16, 0.2])


def test_read_frames_of_a_stream_copied_trim_skips_the_frames_its_edit_list_hides(tmp_path: Path) -> None:
    """`ffmpeg -ss T -c copy` keeps the GOP before T, hidden by an edit list: a re-read span must
    not count those frames (it did: a ping-pong dub jumped back where it turned, a user tour)."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 60, (48, 64, 3), dtype=np.uint8)
    frames = [np.roll(pattern(i, 64, 48) // 2 + texture, i, axis=1) for i in range(24)]
    write_clip(tmp_path / "long.mp4", width=64, height=48, frames=frames,
               options={"crf": "20", "x264-params": "keyint=12:min-keyint=12:scenecut=0:bframes=2"})
    subprocess.run([ffmpeg, "-v", "error", "-ss", "0.2", "-i", str(tmp_path / "long.mp4"), "-c", "copy",
                    str(tmp_path / "trim.mp4")], check=True)
    sequential = read_all(tmp_path / "trim.mp4")
    assert len(sequential) == 19  # 5 of the first GOP's 12 frames hidden
    with VideoReader(tmp_path / "trim.mp4") as reader:
        for start, stop in [(15, 19), (0, 3), (8, 12), (2, 9)]:
            got = reader.read_frames(start, stop)
            assert [f.time_s for f in got] == [f.time_s for f in sequential[start:stop]]
            assert all(np.array_equal(g.image, w.image) for g, w in zip(got, sequential[start:stop]))


def test_reading_a_span_invalidates_an_open_pass(gop_clip: Path) -> None:
    with VideoReader(gop_clip) as reader:
        frames = reader.iter_frames()
        next(frames)
        reader.read_frames(10, 12)
        with pytest.raises(RuntimeError, match="restart the pass"):
            next(frames)
        assert next(reader.iter_frames()).index == 0


def test_read_frames_rejects_bad_ranges(cfr_clip: Path) -> None:
    with VideoReader(cfr_clip) as reader, pytest.raises(ValueError):
        reader.read_frames(3, 2)


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_audio_file_given_as_video(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"speech{suffix}"
    write_audio(path, tone(0.2, 16000), 16000)
    with pytest.raises(InputError, match="no video stream .*audio file"):
        probe_video(path)


def test_video_without_frames(tmp_path: Path) -> None:
    path = tmp_path / "empty.mkv"
    write_zero_frame_video(path)
    with pytest.raises(InputError, match="no frames"):
        probe_video(path)


def test_has_audio(tmp_path: Path) -> None:
    path = tmp_path / "with_audio.mp4"
    write_clip(path, 3, audio=tone(0.12, 16000))
    assert probe_video(path).has_audio


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        VideoReader(tmp_path / "nope.mp4")


def test_lossless_444_decodes_to_the_same_rgb(tmp_path: Path) -> None:
    """No shift, scaling or colour-matrix mismatch: only YUV rounding separates in and out
    (and, within two pixels of a colour edge, the 4:2:0 chroma frames are carried in)."""
    path = tmp_path / "exact.mp4"
    write_clip(path, 1, 32, 32, pix_fmt="yuv444p")
    (frame,) = read_all(path)
    written = pattern(0, 32, 32).astype(int)
    padded = np.pad(written, ((2, 2), (2, 2), (0, 0)), mode="edge")
    flat = np.ones((32, 32), bool)  # pixels whose 5x5 neighbourhood is one colour
    for dy in range(5):
        for dx in range(5):
            flat &= (padded[dy : dy + 32, dx : dx + 32] == written).all(axis=2)
    assert flat.mean() > 0.5
    assert np.abs(frame.image.astype(int) - written)[flat].max() <= 2


@pytest.mark.parametrize(("trc", "hdr"), [(18, "HLG"), (16, "PQ"), (1, None)])
def test_hdr_video_is_named(tmp_path: Path, trc: int, hdr) -> None:
    """An iPhone's HLG (or a PQ) clip is read by its matrix alone; the probe names it so the dub can say so."""
    write_tagged_clip(tmp_path / "hdr.mp4", transfer=trc)
    assert probe_video(tmp_path / "hdr.mp4").hdr == hdr


def test_pictures_are_converted_ahead_only_at_the_asked_stride(clip_dir: Path) -> None:
    """`iter_pictures(ready_every=3)` converts pictures 0, 3, 6, ... as it decodes them; the
    others are converted on first use, to the same image."""
    path = clip_dir / "ready-every.mp4"
    write_clip(path, 7, 320, 240, 25)
    with VideoReader(path) as reader:
        pictures = list(reader.iter_pictures(160, ready_every=3))
        eager = list(reader.iter_pictures(160))
    assert ["image" in vars(p) for p in pictures] == [True, False, False, True, False, False, True]
    assert all("image" in vars(p) for p in eager)
    for lazy, ready in zip(pictures, eager):
        np.testing.assert_array_equal(lazy.image, ready.image)
    with VideoReader(path) as reader:
        assert not any("image" in vars(p) for p in reader.iter_pictures(160, ready_every=0))


def test_thumbnails_are_made_as_the_pictures_are_decoded(clip_dir: Path) -> None:
    """`iter_pictures(thumbnail_side=...)` makes every picture's grey thumbnail while decoding
    (the decoding thread's work under `prefetched`), the same as `grey` of that side; none
    without it."""
    path = clip_dir / "thumbnails.mp4"
    write_clip(path, 4, 320, 240, 25)
    with VideoReader(path) as reader:
        pictures = list(reader.iter_pictures(160, ready_every=0, thumbnail_side=64))
    assert all("thumbnail" in vars(p) for p in pictures)
    for picture in pictures:
        assert picture.thumbnail.shape == (48, 64)
        np.testing.assert_array_equal(picture.thumbnail, picture.grey(64))
    with VideoReader(path) as reader:
        assert all(p.thumbnail is None for p in reader.iter_pictures(160, ready_every=0))


@pytest.mark.parametrize("codec", ["libx264", "libx265", "mpeg4"])
def test_pictures_decoded_the_cheap_way_stay_close_to_the_frames(clip_dir: Path, codec: str) -> None:
    """H.264 and HEVC pictures skip the deblocking filter (media.video._LOOK_DECODER_OPTIONS),
    other codecs decode as usual: every picture stays within 25 dB of its exact frame (the fast
    RGB conversion of pictures alone costs ~30 dB on this sharp pattern), for a
    lossy 2 s clip whose later frames predict from earlier ones."""
    path = clip_dir / f"looks-{codec}.mp4"
    options = {"crf": "30", "x265-params": "log-level=error"} if codec == "libx265" else \
        ({"crf": "30"} if codec == "libx264" else {})
    write_clip(path, 50, 160, 96, 25, codec=codec, options=options)
    with VideoReader(path) as reader:
        frames = [f.image.astype(float) for f in reader.iter_frames()]
        pictures = [p.image.astype(float) for p in reader.iter_pictures(4096)]
    assert len(pictures) == len(frames) == 50
    worst = min(10 * np.log10(255 ** 2 / max(np.mean((p - f) ** 2), 1e-9)) for p, f in zip(pictures, frames))
    assert worst > 25


def test_a_relative_name_with_a_colon_is_read_as_a_file(tmp_path, monkeypatch):
    """FFmpeg takes "10:30 take.mp4" for a protocol named "10"; a user's file is meant."""
    write_clip(tmp_path / "10:30 take.mp4", n_frames=4)
    monkeypatch.chdir(tmp_path)
    assert probe_video(Path("10:30 take.mp4")).frame_count == 4


def test_later_pictures_of_another_size_are_scaled_to_the_first(tmp_path):
    """Recordings joined end to end (MPEG-TS parts cat-ed together) change size midway."""
    write_clip(tmp_path / "a.ts", n_frames=6, width=64, height=48)
    write_clip(tmp_path / "b.ts", n_frames=6, width=96, height=64)
    joined = tmp_path / "joined.ts"
    joined.write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    with VideoReader(joined) as reader:
        sizes = {f.image.shape for f in reader.iter_frames()}
        assert (reader.info.width, reader.info.height) == (64, 48)
    assert sizes == {(48, 64, 3)}


def test_an_animated_webp_is_refused_saying_why(tmp_path):
    """FFmpeg decodes a still WebP but not an animated one (it sees a 0x0 picture)."""
    from PIL import Image
    pictures = [Image.fromarray(np.full((32, 32, 3), 40 * k, np.uint8)) for k in range(4)]
    pictures[0].save(tmp_path / "anim.webp", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    with pytest.raises(InputError, match="anim.webp: an animated WebP, which FFmpeg cannot decode; convert it"):
        probe_video(tmp_path / "anim.webp")


def test_of_several_video_streams_the_one_marked_default_is_read_and_named(tmp_path):
    """An MKV whose first video track was a 64x48 card and whose speaker, marked default, the
    second: the card was dubbed, without a word about the other stream (a user tour)."""
    import av
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as container:
        card, speaker = (container.add_stream("libx264", rate=25) for _ in range(2))
        for stream, (width, height) in ((card, (64, 48)), (speaker, (32, 32))):
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        card.disposition, speaker.disposition = 0, av.stream.Disposition.default
        for i in range(3):
            for stream in (card, speaker):
                frame = av.VideoFrame.from_ndarray(pattern(i, stream.width, stream.height), format="rgb24")
                frame.pts = i
                container.mux(stream.encode(frame))
        for stream in (card, speaker):
            container.mux(stream.encode(None))
    assert (probe_video(path).width, probe_video(path).height) == (32, 32)
    with VideoReader(path) as reader:
        assert [f.image.shape for f in reader.iter_frames()] == [(32, 32, 3)] * 3
    note = video_track_note(path)
    assert "has 2 video streams; dubbing stream 2 (32x32), marked default" in note and "-map 0:v:0" in note
    single = tmp_path / "one.mp4"
    write_clip(single, n_frames=2)
    assert video_track_note(single) is None
