from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from omnisync_cli.errors import OutputError
from omnisync_cli.media.audio import SAMPLE_RATE, NativeAudio, load_audio, native_audio
from omnisync_cli.media.video import VideoReader, probe_video
from omnisync_cli.media.writer import DEFAULT_CRF, VideoWriter
from tests.media.clips import (band_level, index_level, pattern, read_native, read_track, tone, write_audio,
                               write_clip, write_speech_tracks)

AAC_FRAME_S = 1024 / SAMPLE_RATE


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def write(
    path: Path, images: list[np.ndarray], fps: Fraction = Fraction(25), audio=None, **kwargs
) -> None:
    height, width = images[0].shape[:2]
    with VideoWriter(path, width, height, fps, audio, **kwargs) as writer:
        for image in images:
            writer.write(image)


def test_frames_rate_and_audio_length(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    fps = Fraction(30000, 1001)
    audio = tone(0.77, SAMPLE_RATE)  # longer than the 20 frames (0.667 s): stored whole
    write(path, [pattern(i, 64, 48) for i in range(20)], fps, audio)
    info = probe_video(path)
    assert (info.frame_count, info.fps, info.width, info.height) == (20, fps, 64, 48)
    with VideoReader(path) as reader:
        frames = list(reader.iter_frames())
    assert len(frames) == 20
    assert [f.time_s for f in frames] == pytest.approx([float(i / fps) for i in range(20)], abs=1e-4)
    levels = [band_level(f.image) for f in frames]
    assert levels == pytest.approx([index_level(i) for i in range(20)], abs=2)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.rate == SAMPLE_RATE
        assert float(stream.duration * stream.time_base) == pytest.approx(0.77, abs=AAC_FRAME_S)
        video = container.streams.video[0]
        assert video.codec_context.pix_fmt == "yuv420p" and video.codec_context.name == "h264"
    decoded = load_audio(path)
    assert abs(len(decoded) - len(audio)) <= 1024
    assert psnr((decoded[2000:10000] * 127 + 128), (audio[2000:10000] * 127 + 128)) > 30


def test_audio_is_encoded_as_the_video_goes(tmp_path: Path) -> None:
    """20 s at 2 fps: longer than FFmpeg's 10 s interleaving buffer, so audio encoded only at
    the end would land in the file after ~10 s of video."""
    path = tmp_path / "out.mp4"
    write(path, [pattern(i, 16, 16) for i in range(40)], Fraction(2), tone(20.0, SAMPLE_RATE))
    with av.open(str(path)) as container:
        placed = sorted(
            (p.pos, p.stream.type, float(p.pts * p.time_base)) for p in container.demux() if p.size
        )
    first_audio = next(i for i, (_, kind, _) in enumerate(placed) if kind == "audio")
    assert all(t < 1.0 for _, _, t in placed[:first_audio])  # byte order in the file


def smooth(width: int, height: int) -> np.ndarray:
    """Gentle colour gradients: what 4:2:0 keeps well (sharp saturated edges it does not)."""
    y, x = np.mgrid[:height, :width] / max(width, height)
    return np.stack([40 + 180 * x, 200 - 150 * y, 60 + 100 * x * y], -1).astype(np.uint8)


def test_odd_size_is_padded_by_repeating_the_edge(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    image = smooth(101, 77)
    write(path, [image])
    (frame,) = list(VideoReader(path).iter_frames())
    assert frame.image.shape == (78, 102, 3)
    np.testing.assert_allclose(frame.image[-1].astype(int), frame.image[-2].astype(int), atol=3)
    np.testing.assert_allclose(frame.image[:, -1].astype(int), frame.image[:, -2].astype(int), atol=3)
    assert psnr(frame.image[:77, :101], image) > 40


def test_reencode_of_decoded_frames_is_near_transparent(tmp_path: Path) -> None:
    """The default crf must keep >= 45 dB: outside the edited region `dub` re-encodes source
    pixels, and they must come back unchanged to the eye and the benchmark."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:512, :512] / 512.0
    base = np.stack(
        [120 + 60 * np.sin(6 * x + 3 * y), 110 + 50 * np.cos(5 * y), 100 + 40 * np.sin(9 * x * y)],
        axis=-1,
    )
    noisy = [np.roll(base, 3 * i, axis=1) + rng.normal(0, 2, base.shape) for i in range(4)]
    source_images = [np.clip(image, 0, 255).astype(np.uint8) for image in noisy]
    source = tmp_path / "source.mp4"
    options = {"crf": "18", "preset": "fast"}  # a typical delivered video, already compressed
    write_clip(source, width=512, height=512, frames=source_images, options=options)
    with VideoReader(source) as reader:
        decoded = [f.image for f in reader.iter_frames()]
    output = tmp_path / "reencoded.mp4"
    write(output, decoded)
    with VideoReader(output) as reader:
        again = [f.image for f in reader.iter_frames()]
    assert min(psnr(a, b) for a, b in zip(decoded, again, strict=True)) >= 45


def test_crf_and_preset_can_be_overridden(tmp_path: Path) -> None:
    images = [pattern(i, 64, 48) for i in range(3)]
    write(tmp_path / "small.mp4", images, crf=40, preset="ultrafast")
    write(tmp_path / "large.mp4", images, crf=0, preset="ultrafast")
    assert (tmp_path / "small.mp4").stat().st_size < (tmp_path / "large.mp4").stat().st_size


def test_failure_leaves_nothing_and_keeps_an_old_output(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(path, 32, 32, Fraction(25), tone(1.0, SAMPLE_RATE)) as writer:
            for i in range(60):  # past x264's lookahead, so packets reach the partial file
                writer.write(pattern(i, 32, 32))
            assert writer.partial_path.exists()
            raise KeyboardInterrupt
    assert path.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_success_replaces_atomically_and_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    write(path, [pattern(0, 32, 32)])
    assert probe_video(path).frame_count == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_file_named_like_a_partial_file_is_never_touched(tmp_path: Path) -> None:
    precious = tmp_path / ".out.partial.mp4"  # an input named as partial files once were
    precious.write_bytes(b"an input")
    write(tmp_path / "out.mp4", [pattern(0, 32, 32)])
    assert precious.read_bytes() == b"an input"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.partial.mp4", "out.mp4"]


def test_two_writers_of_one_output_write_two_files(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 32, 32, Fraction(25)) as first, VideoWriter(path, 32, 32, Fraction(25)) as second:
        assert first.partial_path != second.partial_path
        for i in range(30):
            first.write(pattern(i, 32, 32))
        for i in range(20):
            second.write(pattern(i, 32, 32))
    assert probe_video(path).frame_count == 30  # the last to finish, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_without_overwrite_a_file_that_appeared_meanwhile_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(OutputError, match="another run wrote this file"):
        with VideoWriter(path, 32, 32, Fraction(25), overwrite=False) as writer:
            writer.write(pattern(0, 32, 32))
            path.write_bytes(b"the other run's dub")
    assert path.read_bytes() == b"the other run's dub"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    write(tmp_path / "new.mp4", [pattern(0, 32, 32)], overwrite=False)  # a free name is written
    assert probe_video(tmp_path / "new.mp4").frame_count == 1


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_appeared_at_the_output_is_kept_in_one_line(tmp_path: Path, overwrite: bool) -> None:
    """With --overwrite, os.replace's IsADirectoryError ended the dub in a traceback (a user tour)."""
    path = tmp_path / "out.mp4"
    with pytest.raises(OutputError, match="^" + str(path) + ": a folder of this name appeared while this dub"):
        with VideoWriter(path, 32, 32, Fraction(25), overwrite=overwrite) as writer:
            writer.write(pattern(0, 32, 32))
            path.mkdir()
    assert path.is_dir() and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_a_full_disk_at_the_final_rename_is_one_line_and_leaves_the_old_output(tmp_path: Path, monkeypatch) -> None:
    import errno
    import os
    from omnisync_cli.media import writer as writer_module

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    monkeypatch.setattr(writer_module.os, "replace", full)
    with pytest.raises(OutputError) as raised:
        write(path, [pattern(0, 32, 32)])
    monkeypatch.setattr(writer_module.os, "replace", os.replace)
    assert str(raised.value) == (f"{path}: could not move the finished dub into place: the disk is full (or a "
                                 "file-size limit was reached); free some space or choose another folder")
    assert path.read_bytes() == b"previous result" and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_an_output_folder_removed_mid_write_is_said(tmp_path: Path) -> None:
    """It read "the folder cannot hold files; choose another folder" (a user tour)."""
    import shutil
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(OutputError, match=f"the folder {folder} was removed while this ran"):
        with VideoWriter(folder / "dub.mp4", 32, 32, Fraction(25)) as writer:
            writer.write(pattern(0, 32, 32))
            shutil.rmtree(folder)
    assert not folder.exists()


def test_a_finished_write_sweeps_partial_files_of_killed_runs_only(tmp_path: Path) -> None:
    stale = tmp_path / ".out.abcd1234.partial.mp4"  # a killed run's: nobody holds its lock
    stale.write_bytes(b"half a video")
    with VideoWriter(tmp_path / "out.mp4", 32, 32, Fraction(25)) as running:
        running.write(pattern(0, 32, 32))
        write(tmp_path / "out.mp4", [pattern(0, 32, 32)])
        assert not stale.exists()
        assert running.partial_path.exists()  # still being written: kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_wrong_frame_shape_is_a_caller_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected"):
        write(tmp_path / "out.mp4", [np.zeros((32, 32, 3), np.uint8), np.zeros((32, 30, 3), np.uint8)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [("out.avi", "must end in"), ("missing/out.mp4", "does not exist")],
)
def test_unwritable_outputs(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(OutputError, match=message):
        write(tmp_path / name, [pattern(0, 32, 32)])


def test_stereo_speech_keeps_its_rate_and_channels(tmp_path: Path) -> None:
    left, right = tone(1.0, 44100, 440.0), tone(1.0, 44100, 660.0)
    write_audio(tmp_path / "stereo.flac", np.stack([left, right], axis=1), 44100)
    speech = native_audio(tmp_path / "stereo.flac")
    assert (speech.rate, speech.channels, speech.samples) == (44100, 2, 44100)
    out = tmp_path / "out.mp4"
    write(out, [pattern(i, 64, 64) for i in range(25)], audio=speech)
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.rate == 44100 and stream.channels == 2
    back, back_rate = read_native(out)
    assert back_rate == 44100 and abs(back.shape[1] - 44100) <= 1024
    # the channels stay apart: left is the 440 Hz tone, not a mix
    spectrum = np.abs(np.fft.rfft(back[0, 4410:39690]))
    freqs = np.fft.rfftfreq(39690 - 4410, 1 / 44100)
    assert abs(freqs[spectrum.argmax()] - 440) < 5


def test_the_default_preset_keeps_no_x264_lookahead_at_any_size(tmp_path):
    """x264 records its settings in the stream: no frame look-ahead (preset fast's 30 frames
    cost ~700 MB at 4K), so the encoder's memory does not grow with the picture's count."""
    for width, height in ((64, 48), (2048, 1152)):
        path = tmp_path / f"{width}.mp4"
        with VideoWriter(path, width, height, 25) as writer:
            writer.write(np.zeros((height, width, 3), np.uint8))
        settings = path.read_bytes()
        assert b"rc_lookahead=" not in settings and b"mbtree=0" in settings  # no look-ahead at all
        assert f"crf={DEFAULT_CRF}.0".encode() in settings


def test_an_output_gets_the_permissions_any_written_file_gets(tmp_path: Path) -> None:
    """0666 less the umask for a new file, the replaced file's own with --overwrite; not
    mkstemp's owner-only 0600 (a user tour: no other account or web server could read a dub)."""
    import os
    frames = [pattern(0, 32, 32)]
    old_umask = os.umask(0o022)
    try:
        write(tmp_path / "new.mp4", frames)
        assert (tmp_path / "new.mp4").stat().st_mode & 0o777 == 0o644
        (tmp_path / "shared.mp4").write_bytes(b"old")
        (tmp_path / "shared.mp4").chmod(0o664)
        write(tmp_path / "shared.mp4", frames)
        assert (tmp_path / "shared.mp4").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old_umask)


def test_audio_at_a_rate_aac_cannot_store_is_a_caller_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AAC cannot store 50000 Hz"):
        VideoWriter(tmp_path / "out.mp4", 32, 32, Fraction(25), tone(0.1, 50000), audio_rate=50000)


def test_an_output_name_of_the_longest_legal_length_is_written(tmp_path: Path) -> None:
    """The hidden partial file's name adds 18 bytes to the output's: it is cut to fit."""
    for name in ("z" * 251 + ".mp4", "é" * 125 + ".mp4"):  # 255 bytes each
        path = tmp_path / name
        write(path, [pattern(i, 64, 48) for i in range(3)])
        assert probe_video(path).frame_count == 3
    assert sorted(len(p.name.encode()) for p in tmp_path.iterdir()) == [254, 255]


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(packet.pts, bytes(packet)) for packet in container.demux(container.streams.audio[0]) if packet.size]


def test_a_speech_read_as_the_video_is_written_is_muxed_as_the_whole_track_was(tmp_path: Path) -> None:
    """The same AAC packets from a `NativeAudio` read a little at a time as from the whole
    track in memory (what a dub muxed before), for speech longer and shorter than the video."""
    frames = [pattern(i, 32, 32) for i in range(25)]  # 1 s
    for path in write_speech_tracks(tmp_path):
        speech = native_audio(path)
        whole = read_track(path, speech.rate)
        write(tmp_path / "whole.mp4", frames, audio=whole, audio_rate=speech.rate)
        write(tmp_path / "read.mp4", frames, audio=speech)
        assert audio_packets(tmp_path / "read.mp4") == audio_packets(tmp_path / "whole.mp4"), path.name


def test_a_long_speech_is_never_held_whole(tmp_path: Path, monkeypatch) -> None:
    """10 minutes of speech beside 1 minute of video: the writer is given, and encodes, at most
    about a second of audio at a time, the 9 minutes after the video's end included (the whole
    track in memory grew a dub's memory with the speech's length, a user tour)."""
    rate = 8000  # a cheap 10 minutes
    write_audio(tmp_path / "long.wav", tone(600.0, rate, amplitude=0.1), rate)
    speech = native_audio(tmp_path / "long.wav")
    given, encoded = [], []
    read = NativeAudio.chunks
    monkeypatch.setattr(NativeAudio, "chunks", lambda self: (given.append(c.shape[1]) or c for c in read(self)))
    encode = VideoWriter._encode_audio
    monkeypatch.setattr(VideoWriter, "_encode_audio", lambda self, c: encoded.append(c.shape[1]) or encode(self, c))
    write(tmp_path / "out.mp4", [pattern(i, 16, 16) for i in range(60)], Fraction(1), audio=speech)
    assert sum(given) == sum(encoded) == speech.samples == 600 * rate
    assert max(given) <= rate and max(encoded) <= 2 * rate
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.audio[0]
        assert float(stream.duration * stream.time_base) == pytest.approx(600.0, abs=0.2)
