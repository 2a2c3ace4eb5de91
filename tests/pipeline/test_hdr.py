"""HDR video stays HDR: the dub writes the decoded 10-bit BT.2020 planes, HLG or PQ as the
source, with the edit carried into them (media.yuv.HdrPlanes)."""

import av
import numpy as np
import pytest

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.paste import paste_bounds
from omnisync_cli.face.region import RegionBox
from omnisync_cli.media.video import VideoReader, probe_video
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.media.yuv import HdrPlanes, Planes, hdr_replace_rect, rgb_to_planes
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor
from tests.media.clips import tone, write_audio, write_tagged_clip
from tests.pipeline.test_dub import ShiftEditor

REGION = (40.0, 30.0, 32.0, 32.0)


def ten_bit(path) -> np.ndarray:
    """(F, H, W) luma of every frame as decoded, 10-bit."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="yuv420p10le")[: f.height].astype(int)
                         for f in container.decode(video=0)])


@pytest.fixture(params=[(18, "HLG"), (16, "PQ")], ids=["HLG", "PQ"])
def hdr_clip(tmp_path, request):
    transfer, name = request.param
    write_tagged_clip(tmp_path / "in.mp4", transfer=transfer, n_frames=12, width=128, height=96)
    write_audio(tmp_path / "speech.wav", tone(0.48, 16000), 16000)
    return tmp_path, transfer, name


def test_hdr_is_read_with_its_decoded_planes(hdr_clip):
    folder, _, name = hdr_clip
    assert probe_video(folder / "in.mp4").keeps_hdr
    with VideoReader(folder / "in.mp4") as reader:
        frame = next(iter(reader.iter_frames()))
    assert frame.hdr.transfer == name and frame.hdr.y.dtype == np.uint16 and frame.hdr.y.max() > 255
    assert frame.planes.y.dtype == np.uint8  # the 8-bit reading the model and tracker see


def test_hdr_is_dubbed_as_hdr_and_the_edit_lands_inside_the_region_only(hdr_clip):
    folder, transfer, _ = hdr_clip
    options = DubOptions(face=FaceConfig(region=REGION), crf=0)
    report = dub(folder / "in.mp4", folder / "speech.wav", folder / "same.mp4", PassthroughEditor(region_size=16),
                 options)
    assert report.warnings == []
    with av.open(str(folder / "same.mp4")) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        assert stream.codec_context.name == "hevc" and frame.format.name == "yuv420p10le"
        assert (frame.color_trc, frame.color_primaries, frame.colorspace) == (transfer, 9, 9)
    source = ten_bit(folder / "in.mp4")
    np.testing.assert_array_equal(ten_bit(folder / "same.mp4"), source)  # lossless: as decoded

    dub(folder / "in.mp4", folder / "speech.wav", folder / "edited.mp4", ShiftEditor(region_size=16), options)
    edited = ten_bit(folder / "edited.mp4")
    x0, y0, x1, y1 = paste_bounds(RegionBox(REGION[0] + REGION[2] / 2, REGION[1] + REGION[3] / 2, REGION[2]), 128, 96)
    inside = np.zeros(source.shape[1:], bool)
    inside[y0 // 2 * 2:-(-y1 // 2) * 2, x0 // 2 * 2:-(-x1 // 2) * 2] = True
    assert np.array_equal(edited[:, ~inside], source[:, ~inside])
    assert (edited[:, inside] - source[:, inside]).mean() > 60  # +60 of 8-bit RGB is ~+200 10-bit luma


def test_the_edit_moves_only_the_samples_it_changed():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    before = rgb_to_planes(rgb)
    hdr = HdrPlanes(*(rng.integers(64, 940, p.shape).astype(np.uint16) for p in (before.y, before.u, before.v)),
                    transfer="HLG")
    same = hdr_replace_rect(hdr, before, before, 8, 8, 24, 24)
    for a, b in zip((same.y, same.u, same.v), (hdr.y, hdr.u, hdr.v)):
        np.testing.assert_array_equal(a, b)
    painted = rgb.copy()
    painted[12:18, 12:18] = (250, 250, 250)
    after = rgb_to_planes(painted)
    moved = hdr_replace_rect(hdr, before, after, 10, 10, 20, 20)
    changed = moved.y.astype(int) != hdr.y
    assert changed[12:18, 12:18].all()  # brighter where painted
    assert (moved.y.astype(int) - hdr.y)[12:18, 12:18].min() > 0
    assert not changed[:10].any() and not changed[20:].any() and not changed[:, :10].any() and not changed[:, 20:].any()


def test_an_hdr_writer_takes_only_hdr_planes(tmp_path):
    planes = Planes(np.zeros((16, 16), np.uint8), np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))
    deep = HdrPlanes(np.zeros((16, 16), np.uint16), np.zeros((8, 8), np.uint16), np.zeros((8, 8), np.uint16), "PQ")
    with pytest.raises(ValueError):
        with VideoWriter(tmp_path / "out.mp4", 16, 16, 25, hdr="HLG") as writer:
            writer.write_planes(planes)
    with pytest.raises(ValueError):
        with VideoWriter(tmp_path / "out.mp4", 16, 16, 25, hdr="HLG") as writer:
            writer.write_hdr_planes(deep)  # PQ planes into an HLG stream
    assert not (tmp_path / "out.mp4").exists()


def test_a_portrait_phone_clip_stays_hdr_and_upright(tmp_path):
    """A phone stores portrait HDR as a landscape picture and a display rotation."""
    from tests.media.clips import pattern
    with av.open(str(tmp_path / "in.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p10le"
        stream.colorspace = stream.color_primaries = 9
        stream.color_trc = 18
        stream.set_display_rotation(90)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(pattern(i, 128, 96), format="rgb24").reformat(format="yuv420p10le")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    write_audio(tmp_path / "speech.wav", tone(0.4, 16000), 16000)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", PassthroughEditor(region_size=16),
        DubOptions(face=FaceConfig(region=(30.0, 40.0, 32.0, 32.0)), crf=0))
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.rotation, info.hdr) == (96, 128, 0, "HLG")
    with VideoReader(tmp_path / "in.mp4") as a, VideoReader(tmp_path / "out.mp4") as b:
        source, dubbed = next(iter(a.iter_frames())), next(iter(b.iter_frames()))
    np.testing.assert_array_equal(dubbed.hdr.y, source.hdr.y)


def test_8_bit_planes_deepen_to_what_the_reader_would_read_back():
    """The fallback for a frame without 10-bit planes: its 8-bit reading converted back lies
    within a few 10-bit steps of a decoded picture's samples."""
    from omnisync_cli.media.yuv import deepened
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :, 1] = np.linspace(20, 230, 48, dtype=np.uint8)[None]
    planes = rgb_to_planes(rgb)
    deep = deepened(planes, "PQ")
    assert deep.transfer == "PQ" and deep.y.shape == (32, 48) and deep.u.shape == (16, 24)
    # luma grows with the green ramp; 8-bit steps become about 4 10-bit steps
    assert np.all(np.diff(deep.y[16].astype(int)) >= 0) and deep.y.max() - deep.y.min() > 4 * 100
