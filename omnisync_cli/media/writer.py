"""Video encoding: frames (RGB, or the decoded YUV planes) plus a speech track become one
H.264/AAC MP4 (HEVC 10-bit for HDR video), atomically.

The output is written to a hidden partial file beside the target and renamed into place only
when everything was encoded, so an interrupted dub never leaves a playable-looking but
truncated video at the output path. Each writer's partial file has a name of its own
(`.<stem>.<random>.partial<suffix>`, created new), so no existing file (an input named like
a partial file) is ever opened for writing, and two runs writing the same output never write
into one file. A partial file is locked while it is written; one left unlocked (its run was
killed) is removed by the next writer of the same output that finishes.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Callable, Generator

import av
import numpy as np

from omnisync_cli.errors import OutputError
from omnisync_cli.files import hold_lock, output_mode, sweep_unlocked
from omnisync_cli.media.audio import AAC_RATES, SAMPLE_RATE, NativeAudio
from omnisync_cli.media.yuv import (AVCOL_BT2020, HDR_TRANSFERS, YUV_FROM_RGB_FLAGS, HdrPlanes, Planes, hdr_to_av_frame,
                                   rgb_to_planes, to_av_frame)

__all__ = ["DEFAULT_CRF", "DEFAULT_PRESET", "YUV_FROM_RGB_FLAGS", "VideoWriter"]

# Chosen by measurement (an ffmpeg re-encode of the decoded source, PSNR against it: all the
# loss outside the edit; 2 CPU cores). A dub should not visibly cost the user's footage
# anything, and on a laptop the encoder was a fifth of a dub's time, so: the fastest preset
# at a CRF whose quality is at least the previous default's (preset fast, crf 8) on both a
# grainy 512x512 rendered clip (bench/pipeline.py) and the bundled drawn example:
#   fast crf 8:      52.8 dB grainy / 53.5 dB drawn, 5.5 s encode for 10 s of 512x512;
#   veryfast crf 7:  52.6 / 52.3, 2.6 s;
#   ultrafast crf 9: 53.9 / 54.1, 0.9 s; files 1.2x (grainy) to 2.2x (flat drawn) larger,
#                    as ultrafast has no CABAC or motion search to spend on flat areas.
# Smaller files for a slower encode: --crf, or re-encode the output.
DEFAULT_CRF = 9
DEFAULT_PRESET = "ultrafast"

_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}

# BT.709 limited range, tagged in the stream, so every player (and our reader, which honours
# the tags) turns the YUV back into the same RGB we were given. No chroma location is
# written: decoders then assume H.264's default (left), which is what `yuv` converts with.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1


def why_write_failed(exc: BaseException, folder: Path) -> str:
    """What a failed write means to the user, from its errno (FFmpeg's errors carry one too)."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # EFBIG: a file-size limit
        return "the disk is full (or a file-size limit was reached); free some space or choose another folder"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder {folder} is not writable; choose another folder"
    if code == errno.ENOENT:
        if not folder.is_dir():  # a user tour: "cannot hold files" for a folder deleted mid-dub
            return f"the folder {folder} was removed while this ran; create it and run again"
        return ("the file being written was removed (its folder deleted or replaced while this ran, or one "
                "that cannot hold files); run again or choose another folder")
    return f"{exc}; choose another folder"


class VideoWriter:
    """Context manager writing H.264 (yuv420p) video at a constant `fps` plus optional AAC audio.

    Frame j is shown at j / fps. Odd sizes are padded to even by one repeated row/column, so
    the file is then (width + width % 2) x (height + height % 2). The audio, if given, is a
    `NativeAudio` (a file's track, read as the video is written: a few seconds of it in memory
    at a time) or an array, float32, (samples,) mono or (channels, samples) with up to two
    channels, at `audio_rate` (16 kHz unless given); it is interleaved as video is written and
    stored whole even if it runs longer or shorter than the video (matching lengths is the
    caller's job).
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction,
        audio: NativeAudio | np.ndarray | None = None,
        *,
        audio_rate: int = SAMPLE_RATE,
        crf: int | None = None,
        preset: str | None = None,
        hdr: str | None = None,
        overwrite: bool = True,
        comment: str | None = None,
        pixel_aspect: Fraction = Fraction(1),
        kind: str = "dub",
        verify: Callable[[], None] | None = None,
    ) -> None:
        """`overwrite`: False refuses to replace a file that appeared at the output path while
        this writer ran (another run finished first); the finished video is then discarded.
        `comment`: stored in the file's comment tag (a dub's provenance, pipeline.paths).
        `pixel_aspect`: the shape of a pixel as shown, width / height (VideoInfo.pixel_aspect).
        `kind`: what the file is, as messages name it ("dub", "comparison", "preview grid").
        `verify`: called once the file is complete, before it is moved into place; an error it
        raises discards the file (a dub whose inputs changed meanwhile)."""
        self.path = Path(path)
        if self.path.suffix.lower() not in _CONTAINERS:
            raise OutputError(f"{self.path}: output must end in .mp4, .m4v or .mov")
        if width <= 0 or height <= 0 or fps <= 0:
            raise ValueError(f"need positive size and fps, got {width}x{height} at {fps}")
        self.width, self.height, self.fps = width, height, Fraction(fps)
        # The audio as (channels, n) float32 pieces in order (an array is one piece; 1-D is mono)
        self._audio: Generator[np.ndarray, None, None] | None = None
        self.audio_channels = 0
        if isinstance(audio, NativeAudio):
            self._audio, self.audio_channels, audio_rate = audio.chunks(), audio.channels, audio.rate
        elif audio is not None:
            whole = np.atleast_2d(np.asarray(audio, dtype=np.float32))
            self._audio, self.audio_channels = (piece for piece in [whole]), whole.shape[0]
        if self._audio is not None and audio_rate not in AAC_RATES:
            raise ValueError(f"AAC cannot store {audio_rate} Hz audio; resample it (media.audio.aac_rate)")
        self.audio_rate = audio_rate
        self._audio_held = np.zeros((self.audio_channels, 0), np.float32)  # read, not yet encoded
        self.crf = DEFAULT_CRF if crf is None else crf  # lower is better quality, 0 lossless
        self.preset = preset or DEFAULT_PRESET  # x264 speed/size trade-off
        if hdr is not None and hdr not in HDR_TRANSFERS:
            raise ValueError(f"hdr must be one of {sorted(HDR_TRANSFERS)} or None, got {hdr!r}")
        self.hdr = hdr  # "HLG" or "PQ": 10-bit HEVC, frames given by write_hdr_planes
        self.overwrite = overwrite
        self.comment = comment
        self.pixel_aspect = Fraction(pixel_aspect)
        self.kind = kind
        self.verify = verify
        self.partial_path: Path | None = None  # made in __enter__
        self._partial_lock: int | None = None
        self.frames_written = 0
        self._audio_written = 0
        self._container: av.container.OutputContainer | None = None

    def __enter__(self) -> VideoWriter:
        if not self.path.parent.is_dir():
            raise OutputError(
                f"{self.path}: folder {self.path.parent} does not exist; create it first"
            )
        if self.path.is_dir():
            raise OutputError(f"{self.path}: is a directory; give a file name ending in .mp4")
        try:
            self.partial_path, self._partial_lock = _new_partial(self.path)
            self._container = av.open(
                str(self.partial_path.absolute()),  # a colon in a relative name is no protocol
                mode="w",
                format=_CONTAINERS[self.path.suffix.lower()],
                options={"movflags": "+faststart"},  # index up front: playable while downloading
            )
        except (av.error.FFmpegError, OSError) as exc:
            self._drop_partial()
            raise OutputError(f"{self.path}: cannot write here: {why_write_failed(exc, self.path.parent)}") from exc
        if self.comment is not None:
            self._container.metadata["comment"] = self.comment
        self._video = self._add_video_stream()
        self._audio_stream = None
        if self._audio is not None:
            self._audio_stream = self._container.add_stream(
                "aac", rate=self.audio_rate, layout=self._layout)
        return self

    def _add_video_stream(self) -> av.video.VideoStream:
        assert self._container is not None
        if self.hdr is None:
            stream = self._container.add_stream("libx264", rate=self.fps,
                                                options={"crf": str(self.crf), "preset": self.preset})
            stream.pix_fmt = "yuv420p"
            stream.colorspace = stream.color_primaries = stream.color_trc = _AVCOL_BT709
        else:
            # HDR video is written as it is read: 10-bit BT.2020 with its transfer (HLG or PQ),
            # in HEVC Main 10, the codec phones record HDR in and play back, tagged hvc1 as
            # Apple's players need. x265's crf 0 is not lossless, as x264's is: ask for it then.
            params = "log-level=error" + (":lossless=1" if self.crf == 0 else "")
            stream = self._container.add_stream("libx265", rate=self.fps, options={
                "crf": str(self.crf), "preset": self.preset, "x265-params": params})
            stream.pix_fmt = "yuv420p10le"
            stream.colorspace = stream.color_primaries = AVCOL_BT2020
            stream.color_trc = HDR_TRANSFERS[self.hdr]
            stream.codec_tag = "hvc1"
        # Frame threads, as the ffmpeg tool encodes: with PyAV's default (slice threads) x264
        # took a fifth longer on 720p at 2 cores (bench/results/encoder-threads.md).
        stream.codec_context.thread_type = "AUTO"
        stream.width = self.width + self.width % 2
        stream.height = self.height + self.height % 2
        stream.codec_context.time_base = 1 / self.fps
        if self.pixel_aspect != 1:
            stream.codec_context.sample_aspect_ratio = self.pixel_aspect.limit_denominator(65535)
        stream.color_range = _AVCOL_RANGE_MPEG
        return stream

    def write(self, image: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 RGB frame (converted by `yuv.rgb_to_planes`).

        Converting decoded pixels back to YUV is not exact at hard colour edges; to keep
        unedited pixels as decoded, use `write_planes` with `yuv.add_rgb_change`.
        """
        if self._container is None:
            raise RuntimeError("VideoWriter.write() called outside its `with` block")
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"expected ({self.height}, {self.width}, 3) uint8, got {image.shape} {image.dtype}"
            )
        self.write_planes(rgb_to_planes(image))

    def write_planes(self, planes: Planes) -> None:
        """Append one frame given as BT.709 limited yuv420p planes (`yuv.Planes` of
        height x width), encoded verbatim; an odd size is padded by repeating the last luma
        row/column, as `write` does."""
        if self._container is None:
            raise RuntimeError("VideoWriter.write_planes() called outside its `with` block")
        if planes.y.shape != (self.height, self.width):
            raise ValueError(
                f"expected planes of {self.width}x{self.height}, got "
                f"{planes.width}x{planes.height}"
            )
        if self.hdr is not None:
            raise ValueError("an HDR VideoWriter takes write_hdr_planes()")
        self._encode(to_av_frame(planes, pad_even=True))

    def write_hdr_planes(self, planes: HdrPlanes) -> None:
        """Append one frame given as 10-bit BT.2020 planes (`yuv.HdrPlanes`, even size), to a
        writer made with `hdr`."""
        if self._container is None:
            raise RuntimeError("VideoWriter.write_hdr_planes() called outside its `with` block")
        if self.hdr is None or planes.transfer != self.hdr:
            raise ValueError(f"this writer writes {self.hdr or 'standard range'}, got {planes.transfer} planes")
        if planes.y.shape != (self.height, self.width) or self.width % 2 or self.height % 2:
            raise ValueError(f"expected even-sized planes of {self.width}x{self.height}, got "
                             f"{planes.width}x{planes.height}")
        self._encode(hdr_to_av_frame(planes))

    def _encode(self, frame: av.VideoFrame) -> None:
        frame.pts = self.frames_written
        frame.time_base = self._video.codec_context.time_base
        self._mux(self._video.encode(frame))
        self.frames_written += 1
        self._write_audio_until(self.frames_written / self.fps)

    def _write_audio_until(self, seconds: Fraction | None) -> None:
        """Encode audio up to `seconds` (None: all of it) so the muxer can interleave as we go,
        reading the audio only as far as that."""
        if self._audio_stream is None:
            return
        if seconds is None:
            for chunk in itertools.chain([self._audio_held], self._audio):
                self._encode_audio(chunk)
            self._audio_held = self._audio_held[:, :0]
            return
        end = int(seconds * self.audio_rate)
        while self._audio_written + self._audio_held.shape[1] < end:
            chunk = next(self._audio, None)
            if chunk is None:  # the audio ends before the video
                break
            self._audio_held = (chunk if self._audio_held.shape[1] == 0  # an array is not copied
                                else np.concatenate([self._audio_held, chunk], axis=1))
        take = max(0, min(self._audio_held.shape[1], end - self._audio_written))
        self._encode_audio(self._audio_held[:, :take])
        self._audio_held = self._audio_held[:, take:]

    def _encode_audio(self, chunk: np.ndarray) -> None:
        """Encode the (channels, n) samples that follow those written."""
        if chunk.shape[1] == 0:
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self._layout)
        frame.sample_rate = self.audio_rate
        frame.pts = self._audio_written
        frame.time_base = Fraction(1, self.audio_rate)
        self._mux(self._audio_stream.encode(frame))
        self._audio_written += chunk.shape[1]

    @property
    def _layout(self) -> str:
        return "stereo" if self.audio_channels == 2 else "mono"

    def _finish(self) -> None:
        """Flush both encoders and close the container."""
        assert self._container is not None
        if self.frames_written == 0:
            raise ValueError("VideoWriter closed without any frames written")
        self._write_audio_until(None)
        self._mux(self._video.encode(None))
        if self._audio_stream is not None:
            self._mux(self._audio_stream.encode(None))
        try:
            self._container.close()  # writes the index (moved to the front: faststart)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.path}: could not finish the file: {why_write_failed(exc, self.path.parent)}") from exc

    def _mux(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        try:
            self._container.mux(packets)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.path}: writing failed: {why_write_failed(exc, self.path.parent)}") from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._container is None:
            return
        try:
            if exc_type is None:
                self._finish()
                if self.verify is not None:
                    self.verify()
                _move_into_place(self.partial_path, self.path, self.overwrite, self.kind)
                _sweep_stale_partials(self.path)
        finally:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                self._container.close()  # no-op after a clean finish
            self._container = None
            if self._audio is not None:
                self._audio.close()  # a NativeAudio's file, open where the writing stopped early
            self._drop_partial()

    def _drop_partial(self) -> None:
        """Remove the partial file (gone already after a clean rename) and release its lock."""
        if self.partial_path is not None:
            self.partial_path.unlink(missing_ok=True)
        if self._partial_lock is not None:
            os.close(self._partial_lock)
            self._partial_lock = None


# A file name's most bytes on the usual file systems (ext4, APFS, NTFS in UTF-16 units).
NAME_MAX_BYTES = 255


def _partial_stem(path: Path) -> str:
    """`path`'s stem, cut (at a character) so that its partial file's name, 18 bytes and the
    suffix longer than it, still fits NAME_MAX_BYTES: a legal output name of 238-255 bytes."""
    room = NAME_MAX_BYTES - len(f"..12345678.partial{path.suffix}".encode())
    return path.stem.encode()[:max(room, 1)].decode(errors="ignore")


def _partial_pattern(path: Path) -> re.Pattern:
    return re.compile(re.escape(f".{_partial_stem(path)}.") + r"[a-z0-9_]{8}" + re.escape(f".partial{path.suffix}"))


def _new_partial(path: Path) -> tuple[Path, int]:
    """A new, empty, locked partial file beside `path` (mkstemp's name: no existing file is
    reused), and the descriptor holding its lock. It gets `path`'s permissions
    (`output_mode`), not mkstemp's owner-only 0600."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{_partial_stem(path)}.", suffix=f".partial{path.suffix}")
    hold_lock(fd)
    with contextlib.suppress(OSError):  # a file system without permissions keeps its own
        os.fchmod(fd, output_mode(path))
    return Path(name), fd


def _move_into_place(partial: Path, path: Path, overwrite: bool, kind: str = "dub") -> None:
    """Rename the finished `partial` to `path`; without `overwrite`, never over a file that
    appeared there meanwhile (a hard link fails where the name exists): this `kind` of file
    ("dub", "comparison") is then discarded, and the message says which. A failure is one
    OutputError (a folder that appeared at `path`, a full disk), the partial file left for the
    caller to remove."""
    taken = (f"{path}: another run wrote this file while this {kind} was made; it was kept, and this {kind} "
             "discarded (pass --overwrite to replace it, or choose another name)")
    if path.is_dir():  # a user tour: with --overwrite, os.replace's IsADirectoryError in a traceback
        raise OutputError(f"{path}: a folder of this name appeared while this {kind} was made; it was kept, and "
                          f"this {kind} discarded (choose another name)")
    try:
        if overwrite:
            os.replace(partial, path)
            return
        try:
            os.link(partial, path)
        except FileExistsError:
            raise OutputError(taken) from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise OutputError(taken) from None
            os.replace(partial, path)
            return
    except OSError as exc:
        raise OutputError(f"{path}: could not move the finished {kind} into place: "
                          f"{why_write_failed(exc, path.parent)}") from None
    partial.unlink()


def _sweep_stale_partials(path: Path) -> None:
    """Remove the partial files of `path` that no running writer holds (runs that were killed)."""
    sweep_unlocked(path.parent, _partial_pattern(path))
