"""Decoded YUV planes carried from reader to writer: unedited pixels reach the encoder as
decoded, which the RGB round trip cannot do at hard, saturated colour edges (cartoons)."""

import multiprocessing
import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from omnisync_cli.media.video import RGB_FROM_YUV_FLAGS, VideoReader
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.media.yuv import (
    BT601,
    BT709,
    Planes,
    bt601_to_bt709,
    planes_of,
    add_rgb_change,
    chroma_rect,
    planes_to_rgb,
    rgb_to_planes,
    to_av_frame,
    ycbcr_matrix,
)
from tests.media.clips import cartoon, pattern, write_clip, write_rgba_clip


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def read_all(path: Path) -> list:
    with VideoReader(path) as reader:
        return list(reader.iter_frames())


def coded_frames(path: Path) -> list[av.VideoFrame]:
    """The decoder's own frames, without the reader."""
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def same(a: Planes, b: Planes) -> bool:
    return all(np.array_equal(p, q) for p, q in zip((a.y, a.u, a.v), (b.y, b.u, b.v)))


@pytest.fixture(scope="module")
def cartoon_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 frames of a hard-edged, saturated drawing, 128x128, lossy H.264 tagged BT.709 (as a
    camera or our own writer makes it)."""
    path = tmp_path_factory.mktemp("yuv") / "cartoon.mp4"
    write_clip(path, width=128, height=128, frames=[cartoon(i) for i in range(10)],
               bt709=True, options={"crf": "18", "preset": "fast"})
    return path


# --- pure functions ---------------------------------------------------------------------

@pytest.mark.parametrize("size", [(64, 48), (101, 77), (16, 16), (2, 2), (1, 1)])
def test_planes_shapes_and_conversions(size: tuple[int, int]) -> None:
    width, height = size
    rgb = pattern(0, max(width, 4), max(height, 4))[:height, :width]
    planes = rgb_to_planes(rgb)
    assert planes.y.shape == (height, width)
    assert planes.u.shape == planes.v.shape == ((height + 1) // 2, (width + 1) // 2)
    back = planes_to_rgb(planes)
    assert back.shape == (height, width, 3) and back.dtype == np.uint8


def test_planes_reject_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        Planes(np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError):
        Planes(np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.int16), np.zeros((2, 2), np.uint8))


def solid(rgb: tuple[int, int, int], height: int = 12, width: int = 16) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (height, width, 3)).copy()


def test_add_rgb_change_is_the_conversion_of_the_changed_colour() -> None:
    source = rgb_to_planes(solid((100, 100, 100)))
    change = np.broadcast_to(np.array([30.0, -10.0, 5.0], np.float32), (12, 16, 3))
    out = add_rgb_change(source, change, 0, 0)
    expected = rgb_to_planes(solid((130, 90, 105)))
    for a, b in ((out.y, expected.y), (out.u, expected.u), (out.v, expected.v)):
        assert np.abs(a.astype(int) - b).max() <= 1
    assert np.array_equal(source.y, rgb_to_planes(solid((100, 100, 100))).y)  # the input is not modified


def test_add_rgb_change_touches_only_what_its_change_reaches() -> None:
    source = rgb_to_planes(cartoon(0, 64, 48))
    change = np.zeros((10, 9, 3), np.float32)
    change[:, :, 0] = 40.0
    change[0, 0] = 0.3  # rounds to no change
    out = add_rgb_change(source, change, 11, 7)  # luma columns 11..19, rows 7..16
    inside = np.zeros((48, 64), bool)
    inside[7:17, 11:20] = True
    inside[7, 11] = False
    assert np.array_equal(out.y[~inside], source.y[~inside])
    assert (out.y[inside] != source.y[inside]).all()
    cx0, cy0, cx1, cy1 = chroma_rect(source, 11, 7, 20, 17)
    assert (cx0, cy0, cx1, cy1) == (5, 3, 10, 9)
    outside_c = np.ones((24, 32), bool)
    outside_c[cy0:cy1, cx0:cx1] = False
    assert np.array_equal(out.v[outside_c], source.v[outside_c])
    # Cr grows with red: a sample whose 2 x 2 block the change covers whole moves twice as far
    # as one it covers half (column 5 holds luma columns 10 and 11, of which only 11 changed).
    whole_move = int(out.v[4, 6]) - int(source.v[4, 6])
    half_move = int(out.v[4, 5]) - int(source.v[4, 5])
    assert whole_move > 0 and abs(2 * half_move - whole_move) <= 1


def test_add_rgb_change_scales_each_chroma_sample_by_its_gain() -> None:
    source = rgb_to_planes(solid((100, 100, 100)))
    change = np.zeros((12, 16, 3), np.float32)
    change[..., 2] = 60.0  # bluer: Cb up
    gain = np.tile(np.array([0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0], np.float32), (6, 1))
    out = add_rgb_change(source, change, 0, 0, gain)
    moved = out.u.astype(int) - source.u
    full = moved[0, 2]
    assert full > 20 and moved[0, 0] == 0 and moved[0, 7] == 0 and abs(moved[0, 1] - full / 2) <= 0.5
    assert np.array_equal(out.y, add_rgb_change(source, change, 0, 0).y)  # luma keeps its whole change


def test_add_rgb_change_refuses_a_change_outside_the_frame() -> None:
    source = rgb_to_planes(cartoon(0, 64, 48))
    assert add_rgb_change(source, np.zeros((0, 5, 3), np.float32), 3, 3) is source
    with pytest.raises(ValueError, match="does not fit"):
        add_rgb_change(source, np.zeros((10, 10, 3), np.float32), 60, 0)
    with pytest.raises(ValueError, match="does not fit"):
        add_rgb_change(source, np.zeros((10, 10, 3), np.float32), -1, 0)


# --- reader -------------------------------------------------------------------------------

def test_bt709_source_planes_are_the_decoded_data(cartoon_clip: Path) -> None:
    frames = read_all(cartoon_clip)
    decoded = coded_frames(cartoon_clip)
    assert len(frames) == len(decoded) == 10
    for frame, raw in zip(frames, decoded):
        assert same(frame.planes, planes_of(raw))
        # And the RGB is what the decoder's own frame converts to (same chroma siting).
        assert np.array_equal(
            frame.image, raw.to_ndarray(format="rgb24", interpolation=RGB_FROM_YUV_FLAGS))


@pytest.mark.parametrize(
    "make",
    [
        lambda p: write_clip(p, 3, 64, 48),  # untagged (BT.601)
        lambda p: write_clip(p, 3, 64, 48, bt709=True),
        lambda p: write_clip(p, 2, 101, 77, pix_fmt="yuv444p"),
        lambda p: write_clip(p, 2, 64, 48, pix_fmt="yuv420p10le"),
        lambda p: write_clip(p, 2, 64, 48, pix_fmt="yuv420p10le", bt709=True),
        lambda p: write_clip(p, 2, 63, 47, codec="ffv1", rotation=90),  # odd sides turned
        lambda p: write_clip(p, 2, 63, 47, codec="ffv1", rotation=90, bt709=True),
        lambda p: write_clip(p, 2, 64, 48, rotation=-90, hflip=True),
        lambda p: write_rgba_clip(p.with_suffix(".mov"), 2, 40, 30),
    ],
    ids=["untagged", "bt709", "444-odd", "10bit", "10bit-709", "odd-rotated", "odd-rotated-709",
         "rotated-mirror", "rgba"],
)
def test_image_is_always_the_planes_rgb(tmp_path: Path, make) -> None:
    path = tmp_path / "clip.mkv"
    make(path)
    if not path.exists():
        path = path.with_suffix(".mov")
    for frame in read_all(path):
        assert frame.planes.y.shape == frame.image.shape[:2]
        assert np.array_equal(frame.image, planes_to_rgb(frame.planes))


@pytest.mark.parametrize(
    ("rotation", "hflip", "turn"),
    [
        (-90, False, lambda a: np.rot90(a, -1)),
        (90, False, lambda a: np.rot90(a, 1)),
        (180, False, lambda a: a[::-1, ::-1]),
        (0, True, lambda a: a[:, ::-1]),
        (90, True, lambda a: np.rot90(a, 1)[:, ::-1]),
    ],
    ids=["cw90", "ccw90", "180", "mirror", "ccw90-mirror"],
)
def test_rotation_is_applied_to_each_plane(tmp_path: Path, rotation, hflip, turn) -> None:
    path = tmp_path / "rotated.mp4"
    frames = [cartoon(i, 96, 64) for i in range(2)]
    write_clip(path, width=96, height=64, frames=frames, rotation=rotation, hflip=hflip,
               bt709=True)
    coded = planes_of(coded_frames(path)[1])
    frame = read_all(path)[1]
    # The planes are the decoded ones, turned: nothing is resampled.
    assert np.array_equal(frame.planes.y, turn(coded.y))
    assert np.array_equal(frame.planes.u, turn(coded.u))
    assert np.array_equal(frame.planes.v, turn(coded.v))
    # Their RGB is the turned RGB except in a band of 2-4 pixels along colour edges: H.264
    # chroma sits on the even columns (left) and between rows, and mirroring the columns
    # moves it by one pixel (the worst case is this small hard, saturated drawing, 26 dB and
    # ~20-28% of pixels; camera footage, which is what arrives rotated, barely notices).
    turned_rgb = turn(planes_to_rgb(coded))
    assert frame.image.shape == turned_rgb.shape
    diff = np.abs(frame.image.astype(int) - turned_rgb).max(axis=2)
    assert psnr(frame.image, turned_rgb) > 25
    assert np.mean(diff <= 2) > 0.65


# --- writer -------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(96, 64), (101, 77)])
def test_write_planes_round_trip_is_lossless_at_crf_0(tmp_path: Path, size) -> None:
    width, height = size
    planes = [rgb_to_planes(cartoon(i, width, height)) for i in range(3)]
    path = tmp_path / "lossless.mp4"
    with VideoWriter(path, width, height, Fraction(25), crf=0) as writer:
        for p in planes:
            writer.write_planes(p)
    for frame, p in zip(read_all(path), planes, strict=True):
        # An odd size comes back padded by one repeated luma row/column.
        assert frame.planes.y.shape == (height + height % 2, width + width % 2)
        assert np.array_equal(frame.planes.y[:height, :width], p.y)
        assert np.array_equal(frame.planes.y[height:, :width], p.y[-1:][: height % 2])
        assert np.array_equal(frame.planes.u, p.u) and np.array_equal(frame.planes.v, p.v)


def test_write_planes_checks_its_input(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", 64, 48, Fraction(25)) as writer:
        with pytest.raises(ValueError, match="64x48"):
            writer.write_planes(rgb_to_planes(pattern(0, 48, 64)))
        writer.write_planes(rgb_to_planes(pattern(0, 64, 48)))
    writer = VideoWriter(tmp_path / "closed.mp4", 64, 48, Fraction(25))
    with pytest.raises(RuntimeError, match="outside"):
        writer.write_planes(rgb_to_planes(pattern(0, 64, 48)))


@pytest.mark.parametrize("via", ["write", "write_planes"])
def test_frames_are_not_all_keyframes(tmp_path: Path, via: str) -> None:
    """The reused conversion frames start as copies of a decoded keyframe; libx264 would
    force a keyframe for every frame still marked as an I picture."""
    path = tmp_path / "gop.mp4"
    with VideoWriter(path, 64, 48, Fraction(25)) as writer:
        for i in range(20):
            image = cartoon(i, 64, 48)
            writer.write(image) if via == "write" else writer.write_planes(rgb_to_planes(image))
    with av.open(str(path)) as container:
        keyframes = [p.is_keyframe for p in container.demux(video=0) if p.size]
    assert len(keyframes) == 20 and sum(keyframes) == 1


def test_pass_through_keeps_a_cartoon_as_decoded(cartoon_clip: Path, tmp_path: Path) -> None:
    """Read -> write -> read at the default crf: the planes path clears the 45 dB bar for
    "unchanged outside the edit"; going through RGB (decode, then re-encode the RGB) does
    not, because chroma upsampling then area downsampling is not idempotent at hard,
    saturated edges."""
    source = read_all(cartoon_clip)
    scores = {}
    for via in ("planes", "rgb"):
        out = tmp_path / f"{via}.mp4"
        with VideoWriter(out, 128, 128, Fraction(25)) as writer:
            for frame in source:
                writer.write_planes(frame.planes) if via == "planes" else writer.write(frame.image)
        result = read_all(out)
        assert len(result) == len(source)
        scores[via] = [psnr(r.image, s.image) for r, s in zip(result, source, strict=True)]
    assert min(scores["planes"]) >= 45
    assert np.mean(scores["planes"]) >= np.mean(scores["rgb"]) + 3
    assert max(scores["rgb"]) < 45


@pytest.mark.parametrize(("width", "height", "matrix"), [(1280, 720, "itu709"), (720, 1280, "itu709"),
                                                       (640, 480, "itu601")])
def test_untagged_video_is_read_as_players_show_it(tmp_path: Path, width, height, matrix) -> None:
    """No matrix in the stream: HD as BT.709 (its planes as decoded, nothing resampled), SD as
    BT.601, the size rule of mpv, VLC and the browsers."""
    path = tmp_path / "untagged.mp4"
    write_clip(path, 1, width, height, frames=[cartoon(0, width, height)])
    (raw,) = coded_frames(path)
    assert raw.colorspace == 2  # unspecified
    (frame,) = read_all(path)
    def gap(as_matrix: str) -> float:  # mean RGB distance from the frame decoded with that matrix
        shown = raw.to_ndarray(format="rgb24", src_colorspace=as_matrix, interpolation=RGB_FROM_YUV_FLAGS)
        return float(np.abs(frame.image.astype(int) - shown).mean())

    other = "itu601" if matrix == "itu709" else "itu709"
    assert gap(matrix) <= 1.0 and gap(other) >= 3.0
    if matrix == "itu709":
        assert same(frame.planes, planes_of(raw))


def test_pass_through_of_an_untagged_source(tmp_path: Path) -> None:
    """Untagged (BT.601) video is converted to BT.709 planes once, in the reader; from then
    on it passes through like any other."""
    path = tmp_path / "untagged.mp4"
    write_clip(path, width=128, height=128, frames=[cartoon(i) for i in range(4)],
               options={"crf": "18", "preset": "fast"})
    source = read_all(path)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 128, 128, Fraction(25)) as writer:
        for frame in source:
            writer.write_planes(frame.planes)
    result = read_all(out)
    assert min(psnr(r.image, s.image) for r, s in zip(result, source, strict=True)) >= 45


def _limited_codes(rgb: np.ndarray, matrix: tuple[float, float]) -> np.ndarray:
    """(..., 3) R'G'B' in 0..1 -> limited-range Y, Cb, Cr code values (float), by the equation."""
    ycc = rgb @ ycbcr_matrix(*matrix).T
    return ycc * np.array([219.0, 224.0, 224.0]) + np.array([16.0, 128.0, 128.0])


def test_ycbcr_matrix_is_the_standard_one() -> None:
    """BT.601 and BT.709 luma rows, white to Y 1 and no chroma, Cb and Cr reaching +-0.5."""
    for kr, kb in (BT601, BT709):
        m = ycbcr_matrix(kr, kb)
        assert np.allclose(m @ [1, 1, 1], [1, 0, 0])
        assert np.isclose((m @ [0, 0, 1])[1], 0.5) and np.isclose((m @ [1, 0, 0])[2], 0.5)
    assert np.allclose(ycbcr_matrix(*BT601)[0], [0.299, 0.587, 0.114])
    assert np.allclose(ycbcr_matrix(*BT709)[0], [0.2126, 0.7152, 0.0722])


def test_bt601_to_bt709_keeps_every_colour() -> None:
    """Flat patches of many colours coded in BT.601 come out as the same colours coded in
    BT.709 (the equation's codes, to the rounding of a level)."""
    rng = np.random.default_rng(0)
    colours = rng.uniform(0, 1, (40, 3))
    for colour in colours:
        codes601 = np.rint(_limited_codes(colour, BT601)).astype(np.uint8)
        planes = Planes(np.full((8, 10), codes601[0], np.uint8), np.full((4, 5), codes601[1], np.uint8),
                        np.full((4, 5), codes601[2], np.uint8))
        out = bt601_to_bt709(planes)
        want = _limited_codes(colour, BT709)
        got = np.array([out.y.mean(), out.u.mean(), out.v.mean()])
        assert np.abs(got - want).max() <= 1.0, (colour, got, want)
        assert len({int(out.y.min()), int(out.y.max())}) == 1  # flat stays flat


def test_bt601_to_bt709_shows_the_picture_as_a_bt601_decode(tmp_path: Path) -> None:
    """An untagged SD clip read through it looks as a player shows it (the source decoded as
    BT.601), closer than swscale's own YUV -> YUV conversion gets (42.1 dB on this frame; 50.7
    here)."""
    path = tmp_path / "untagged.mp4"
    write_clip(path, 1, 320, 240, frames=[cartoon(0, 320, 240)])
    (frame,) = [planes_of(f) for f in av.open(str(path)).decode(video=0)]
    raw = next(av.open(str(path)).decode(video=0))
    shown = raw.to_ndarray(format="rgb24", src_colorspace="itu601", interpolation=RGB_FROM_YUV_FLAGS)
    ours = planes_to_rgb(bt601_to_bt709(frame)).astype(np.float64)
    error = np.mean((ours - shown) ** 2)
    assert 10 * np.log10(255 ** 2 / error) >= 48
    odd = bt601_to_bt709(Planes(frame.y[:7, :9].copy(), frame.u[:4, :5].copy(), frame.v[:4, :5].copy()))
    assert odd.y.shape == (7, 9) and odd.u.shape == (4, 5)


@pytest.mark.parametrize("size", [(64, 48), (102, 78), (2, 2), (30, 2), (640, 360), (101, 77), (7, 9)])
def test_planes_to_rgb_is_swscales_packed_rgb(size) -> None:
    """The planar route gives the bytes of swscale's own rgb24 conversion with the reader's flags."""
    width, height = size
    rng = np.random.default_rng(width)
    planes = Planes(rng.integers(0, 256, (height, width), dtype=np.uint8),
                    *(rng.integers(0, 256, ((height + 1) // 2, (width + 1) // 2), dtype=np.uint8) for _ in range(2)))
    packed = to_av_frame(planes).to_ndarray(format="rgb24", src_colorspace="itu709", src_color_range="MPEG",
                                            interpolation=RGB_FROM_YUV_FLAGS)
    assert np.array_equal(planes_to_rgb(planes), packed)



def _convert_and_exit(planes) -> None:
    planes_to_rgb(planes)
    os._exit(0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the dub forks only on Linux")
def test_a_forked_child_converts_at_a_size_the_parent_converted():
    """A dub's tracking child (pipeline.forked) converting a size its parent had converted
    waited forever for the parent's swscale threads, which a fork does not copy."""
    planes = rgb_to_planes(np.random.default_rng(0).integers(0, 256, (32, 48, 3), np.uint8))
    planes_to_rgb(planes)
    child = multiprocessing.get_context("fork").Process(target=_convert_and_exit, args=(planes,))
    child.start()
    child.join(30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
