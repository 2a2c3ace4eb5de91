"""Tiny media files with known content, built with PyAV, for tests anywhere in the project.

Import as `from tests.media.clips import write_clip, pattern, ...`. Every builder writes
in a few milliseconds; pixel patterns are flat blocks so lossy codecs keep them recognisable.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import soundfile

from omnisync_cli.media.audio import _lead, _resampled, _without_end_padding, native_audio, played_track
from omnisync_cli.media.container import open_input

QUADRANT_COLOURS = {  # (row half, column half) -> RGB of that quadrant's upper part
    (0, 0): (230, 30, 30),  # top-left red
    (0, 1): (30, 200, 30),  # top-right green
    (1, 0): (30, 30, 230),  # bottom-left blue
    (1, 1): (230, 230, 230),  # bottom-right white
}


def index_level(index: int) -> int:
    """Grey level of the index band in frame `index` (distinct for the first 20 frames)."""
    return 16 + (index * 11) % 224


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB: four coloured quadrants, and a grey band in the bottom
    quarter whose level encodes the frame index, so orientation and order can be checked."""
    image = np.empty((height, width, 3), np.uint8)
    half_h, half_w = height // 2, width // 2
    for (row, col), colour in QUADRANT_COLOURS.items():
        image[row * half_h : (row + 1) * half_h if row == 0 else height,
              col * half_w : (col + 1) * half_w if col == 0 else width] = colour
    image[height - height // 4 :] = index_level(index)
    return image


def quadrant_colour(image: np.ndarray, row: int, col: int) -> np.ndarray:
    """Mean RGB of a 3x3 patch in quadrant (row, col) of an image, at 35% / 62% of each side:
    inside the quadrant and clear of the index band whichever way the image was turned."""
    h, w = image.shape[:2]
    y = int(h * (0.35 if row == 0 else 0.62))
    x = int(w * (0.35 if col == 0 else 0.62))
    return image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(axis=0)


def band_level(image: np.ndarray) -> float:
    """Mean grey level of the index band of an upright image."""
    h = image.shape[0]
    return float(image[h - h // 8 :].mean())


CARTOON_COLOURS = [  # saturated RGB, the hardest case for 4:2:0 chroma
    (255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 220, 0), (255, 0, 200), (0, 220, 255),
    (20, 20, 20), (250, 250, 250),
]


def cartoon(index: int, width: int = 128, height: int = 128) -> np.ndarray:
    """(height, width, 3) uint8 RGB like a drawn character: flat saturated shapes with hard
    (not anti-aliased) edges at odd and even positions, moving a little with `index`."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = (40, 90, 230)  # sky blue
    image[height * 2 // 3 :] = (30, 180, 40)  # grass
    s = min(width, height) / 128
    t = index

    def pt(x: float, y: float) -> tuple[int, int]:
        return int(round(x * s)), int(round(y * s))

    cv2.circle(image, pt(64 + t, 56), int(34 * s), (255, 205, 150), -1, cv2.LINE_8)  # face
    cv2.circle(image, pt(50 + t, 48), int(7 * s), (250, 250, 250), -1, cv2.LINE_8)  # eyes
    cv2.circle(image, pt(78 + t, 48), int(7 * s), (250, 250, 250), -1, cv2.LINE_8)
    cv2.circle(image, pt(51 + t, 49), int(3 * s), (20, 20, 20), -1, cv2.LINE_8)
    cv2.circle(image, pt(79 + t, 49), int(3 * s), (20, 20, 20), -1, cv2.LINE_8)
    cv2.ellipse(image, pt(64 + t, 72), pt(12, 3 + t % 5), 0, 0, 360, (200, 0, 30), -1, cv2.LINE_8)
    cv2.rectangle(image, pt(11, 93), pt(40 - t, 120), (255, 0, 200), -1)  # odd edges
    cv2.rectangle(image, pt(87 + t, 90), pt(121, 123), (255, 220, 0), -1)
    hair = np.array([pt(30 + t, 35), pt(64 + t, 9), pt(98 + t, 35), pt(64 + t, 25)], np.int32)
    cv2.fillPoly(image, [hair], (0, 0, 255), cv2.LINE_8)
    for k, colour in enumerate(CARTOON_COLOURS):  # a stripe of 3-pixel colour bars
        x = int((5 + 3 * k) * s)
        image[int(2 * s) : int(8 * s), x : x + max(1, int(3 * s))] = colour
    cv2.line(image, pt(0, 85), pt(127, 80 + t), (20, 20, 20), 1, cv2.LINE_8)  # outline
    return image


def write_clip(
    path: str | Path,
    n_frames: int = 6,
    width: int = 64,
    height: int = 48,
    fps: int | Fraction = 25,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    rotation: float = 0,
    hflip: bool = False,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    frames: Sequence[np.ndarray] | None = None,
    audio: np.ndarray | None = None,
    bt709: bool = False,
    pixel_aspect: Fraction | None = None,
) -> list[np.ndarray]:
    """Encode `frames` (default: `pattern(i, ...)`) and return the RGB frames given.

    `rotation` (counter-clockwise degrees) and `hflip` set the display matrix; `pts` with
    `time_base` give irregular timestamps (variable frame rate); `audio` adds a 16 kHz mono
    AAC track; `pixel_aspect` a non-square pixel shape (the stream's sample aspect ratio).
    """
    if frames is None:
        frames = [pattern(i, width, height) for i in range(n_frames)]
    images = list(frames)
    opts = {"preset": "ultrafast", "crf": "0"} if codec == "libx264" else {}
    opts.update(options or {})
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps), options=opts)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base or 1 / Fraction(fps)
        if bt709:
            stream.colorspace = stream.color_primaries = stream.color_trc = 1
            stream.color_range = 1
        if rotation or hflip:
            stream.set_display_rotation(rotation, hflip=hflip)
        if pixel_aspect is not None:
            stream.codec_context.sample_aspect_ratio = pixel_aspect
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=16000, layout="mono")
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if bt709:
                frame = frame.reformat(format=pix_fmt, dst_colorspace="itu709",
                                       dst_color_range="MPEG")
            else:
                frame = frame.reformat(format=pix_fmt)
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = stream.codec_context.time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            samples = audio.reshape(1, -1).astype(np.float32)  # (channels, samples)
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
            container.mux(audio_stream.encode(frame))
            container.mux(audio_stream.encode(None))
    return images


def write_rgba_clip(
    path: str | Path, n_frames: int = 3, width: int = 40, height: int = 30
) -> list[np.ndarray]:
    """PNG-in-MOV with an alpha channel (alpha = a gradient); returns the RGB part written."""
    images = [pattern(i, width, height) for i in range(n_frames)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "rgba"
        alpha = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None].repeat(height, 0)
        for i, image in enumerate(images):
            rgba = np.concatenate([image, alpha], axis=2)
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return images


def write_zero_frame_video(path: str | Path) -> None:
    """Matroska with a declared H.264 video track but no video packets (audio only)."""
    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        silence = np.zeros((1, 1600), np.float32)
        frame = av.AudioFrame.from_ndarray(silence, format="flt", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))


def write_exif_jpeg(path: str | Path, image: np.ndarray, orientation: int) -> None:
    """A JPEG of RGB `image` whose EXIF says how to turn it for display (6: 90 degrees
    clockwise), as phone cameras store portrait photos."""
    from PIL import Image  # Pillow comes with matplotlib

    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(image).save(str(path), quality=95, exif=exif.tobytes())


def write_mjpeg_clip(path: str | Path, jpeg: str | Path, frames: int, fps: int = 25) -> None:
    """A Motion-JPEG AVI whose every frame is the packet of `jpeg` (EXIF included), copied
    without re-encoding, like a camera's MJPEG recording."""
    with av.open(str(jpeg)) as source, av.open(str(path), "w", format="avi") as out:
        packet = next(p for p in source.demux(source.streams.video[0]) if p.size)
        stream = out.add_stream("mjpeg", rate=fps)
        stream.width, stream.height = source.streams.video[0].width, source.streams.video[0].height
        stream.pix_fmt = "yuvj420p"
        data = bytes(packet)
        for index in range(frames):
            copy = av.Packet(data)
            copy.stream, copy.pts, copy.dts, copy.time_base = stream, index, index, Fraction(1, fps)
            out.mux(copy)


def write_tagged_clip(path: str | Path, transfer: int, n_frames: int = 3, width: int = 64,
                      height: int = 48, pix_fmt: str = "yuv420p10le") -> None:
    """10-bit H.264 whose stream names a transfer (18: HLG, 16: PQ, as an iPhone's HDR video;
    1: BT.709) with BT.2020 primaries and matrix for the HDR ones."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.colorspace = stream.color_primaries = 9 if transfer in (16, 18) else 1
        stream.color_trc = transfer
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def tone(
    seconds: float, sample_rate: int = 16000, freq: float = 440.0, amplitude: float = 0.5
) -> np.ndarray:
    """A float32 sine wave."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: str | Path, waveform: np.ndarray, sample_rate: int) -> None:
    """Write (samples,) or (samples, channels) audio; format from the suffix.

    WAV and FLAC go through soundfile; M4A (AAC) and MP3 through PyAV.
    """
    path = Path(path)
    if path.suffix in (".wav", ".flac"):
        soundfile.write(str(path), waveform, sample_rate)
        return
    planar = waveform.reshape(len(waveform), -1).T.astype(np.float32)  # (channels, samples)
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    codec = {".m4a": "aac", ".mp3": "libmp3lame"}[path.suffix]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar), format="fltp", layout=layout
        )
        frame.sample_rate, frame.pts, frame.time_base = sample_rate, 0, Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_surround(path: Path, channels: np.ndarray, layout: str, rate: int = 48000) -> None:
    """A float WAV of `channels` (C, samples) in FFmpeg's `layout` (e.g. "5.1")."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(channels.T.reshape(1, -1)), format="flt",
                                           layout=layout)
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_speech_tracks(folder: Path) -> list[Path]:
    """Speech tracks in `folder` that take every rule of `media.audio.native_audio`: 44.1 kHz
    stereo (1.3 s), loud 48 kHz 5.1 (0.8 s; mixed down, then scaled to not clip), 16 kHz mono
    (1.7 s), 192 kHz (0.6 s; resampled), AAC in M4A (1.2 s; its end padding cut) and a Matroska
    sound that starts 0.5 s after its 1 s picture (padded)."""
    import subprocess

    import imageio_ffmpeg  # a dev dependency, as in the other tests that need the ffmpeg tool
    rng = np.random.default_rng(0)

    def noise(rate: int, seconds: float, channels: int) -> np.ndarray:  # (samples, channels)
        return (0.3 * rng.standard_normal((round(rate * seconds), channels))).astype(np.float32)

    write_audio(folder / "stereo44.wav", noise(44100, 1.3, 2), 44100)
    write_surround(folder / "surround48.wav", 3 * noise(48000, 0.8, 6).T, "5.1")
    write_audio(folder / "mono16.wav", noise(16000, 1.7, 1)[:, 0], 16000)
    write_audio(folder / "studio192.wav", noise(192000, 0.6, 1)[:, 0], 192000)
    write_audio(folder / "stereo48.m4a", noise(48000, 1.2, 2), 48000)
    write_clip(folder / "v.mp4", n_frames=25, fps=25)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(folder / "v.mp4"), "-itsoffset", "0.5",
                    "-i", str(folder / "stereo44.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "flac",
                    str(folder / "late.mkv")], check=True)
    return [folder / name for name in ("stereo44.wav", "surround48.wav", "mono16.wav", "studio192.wav",
                                       "stereo48.m4a", "late.mkv")]


def read_native(path: str | Path) -> tuple[np.ndarray, int]:
    """`media.audio.native_audio` of `path` read whole: ((channels, samples) float32, rate)."""
    track = native_audio(path)
    return np.concatenate(list(track.chunks()), axis=1), track.rate


def read_track(path: str | Path, rate: int, whole: bool = True) -> np.ndarray:
    """The played track of `path` at `rate` as (channels, samples) float32, held whole: what
    `media.audio` read before it streamed (its former `_decode`, checks left out), the
    reference the streamed readers (`native_audio`, `load_audio`) must equal. A video's sound
    on its picture's clock, a late start padded, an early one cut unless `whole`; a loud
    surround mix scaled to not clip."""
    path = Path(path)
    with open_input(path) as container:
        stream = played_track(container)
        surround = (stream.channels or 1) > 2
        waveform = np.concatenate(list(_without_end_padding(_resampled(path, container, stream, rate), stream, rate)),
                                  axis=1)
        lead = _lead(container, stream, rate)
    if lead > 0:
        waveform = np.pad(waveform, ((0, 0), (lead, 0)))
    elif not whole:
        waveform = waveform[:, -lead:]
    peak = float(np.abs(waveform).max()) if surround else 0.0
    if peak > 1.0:
        waveform = waveform / peak
    return waveform.astype(np.float32, copy=False)


def mono_of(waveform: np.ndarray) -> np.ndarray:
    """(channels, samples) -> (samples,) float32 as `media.audio.load_audio` mixed a track held
    whole (its former `mono`): the channels' average, or the loudest channel alone where the
    average cancels to under a quarter of its RMS."""
    mixed = waveform.mean(axis=0)
    loudest = waveform[int(np.argmax(np.sqrt(np.mean(waveform ** 2, axis=1))))]
    if np.sqrt(np.mean(mixed ** 2)) < 0.25 * np.sqrt(np.mean(loudest ** 2)):
        mixed = loudest
    return mixed.astype(np.float32, copy=False)


def write_garbage(path: str | Path, size: int = 4096, seed: int = 0) -> None:
    """Random bytes: not a media file of any kind."""
    Path(path).write_bytes(np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes())


def truncate(path: str | Path, keep: float = 0.5) -> None:
    """Cut a file to a fraction of its size; an MP4 written without faststart loses its index."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])


def faint_checker(image: np.ndarray, amplitude: int = 3, block: int = 8) -> np.ndarray:
    """`image` with a +-amplitude checkerboard of `block` px squares: texture enough not to be
    a flat (mouthless) region to the dub (pipeline.editing.flat_crops) at a crop's scale, too faint
    to change a test's levels."""
    height, width = image.shape[:2]
    cells = np.arange(height)[:, None] // block + np.arange(width)[None, :] // block
    sign = np.where(cells % 2, amplitude, -amplitude)
    return np.clip(image.astype(np.int16) + sign[..., None], 0, 255).astype(np.uint8)
