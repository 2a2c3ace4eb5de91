"""Video decoding: probe a file, stream its frames upright as RGB, and re-read any span exactly.

Everything goes through PyAV (one FFmpeg binding, no subprocesses). Frames are handed out
one at a time so a long video never sits in memory. Every failure a user can cause (wrong
path, damaged file, an audio file given as the video) becomes a one-line `InputError`.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

from omnisync_cli.errors import InputError
from omnisync_cli.media.container import open_input, pictures, played_video
from omnisync_cli.media.yuv import (
    COLOR_RANGE,
    COLORSPACE,
    RGB_FROM_YUV_FLAGS,
    YUV_FROM_YUV_FLAGS,
    HDR_TRANSFERS,
    bt601_to_bt709,
    HdrPlanes,
    Planes,
    deepened,
    hdr_planes_of,
    planes_of,
    planes_to_rgb,
    rgb_to_planes,
)

__all__ = ["RGB_FROM_YUV_FLAGS", "Frame", "Planes", "VideoInfo", "VideoReader", "probe_video"]

_AVCOL_SPC_BT709, _AVCOL_SPC_UNSPECIFIED = 1, 2
_BT601_TAGS = (_AVCOL_SPC_UNSPECIFIED, 5, 6)  # none (read as BT.601 below HD), bt470bg, smpte170m
_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 0, 1, 2
_TRANSFER_NAMES = {code: name for name, code in HDR_TRANSFERS.items()}  # a stream's HDR transfer


# Pictures to look at: area-averaged when shrinking (no aliasing for the detectors), exact
# rounding (free there); full-resolution chroma would double the cost (1.6 -> 3.2 ms for 1080p
# to 720p). At full size exact rounding is not free: it leaves swscale's fast unscaled
# converter (0.49 -> 3.2 ms a 720p frame), for a mean 0.95 level of difference, so pictures
# that keep their size are converted without it.
_PICTURE_FLAGS = int(Interpolation.AREA | Interpolation.ACCURATE_RND)
_UNSCALED_PICTURE_FLAGS = int(Interpolation.AREA)
# Pictures are decoded without the in-loop deblocking filter where the decoder can skip it:
# a quarter less decoding (720p H.264: 4.9 -> 3.6 s of CPU for 60 s), for pictures that
# drift from the exact ones over a GOP (40 dB after 10 s of a crf-18 clip): nothing a face or
# mouth finder sees. Never for `Frame`s, which are written.
_LOOK_DECODER_OPTIONS = {"h264": {"skip_loop_filter": "all"}, "hevc": {"skip_loop_filter": "all"}}


@dataclass(frozen=True)
class VideoInfo:
    """What `dub` needs to know about a video before decoding it."""

    width: int  # displayed width in pixels, after the rotation below is applied
    height: int  # displayed height in pixels, after the rotation below is applied
    fps: Fraction  # nominal or average frame rate (_frame_rate); a dub may play faster (pipeline.timeline.playback_rate)
    frame_count: int  # number of frames; see frame_count_exact
    frame_count_exact: bool  # True when the container stores it (MP4/MOV); else duration * fps
    duration: float  # seconds
    rotation: int  # counter-clockwise degrees (0, 90, 180, 270) applied to show it upright
    has_audio: bool  # the file also carries an audio stream
    codec: str  # decoder name, e.g. "h264"
    pix_fmt: str  # coded pixel format, e.g. "yuv420p" or "yuv420p10le"
    # "PQ" or "HLG" for high-dynamic-range video (read into 8-bit BT.709 by its matrix alone,
    # without tone mapping); None for standard range
    hdr: str | None = None
    # The shape of one pixel as shown, width / height, upright (after the rotation): 1 for
    # square pixels; anamorphic video (DV, HDV, some exports) stores e.g. 4/3. A dub keeps it.
    pixel_aspect: Fraction = Fraction(1)

    @property
    def keeps_hdr(self) -> bool:
        """HDR that a dub writes as HDR: 10-bit 4:2:0, each frame's decoded planes kept
        (`Frame.hdr`). Other HDR (4:2:2, 12-bit) is written as standard range."""
        return self.hdr is not None and self.pix_fmt == "yuv420p10le"


@dataclass(frozen=True)
class Frame:
    """One decoded picture, upright: 8-bit YUV 4:2:0 planes and the RGB they show.

    `planes` are BT.709 limited range, the colour space `VideoWriter` tags; for a yuv420p
    BT.709 (limited or unspecified range) source they are the decoded data unchanged (only
    turned upright), so `VideoWriter.write_planes` re-encodes untouched pixels exactly as
    decoded. Other sources are converted to it once, here. `image` is always
    `yuv.planes_to_rgb(planes)`.
    """

    index: int  # position in presentation order, counted from 0
    time_s: float  # presentation time in seconds from the stream start (from pts)
    planes: Planes  # y (H, W), u and v (ceil(H/2), ceil(W/2)) uint8
    hdr: HdrPlanes | None = None  # the decoded 10-bit planes, upright, where VideoInfo.keeps_hdr

    @cached_property
    def image(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB, converted on first use (a dub converts only the part of the
        frame it edits: pipeline.window)."""
        return planes_to_rgb(self.planes)


@dataclass(frozen=True)
class _Orientation:
    """How to turn coded pixels into displayed pixels, read from the display matrix.

    Phones store portrait video as landscape pictures plus a display matrix; players rotate
    (and possibly mirror) on playback, so we must too or the face detector sees a sideways face.
    """

    transpose: bool  # swap rows and columns first
    flip_rows: bool  # then mirror top <-> bottom
    flip_cols: bool  # then mirror left <-> right

    @staticmethod
    def of(frame: av.VideoFrame) -> _Orientation:
        """Read FFmpeg's DISPLAYMATRIX side data (absent means upright).

        FFmpeg maps a coded pixel (x, y) (y pointing down) to x' = a*x + c*y, y' = b*x + d*y
        with a, b, c, d = m[0], m[1], m[3], m[4] of the 3x3 matrix. Angles that are not a
        multiple of 90 degrees are snapped to the nearest quarter turn.
        """
        try:
            side_data = frame.side_data.get("DISPLAYMATRIX")
        except ValueError:  # side data newer than PyAV knows (FFmpeg 8 attaches a camera's EXIF)
            return _Orientation.turned(getattr(frame, "rotation", 0))
        if side_data is None:
            return _Orientation(False, False, False)
        m = np.frombuffer(bytes(side_data), dtype=np.int32)
        a, b, c, d = (float(v) for v in (m[0], m[1], m[3], m[4]))
        if abs(a) >= abs(b):
            return _Orientation(False, d < 0, a < 0)
        return _Orientation(True, b < 0, c < 0)

    @staticmethod
    def turned(rotation: float) -> _Orientation:
        """A pure quarter turn from FFmpeg's `frame.rotation` (counter-clockwise degrees of
        the display matrix, e.g. -90 for a phone's portrait video); mirroring is not in it."""
        quarter = round(rotation / 90) % 4
        return (_Orientation(False, False, False), _Orientation(True, True, False),
                _Orientation(False, True, True), _Orientation(True, False, True))[quarter]

    @property
    def degrees(self) -> int:
        """Counter-clockwise rotation, reading the transform as "rotate, then maybe mirror
        left-right" (FFmpeg's `frame.rotation` instead reports a pure mirror as 180)."""
        if self.transpose:
            return 90 if self.flip_rows else 270
        return 180 if self.flip_rows else 0

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Return the displayed picture as a contiguous array (downstream OpenCV needs that)."""
        if self.transpose:
            image = image.transpose(1, 0, 2)
        if self.flip_rows:
            image = image[::-1]
        if self.flip_cols:
            image = image[:, ::-1]
        return np.ascontiguousarray(image)

    def keeps_chroma_aligned(self, width: int, height: int) -> bool:
        """Whether turning a coded (height, width) picture maps 2x2 chroma blocks onto 2x2
        chroma blocks: mirroring an odd number of rows or columns does not."""
        rows, cols = (width, height) if self.transpose else (height, width)
        return not (self.flip_rows and rows % 2) and not (self.flip_cols and cols % 2)

    def apply_planes(self, planes: Planes) -> Planes:
        """Turn each plane of chroma-aligned planes (see `keeps_chroma_aligned`)."""
        return Planes(*(self.apply(p[:, :, None])[:, :, 0] for p in (planes.y, planes.u, planes.v)))

    def apply_hdr_planes(self, planes: HdrPlanes) -> HdrPlanes:
        """`apply_planes` for 10-bit planes (a dub refuses the odd sizes that would not keep
        chroma aligned)."""
        if self.is_identity:
            return planes
        return HdrPlanes(*(np.ascontiguousarray(self.apply(p[:, :, None])[:, :, 0])
                           for p in (planes.y, planes.u, planes.v)), transfer=planes.transfer)

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_cols)


# Larger pictures are refused before the first frame is decoded: a damaged or hostile header
# can declare sizes whose frames alone would take gigabytes. 16384 is more than 16K video.
MAX_SIDE = 16384


@dataclass(frozen=True, eq=False)
class Picture:
    """One decoded frame to look at (finding the mouth), not to write: its `image` is the
    frame upright as RGB at most `max_side` pixels long, converted on first use in one
    swscale pass (a 1080p frame costs ~1.7 ms instead of ~17 ms for `Frame`'s exact planes
    and RGB). The tracker looks at one frame in two or fewer, and the frames it skips are
    never converted."""

    index: int
    time_s: float
    decoded: av.VideoFrame = field(repr=False)
    max_side: int
    orientation: _Orientation = field(repr=False)
    thumbnail_side: int = 0  # the longer side of `thumbnail` (0: none)

    @cached_property
    def thumbnail(self) -> np.ndarray | None:
        """`grey(thumbnail_side)`, kept; None where `thumbnail_side` is 0."""
        return self.grey(self.thumbnail_side) if self.thumbnail_side else None

    @cached_property
    def image(self) -> np.ndarray:
        """(h, w, 3) uint8 RGB, upright, at most `max_side` long."""
        frame = self.decoded
        scale = min(1.0, self.max_side / max(frame.width, frame.height))
        width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
        flags = _PICTURE_FLAGS if scale < 1.0 else _UNSCALED_PICTURE_FLAGS
        image = frame.to_ndarray(format="rgb24", width=width, height=height,
                                 src_colorspace=_untagged_matrix(frame), interpolation=flags)
        return self.orientation.apply(image)

    def grey(self, max_side: int) -> np.ndarray:
        """(h, w) uint8 luma, upright, shrunk by area averaging to at most `max_side` on its longer
        side: an 8-bit YUV frame's Y plane as decoded (no colour conversion, ~0.2 ms a frame),
        other formats through swscale."""
        frame = self.decoded
        if frame.format.name.startswith(("yuv", "nv", "gray")) and frame.format.components[0].bits == 8:
            plane = frame.planes[0]
            luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
        else:
            luma = frame.to_ndarray(format="gray")
        return self.orientation.apply(shrunk_grey(luma, max_side)[:, :, None])[:, :, 0]


def shrunk_grey(luma: np.ndarray, max_side: int) -> np.ndarray:
    """(h, w) grey picture shrunk by area averaging to at most `max_side` on its longer side."""
    scale = min(1.0, max_side / max(luma.shape))
    size = (max(1, round(luma.shape[1] * scale)), max(1, round(luma.shape[0] * scale)))
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def _untagged_matrix(frame: av.VideoFrame) -> str | None:
    """The YUV matrix to read a frame whose stream names none, as players do (mpv, VLC, and
    the browsers for HD): BT.709 from 1280 px wide or 577 px high, else swscale's own BT.601
    (None: the frame's tags decide). JPEG's full-range YUV is BT.601 by definition.

    Reading untagged HD as BT.601 (as this reader did) shifted every pixel by 7.5 levels on
    average (99th percentile 23) against how a player shows the source, and cost a full
    swscale conversion per frame (3.5 s of 30 s of 720p in a pass-through dub)."""
    if frame.colorspace != _AVCOL_SPC_UNSPECIFIED or frame.color_range == _AVCOL_RANGE_JPEG \
            or frame.format.name.startswith("yuvj"):
        return None
    return COLORSPACE if frame.width >= 1280 or frame.height > 576 else None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.VideoStream:
    """The video stream a player shows (media.container.played_video; cover art in audio files
    does not count as video). A still image (PNG, JPEG, ...) is a one-frame video at FFmpeg's
    25 fps, its EXIF orientation applied, so a portrait dubs into a video as long as the speech
    (the length rules)."""
    stream = played_video(container)
    if stream is not None:
        return stream
    kind = "it is an audio file" if container.streams.audio else "damaged, truncated or not a video"
    raise InputError(f"{path}: has no video stream ({kind}); give a video file")


# A stream whose average rate is below its nominal one by at most this factor dropped frames
# (a phone in low light, an encoder that could not keep up): it plays on the nominal grid.
MAX_DROP_FACTOR = Fraction(5, 4)


def _frame_rate(stream: av.video.VideoStream) -> Fraction:
    """The rate the video plays at: its nominal rate (FFmpeg's r_frame_rate) where frames were
    dropped from it, so a 30 fps phone clip missing one frame in twenty is dubbed at 30 fps,
    the drops held, and not at 28.66 (a user tour; editors' timelines are 30); otherwise the
    average rate, falling back to the rate FFmpeg guesses from timestamps."""
    average, nominal = stream.average_rate, stream.base_rate
    if average and nominal and average < nominal <= min(MAX_DROP_FACTOR * average, 120):
        return Fraction(nominal)
    for rate in (average, stream.guessed_rate, nominal):
        if rate:
            return Fraction(rate)
    return Fraction(0)


def _stream_seconds(container: av.container.InputContainer, stream: av.video.VideoStream, start: int) -> float:
    """The video's length from its header, from its first frame (`start`, in the stream's time
    base). Matroska (and WebM) states the time its last frame ends, counted from 0 and not from
    its first timestamp (FFmpeg reads it as it is, and gives it to a stream without a length of
    its own), so a file whose clock starts late (a camera's MPEG-TS remuxed with its timestamps,
    `ffmpeg -copyts`, at 3601.4 s) has its start taken off: it read as an hour long, and its dub
    held the last frame where it should have played the 4 s video back and forth (a user tour)."""
    if "matroska" in container.format.name and container.duration:
        return max(0.0, container.duration / av.time_base - float(start * stream.time_base))
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


class VideoReader:
    """Streaming decoder for one video file (a context manager).

    `iter_frames()` walks the whole video once in order; `read_frames(start, stop)` re-reads
    any span (ping-pong extension plays the video backwards) by seeking to a keyframe before
    it and decoding forward, so it returns the very pixels sequential decoding gives.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._container = open_input(self.path)
        self._picture_size: tuple[int, int] | None = None  # the first picture's, which every later one is given
        try:
            self._stream = _video_stream(self._container, self.path)
            self._stream.thread_type = "AUTO"
            self._stream_index = self._stream.index
            self.info, self._orientation = self._probe()
        except BaseException:
            self._container.close()
            raise
        self._pts_index: list[int] | None = None
        self._keyframe_pts: list[int] | None = None
        self._moves = 0  # counts seeks and rewinds, so a stale iter_frames() can notice them

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _probe(self) -> tuple[VideoInfo, _Orientation]:
        """Header facts plus one decoded frame (rotation lives in frame side data)."""
        stream = self._stream
        ctx = stream.codec_context
        if ctx is None:  # FFmpeg has no decoder for the codec the (maybe damaged) header names
            raise InputError(f"{self.path}: video stream has an unknown or damaged codec; re-encode the file")
        if not ctx.width or not ctx.height:
            if ctx.name == "webp":  # FFmpeg reads a still WebP, but not an animated one
                raise InputError(f"{self.path}: an animated WebP, which FFmpeg cannot decode; convert it to MP4 or GIF")
            raise InputError(f"{self.path}: video has zero width or height; re-export it")
        if max(ctx.width, ctx.height) > MAX_SIDE:
            raise InputError(f"{self.path}: declares a {ctx.width}x{ctx.height} picture, larger than "
                             f"{MAX_SIDE} pixels a side; the header is damaged or the video needs scaling down")
        frames = self._decode()
        first = next(frames, None)
        frames.close()
        if first is None:
            raise InputError(f"{self.path}: video stream has no frames (damaged or truncated); "
                             "give a video with picture")
        orientation = _Orientation.of(first)
        self._picture_size = (first.width, first.height)
        fps = _frame_rate(stream)
        # Frame times count from the stream's start, or from its first frame where FFmpeg finds
        # no start (a Matroska file starting at 10 s: its frames were timed from 10 s, and a dub
        # of its first 5 s showed one frame).
        self._start_pts = stream.start_time if stream.start_time is not None else (first.pts or 0)
        duration = _stream_seconds(self._container, stream, self._start_pts)
        frame_count_exact = bool(stream.frames)
        frame_count = stream.frames or max(1, round(duration * fps))
        if fps == 0 and duration > 0:
            fps = Fraction(frame_count / duration).limit_denominator(1001)
        width, height = first.width, first.height
        pixel_aspect = Fraction(stream.sample_aspect_ratio or ctx.sample_aspect_ratio or 1)
        if pixel_aspect <= 0:  # 0/1: unknown, i.e. square
            pixel_aspect = Fraction(1)
        if orientation.transpose:
            width, height = height, width
            pixel_aspect = 1 / pixel_aspect
        info = VideoInfo(
            width=width,
            height=height,
            fps=fps,
            frame_count=frame_count,
            frame_count_exact=frame_count_exact,
            duration=duration,
            rotation=orientation.degrees,
            has_audio=bool(self._container.streams.audio),
            codec=ctx.name,
            pix_fmt=ctx.pix_fmt or first.format.name,
            hdr=_TRANSFER_NAMES.get(first.color_trc),
            pixel_aspect=pixel_aspect,
        )
        return info, orientation

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position; decoder failures become `InputError`. A
        stream whose picture size changes midway (recordings joined end to end) has its later
        pictures scaled to the first one's size, which the dub writes."""
        size = self._picture_size
        try:
            for frame in self._container.decode(self._stream):
                if size is not None and (frame.width, frame.height) != size:
                    frame = frame.reformat(width=size[0], height=size[1])
                yield frame
        except av.error.FFmpegError as exc:
            raise InputError(
                f"{self.path}: video data is damaged or cut short ({exc.strerror or type(exc).__name__}); "
                "repair or re-encode the file"
            ) from exc

    def _time_s(self, frame: av.VideoFrame, index: int) -> float:
        """Seconds from the stream start; frames without pts fall back to index / fps."""
        if frame.pts is None:
            return float(index / self.info.fps)
        return float((frame.pts - self._start_pts) * self._stream.time_base)

    def _to_frame(self, frame: av.VideoFrame, index: int) -> Frame:
        planes, hdr = self._upright_planes(frame), None
        if self.info.keeps_hdr:
            # A frame of another format inside an HDR stream (rare: a mid-stream change) gets
            # its 8-bit reading converted back, so an HDR dub always has 10-bit planes to write.
            hdr = (self._orientation.apply_hdr_planes(hdr_planes_of(frame, self.info.hdr))
                   if frame.format.name == "yuv420p10le" else deepened(planes, self.info.hdr))
        return Frame(index=index, time_s=self._time_s(frame, index), planes=planes, hdr=hdr)

    def _upright_planes(self, frame: av.VideoFrame) -> Planes:
        """8-bit BT.709 limited yuv420p planes of the displayed picture, converted once.

        yuv420p BT.709 is taken as decoded (range unspecified counts as limited, as swscale
        reads it), and so is untagged HD yuv420p (`_untagged_matrix`). Limited-range BT.601
        yuv420p (tagged so, or untagged SD) goes through `yuv.bt601_to_bt709`. Other 4:2:0 YUV
        (10-bit, full range, other matrices) is converted YUV to YUV by swscale, honouring the
        frame's tags. Anything else (RGB, alpha, 4:2:2, 4:4:4, JPEG's
        centred-chroma yuvj420p) goes through RGB exactly as decoded before (alpha dropped).
        """
        orientation = self._orientation
        name = frame.format.name
        matrix = _untagged_matrix(frame)
        limited = frame.color_range in (_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG)
        if name == "yuv420p" and (frame.colorspace == _AVCOL_SPC_BT709 or matrix == COLORSPACE) and limited:
            planes = planes_of(frame)
        elif name == "yuv420p" and limited and frame.colorspace in _BT601_TAGS:  # untagged: SD here
            planes = bt601_to_bt709(planes_of(frame))
        elif name.startswith("yuv420p"):
            planes = planes_of(frame.reformat(
                format="yuv420p", src_colorspace=matrix, dst_colorspace=COLORSPACE, dst_color_range=COLOR_RANGE,
                interpolation=YUV_FROM_YUV_FLAGS))
        else:
            image = frame.to_ndarray(format="rgb24", src_colorspace=matrix, interpolation=RGB_FROM_YUV_FLAGS)
            return rgb_to_planes(orientation.apply(image))
        if orientation.is_identity:
            return planes
        if orientation.keeps_chroma_aligned(frame.width, frame.height):
            return orientation.apply_planes(planes)
        return rgb_to_planes(orientation.apply(planes_to_rgb(planes)))

    def _rewind(self) -> None:
        """Back to the first packet by reopening: seeking to the start time is exact in MP4
        but lands a GOP late in formats without an index (MPEG-TS)."""
        self._container.close()
        self._container = open_input(self.path)
        self._stream = self._container.streams[self._stream_index]
        self._stream.thread_type = "AUTO"
        self._moves += 1

    def _seek(self, pts: int) -> None:
        self._container.seek(pts, stream=self._stream)
        self._moves += 1

    def iter_frames(self, wanted: Callable[[int], bool] | None = None) -> Iterator[Frame]:
        """Every frame from the first, one at a time; with `wanted`, only the frames whose
        index it accepts (the others are decoded, as they must be, but never converted).

        One pass at a time: a `read_frames` call moves the shared decoder, after which an
        unfinished pass raises instead of yielding wrong frames.
        """
        for index, frame in self._pass():
            if wanted is None or wanted(index):
                yield self._to_frame(frame, index)

    def iter_pictures(self, max_side: int, ready_every: int = 1, thumbnail_side: int = 0) -> Iterator[Picture]:
        """Every frame from the first as a `Picture` no longer than `max_side` on its longer
        side (frames that fit are kept at full size). Pictures at multiples of `ready_every`
        (none for 0) are converted as they are decoded (in the decoding thread under
        `prefetched`, beside the consumer); the rest only if their `image` is used. Every
        picture's `thumbnail` (`thumbnail_side` px, 0: none) is made as it is decoded too. Same
        one-pass rule as `iter_frames`."""
        if ready_every < 0:
            raise ValueError(f"ready_every must be 0 (none) or more, got {ready_every}")
        for index, frame in self._pass(to_look_at=True):
            picture = Picture(index, self._time_s(frame, index), frame, max_side, self._orientation, thumbnail_side)
            if ready_every and index % ready_every == 0:
                picture.image  # converted here, ahead of use
            picture.thumbnail  # likewise
            yield picture

    def _pass(self, to_look_at: bool = False) -> Iterator[tuple[int, av.VideoFrame]]:
        """(index, decoded frame) from the first frame; raises if `read_frames` moved the
        decoder meanwhile. `to_look_at`: decoded the cheaper way (_LOOK_DECODER_OPTIONS)."""
        self._rewind()
        if to_look_at:
            self._stream.codec_context.options = _LOOK_DECODER_OPTIONS.get(self._stream.codec_context.name, {})
        moves = self._moves
        decoded = self._decode()
        for index in itertools.count():
            if self._moves != moves:
                raise RuntimeError("VideoReader moved by read_frames(); restart the pass")
            frame = next(decoded, None)
            if frame is None:
                return
            yield index, frame

    def _build_index(self) -> None:
        """Presentation timestamps of all frames and of keyframes, from packets alone.

        Demuxing without decoding is cheap and turns "frame n" into an exact timestamp even
        for variable-frame-rate video. Left empty when some packet has no timestamp. Packets
        an edit list hides (a stream-copied trim, `ffmpeg -ss T -c copy`, keeps the GOP before
        its cut; the decoder never shows those frames) are not frames, but their keyframes stay
        seek points: counting them shifted every re-read span by the hidden frames, and a
        ping-pong dub of such a trim jumped back 31 frames where it turned (a user tour).
        """
        self._rewind()
        pts: list[int] = []
        keyframes: list[int] = []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:
                    continue
                if packet.pts is None:
                    pts, keyframes = [], []
                    break
                if not packet.is_discard:
                    pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
        except av.error.FFmpegError as exc:
            raise InputError(
                f"{self.path}: video data is damaged; repair or re-encode the file"
            ) from exc
        self._pts_index = sorted(pts)
        self._keyframe_pts = sorted(keyframes)

    def read_frames(self, start: int, stop: int) -> list[Frame]:
        """Frames `start .. stop - 1` in presentation order; like slicing, a stop past the end
        returns fewer frames.

        Seeks to the last keyframe at or before frame `start` and decodes forward. If the
        demuxer lands elsewhere (after the wanted frame, or not on a keyframe: formats without
        an index), it retries from keyframes further back (1, 2, 4, ... back) and finally from
        the first frame, so the result always equals sequential decoding.
        """
        if not 0 <= start <= stop:
            raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
        if self._pts_index is None:
            self._build_index()
        assert self._pts_index is not None and self._keyframe_pts is not None
        if not self._pts_index:
            return list(itertools.islice(self.iter_frames(), start, stop))
        wanted = self._pts_index[start:stop]
        if not wanted:
            return []
        seek_points = self._keyframe_pts[: bisect.bisect_right(self._keyframe_pts, wanted[0])]
        back = 1
        while back <= len(seek_points):
            self._seek(seek_points[-back])
            frames = self._decode_span(wanted, start, landed_anywhere=False)
            if frames is not None:
                return frames
            back *= 2
        self._rewind()
        return self._decode_span(wanted, start, landed_anywhere=True) or []

    def _decode_span(
        self, wanted: list[int], start: int, landed_anywhere: bool
    ) -> list[Frame] | None:
        """Decode forward collecting the frames whose pts are wanted.

        Returns None if decoding does not begin with a keyframe at or before the first wanted
        frame (or yields nothing), unless `landed_anywhere` (decoding from the very start).
        """
        frames: list[Frame] = []
        decoded = self._decode()
        first = next(decoded, None)
        if not landed_anywhere and (first is None or first.pts > wanted[0] or not first.key_frame):
            return None
        for frame in itertools.chain([first] if first is not None else [], decoded):
            if frame.pts < wanted[0]:
                continue
            index = start + bisect.bisect_left(wanted, frame.pts)
            frames.append(self._to_frame(frame, index))
            if frame.pts >= wanted[-1]:
                break
        return frames


def probe_video(path: str | Path) -> VideoInfo:
    """Size, rate, length and orientation of a video; decodes only its first frame."""
    with VideoReader(path) as reader:
        return reader.info


@dataclass(frozen=True)
class PictureTraits:
    """What a dub cannot carry over from a video's first picture."""

    transparent: bool  # an alpha channel with transparent parts (H.264 shows only the colour)
    interlaced: bool  # coded as two fields (the dub is progressive and does not deinterlace)


def video_track_note(path: str | Path) -> str | None:
    """A warning where `path` holds several video streams: which one the dub takes, and why."""
    with open_input(Path(path)) as container:
        streams = pictures(container)
        if len(streams) < 2:
            return None
        chosen = played_video(container)
        why = "marked default" if chosen.disposition & av.stream.Disposition.default else "none is marked default"
        size = f"{chosen.codec_context.width}x{chosen.codec_context.height}"
    used = streams.index(chosen)
    other = next(k for k in range(len(streams)) if k != used)
    return (f"{path}: has {len(streams)} video streams; dubbing stream {used + 1} ({size}), {why}; to dub stream "
            f"{other + 1} instead, extract it first: ffmpeg -i {Path(path).name} -map 0:v:{other} -map 0:a? -c copy "
            f"stream{other + 1}.mkv")


def picture_traits(path: str | Path) -> PictureTraits:
    """The first picture's `PictureTraits`: transparency (an RGBA PNG or ProRes 4444, a GIF with
    a transparent colour, a VP9 WebM with alpha) and interlacing (broadcast .ts, camcorder .mts)."""
    with open_input(Path(path)) as container:
        stream = played_video(container)
        if stream is None:
            return PictureTraits(False, False)
        try:
            frame = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError):
            return PictureTraits(False, False)
        alpha = stream.metadata.get("alpha_mode") == "1"  # VP9 / VP8 alpha: FFmpeg's own decoder drops it
        if not alpha and _ALPHA_FORMATS.search(frame.format.name):
            alpha = bool(frame.to_ndarray(format="rgba")[..., 3].min() < 255)
        return PictureTraits(alpha, bool(frame.interlaced_frame))


_ALPHA_FORMATS = re.compile(r"^(yuva|gbrap|ya\d)|rgba|bgra|argb|abgr")
