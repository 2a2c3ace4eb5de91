"""Decoded YUV 4:2:0 planes, carried from the reader to the writer so that pixels outside an
edit reach the encoder exactly as they were decoded.

Decoding yuv420p to RGB (interpolated chroma) and encoding back (area-averaged chroma) is not
idempotent at hard, saturated colour edges (cartoons, drawn characters): a pass-through that
goes through RGB loses ~5 dB there before x264 even starts. Keeping the planes and replacing
only the edited rectangle avoids that round trip everywhere else.

`Planes` are 8-bit BT.709 limited range, the colour space `VideoWriter` tags; `HdrPlanes`
are an HDR source's own 10-bit BT.2020 planes, which a dub writes back as HDR.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

# YUV -> RGB: interpolated chroma and exact rounding. With swscale's fast defaults (nearest
# chroma, approximate rounding) a decode -> yuv420p encode -> decode round trip alone costs
# ~44.7 dB PSNR on textured frames; these give ~50.8 dB together with YUV_FROM_RGB_FLAGS.
RGB_FROM_YUV_FLAGS = int(
    Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
)

# RGB -> YUV: area-averaged chroma with exact rounding, the near-inverse of the above.
YUV_FROM_RGB_FLAGS = int(
    Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP
)

# YUV -> YUV of another depth, range or matrix (10-bit, full range, ... to 8-bit BT.709, and
# back for HDR; 8-bit BT.601 has its own equation, bt601_to_bt709): bicubic chroma kept the RGB closest to the source's own decode in a
# measurement on hard-edged cartoon frames (~41 dB, against ~36 dB going through RGB and
# ~34 dB with bilinear).
YUV_FROM_YUV_FLAGS = int(
    Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP
)

COLORSPACE = "itu709"  # the matrix of every `Planes`
COLOR_RANGE = "MPEG"  # limited range: Y in 16..235, U and V in 16..240

_SITED = threading.local()  # per thread: a decoded H.264 template and frames copied from it


_LEFT_IN_PARENT = []  # a forked child's copies of the parent's frames, never used or freed


def _forget_sited_frames() -> None:
    """In a forked child (pipeline.forked), set aside the frames the forking thread kept: each
    holds its swscale context, whose worker threads did not survive the fork, so the child's
    first conversion at a size the parent had converted waited for them forever. They are
    kept, not freed: freeing one waits for those threads too."""
    _LEFT_IN_PARENT.append(dict(_SITED.__dict__))
    _SITED.__dict__.clear()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows never forks
    os.register_at_fork(after_in_child=_forget_sited_frames)


class _Sized:
    """The picture size of three planes, from their luma."""

    y: np.ndarray

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @property
    def width(self) -> int:
        return int(self.y.shape[1])


@dataclass(frozen=True)
class Planes(_Sized):
    """One picture as 8-bit YUV 4:2:0, BT.709 limited range.

    y is (H, W); u and v are (ceil(H/2), ceil(W/2)), chroma sample (r, c) covering luma rows
    2r, 2r+1 and columns 2c, 2c+1 (only the first of each at an odd edge). All uint8 and
    C-contiguous; treat them as read-only (`add_rgb_change` returns new planes).
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __post_init__(self) -> None:
        _check_planes(self.y, self.u, self.v, np.uint8)


def _check_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, dtype) -> None:
    """y (H, W) and u, v (ceil(H/2), ceil(W/2)), all 2-D of `dtype`, or ValueError."""
    h, w = y.shape if y.ndim == 2 else (-1, -1)
    chroma = ((h + 1) // 2, (w + 1) // 2)
    for name, plane in (("y", y), ("u", u), ("v", v)):
        if plane.dtype != dtype or plane.ndim != 2:
            raise ValueError(f"plane {name} must be 2-D {np.dtype(dtype).name}, got {plane.shape} {plane.dtype}")
    if h <= 0 or w <= 0 or u.shape != chroma or v.shape != chroma:
        raise ValueError(f"need y (H, W) and u, v (ceil(H/2), ceil(W/2)), got {y.shape}, {u.shape}, {v.shape}")


def planes_of(frame: av.VideoFrame) -> Planes:
    """Copy the three planes of an 8-bit yuv420p `av.VideoFrame` (whatever its tags say)."""
    if frame.format.name != "yuv420p":
        raise ValueError(f"need a yuv420p frame, got {frame.format.name}")
    arrays = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        arrays.append(np.ascontiguousarray(rows[:, : plane.width]))
    return Planes(*arrays)


# Luma weights (Kr, Kb) of the two matrices an 8-bit SD or HD video is coded in.
BT601 = (0.299, 0.114)
BT709 = (0.2126, 0.0722)


def ycbcr_matrix(kr: float, kb: float) -> np.ndarray:
    """(3, 3): R'G'B' in 0..1 -> (Y' in 0..1, Cb and Cr in -0.5..0.5) for luma weights Kr, Kb."""
    kg = 1.0 - kr - kb
    return np.array([[kr, kg, kb],
                     [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
                     [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))]])


def _bt709_from_bt601() -> np.ndarray:
    """(3, 3) on limited-range code values less (16, 128, 128): BT.601 YCbCr -> BT.709 YCbCr of
    the same colour. Its luma row is (1, a, b) and its chroma rows have no luma term (grey is
    grey in both), so chroma converts at its own resolution and luma needs only a small
    correction from the chroma beside it."""
    to709 = ycbcr_matrix(*BT709) @ np.linalg.inv(ycbcr_matrix(*BT601))
    scale = np.diag([219.0, 224.0, 224.0])  # limited range: Y 16..235, Cb and Cr 16..240
    return scale @ to709 @ np.linalg.inv(scale)


_BT709_FROM_BT601 = _bt709_from_bt601().astype(np.float32)


def bt601_to_bt709(planes: Planes) -> Planes:
    """BT.601 limited-range planes as BT.709 limited-range planes of the same picture.

    The chroma planes are mapped sample by sample; the luma gets the chroma's share, taken at
    each luma pixel from the chroma samples around it as H.264 sites them (co-sited with the
    even columns, centred between rows). swscale's YUV -> YUV conversion (bicubic, through
    4:4:4) took 2.9 ms a 512x512 frame and its RGB lay 47.0 dB from the source's own decode;
    this takes 1.3 ms and lies 51.4 dB from it (bench/results/bt601.md)."""
    m = _BT709_FROM_BT601
    u = planes.u.astype(np.float32) - 128.0
    v = planes.v.astype(np.float32) - 128.0
    luma_share = m[0, 1] * u + m[0, 2] * v
    height, width = planes.height, planes.width
    wide = np.empty((u.shape[0], 2 * u.shape[1]), np.float32)
    wide[:, 0::2] = luma_share
    wide[:, 1:-1:2] = 0.5 * (luma_share[:, :-1] + luma_share[:, 1:])
    wide[:, -1] = luma_share[:, -1]
    tall = cv2.resize(wide, (wide.shape[1], 2 * wide.shape[0]), interpolation=cv2.INTER_LINEAR)
    return Planes(_to_levels(planes.y + tall[:height, :width]),
                  _to_levels(m[1, 1] * u + m[1, 2] * v + 128.0),
                  _to_levels(m[2, 1] * u + m[2, 2] * v + 128.0))


def _to_levels(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _sited_frame(width: int, height: int, format: str) -> av.VideoFrame:
    """A writable frame of this size and format whose chroma location is H.264's default.

    swscale honours a frame's chroma location, and PyAV cannot set it: frames PyAV makes say
    "unspecified" (converted as centred chroma) while H.264 decodes, our writer's output
    included, say "left" (chroma co-sited with the even luma columns). Converting with the
    wrong one shifts colour half a pixel sideways at every round trip, so all conversions
    here use frames copied from a decoded H.264 frame (the copy keeps its chroma location).
    One per size and format and per thread, reused: callers overwrite every pixel.
    """
    cache = _SITED.__dict__.setdefault("frames", {})
    key = (width, height, format)
    frame = cache.get(key)
    if frame is None:
        template = _SITED.__dict__.get("template")
        if template is None:
            template = _SITED.template = _decoded_h264_frame()
        if len(cache) >= 8:  # a few sizes at most in practice; bound it anyway
            cache.clear()
        frame = template.reformat(width=width, height=height, format=format)
        if frame is template:  # same size and format: reformat hands the template back
            frame = template.reformat(width=width, height=height, format="yuv444p")
            frame = frame.reformat(format=format)
        # Props copied from the decoded keyframe that must not reach an encoder: libx264
        # turns a frame marked as an I picture into a forced keyframe.
        frame.pict_type = av.video.frame.PictureType.NONE
        frame.key_frame = False
        cache[key] = frame
    frame.make_writable()
    return frame


def _decoded_h264_frame() -> av.VideoFrame:
    """One tiny frame through libx264 and back: it carries the decoder's chroma location.

    Without libx264 (a PyAV build lacking it cannot write our output anyway) a plain frame
    stands in: conversions then assume centred chroma, still all alike.
    """
    try:
        return _h264_round_trip()
    except (av.error.FFmpegError, ValueError, IndexError):
        return av.VideoFrame(16, 16, "yuv420p")


def _h264_round_trip() -> av.VideoFrame:
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width = encoder.height = 16
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"preset": "ultrafast"}
    blank = av.VideoFrame(16, 16, "yuv420p")
    blank.pts = 0
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for packet in [*encoder.encode(blank), *encoder.encode(None)]:
        frames.extend(decoder.decode(packet))
    frames.extend(decoder.decode(None))
    return frames[0]


def _fill(frame: av.VideoFrame, arrays: tuple[np.ndarray, ...]) -> None:
    """Copy one array per plane into a writable frame (rows may be padded to a stride)."""
    for plane, data in zip(frame.planes, arrays, strict=True):
        rows = np.frombuffer(memoryview(plane).cast("B"), np.uint8)
        rows = rows.reshape(plane.height, plane.line_size)
        rows[:, : data.shape[1] * (data.shape[2] if data.ndim == 3 else 1)] = (
            data.reshape(data.shape[0], -1)
        )


def to_av_frame(planes: Planes, pad_even: bool = False) -> av.VideoFrame:
    """A yuv420p `av.VideoFrame` holding `planes`, tagged BT.709 limited range, with H.264's
    default chroma location. The frame is reused by the next call in this thread: convert or
    encode it before calling again.

    With `pad_even`, an odd height/width gets one more luma row/column repeating the last
    (the chroma planes already cover it), as an H.264 yuv420p encoder needs.
    """
    y = planes.y
    if pad_even and (y.shape[0] % 2 or y.shape[1] % 2):
        y = np.pad(y, ((0, y.shape[0] % 2), (0, y.shape[1] % 2)), mode="edge")
    frame = _sited_frame(y.shape[1], y.shape[0], "yuv420p")
    _fill(frame, (y, planes.u, planes.v))
    frame.colorspace = 1  # AVCOL_SPC_BT709
    frame.color_range = 1  # AVCOL_RANGE_MPEG
    frame.pts = None
    return frame


def planes_to_rgb(planes: Planes) -> np.ndarray:
    """(H, W, 3) uint8 RGB, converted exactly as `VideoReader` converts decoded frames.

    swscale converts to planar RGB (gbrp) and OpenCV interleaves the planes: the same bytes
    as its packed rgb24 output with these flags, in half the time (0.45 against 0.95 ms a
    384 x 384 window; its packed writer is the slow part). At an odd size the two round a few
    pixels apart, so odd sizes (which a dub refuses) take the packed route."""
    if planes.width % 2 or planes.height % 2:
        return to_av_frame(planes).to_ndarray(format="rgb24", src_colorspace=COLORSPACE, src_color_range=COLOR_RANGE,
                                              interpolation=RGB_FROM_YUV_FLAGS)
    frame = to_av_frame(planes).reformat(
        format="gbrp",
        src_colorspace=COLORSPACE,
        src_color_range=COLOR_RANGE,
        interpolation=RGB_FROM_YUV_FLAGS,
    )
    g, b, r = (np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
               for plane in frame.planes)
    return cv2.merge([r, g, b])


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    """Planes of an (H, W, 3) uint8 RGB image, converted exactly as `VideoWriter.write` does
    (odd sizes are converted padded by a repeated last row/column, then cropped)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    pad_rows, pad_cols = height % 2, width % 2
    if pad_rows or pad_cols:
        rgb = np.pad(rgb, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")
    source = _sited_frame(rgb.shape[1], rgb.shape[0], "rgb24")
    _fill(source, (rgb,))
    frame = source.reformat(
        format="yuv420p",
        dst_colorspace=COLORSPACE,
        dst_color_range=COLOR_RANGE,
        interpolation=YUV_FROM_RGB_FLAGS,
    )
    planes = planes_of(frame)
    if pad_rows or pad_cols:
        planes = Planes(np.ascontiguousarray(planes.y[:height, :width]), planes.u, planes.v)
    return planes


# ----------------------------------------------------------------------------- HDR video

# High-dynamic-range video (a phone's HLG, HDR10's PQ) is 10-bit BT.2020. The dub works on
# its 8-bit BT.709 reading (`Planes`, converted by the matrix alone, as the model and the
# tracker see it) and writes the decoded 10-bit planes, with the edit's change carried back.
HDR_TRANSFERS = {"PQ": 16, "HLG": 18}  # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67
HDR_COLORSPACE = "bt2020"
AVCOL_BT2020 = 9  # primaries and non-constant-luminance matrix alike


@dataclass(frozen=True)
class HdrPlanes(_Sized):
    """One HDR picture as decoded: 10-bit YUV 4:2:0 (uint16 in 0..1023), BT.2020 limited
    range, its light coded by `transfer` ("HLG" or "PQ"). Shapes as `Planes`."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    transfer: str

    def __post_init__(self) -> None:
        if self.transfer not in HDR_TRANSFERS:
            raise ValueError(f"transfer must be one of {sorted(HDR_TRANSFERS)}, got {self.transfer!r}")
        _check_planes(self.y, self.u, self.v, np.uint16)


# An RGB change (8-bit levels) as the change of BT.709 limited-range code values (Y, Cb, Cr).
_YCC_FROM_RGB_CHANGE = (np.diag([219.0, 224.0, 224.0]) @ ycbcr_matrix(*BT709) / 255.0).astype(np.float32)


def add_rgb_change(planes: Planes, change: np.ndarray, left: int, top: int,
                   chroma_gain: np.ndarray | None = None) -> Planes:
    """New planes with an RGB change added: `change` (h, w, 3) float32, in 8-bit RGB levels,
    covers frame pixels [left, left + w) x [top, top + h) (inside the frame).

    The change is converted by BT.709's linear equations: luma at each pixel, chroma as the
    mean over each chroma sample's 2 x 2 pixels (the area filter of `rgb_to_planes`; pixels
    outside the rectangle add nothing), times `chroma_gain` where given (one factor per
    chroma sample of `chroma_rect(planes, left, top, left + w, top + h)`). Each sample moves by
    its change rounded, clipped to 0..255: one whose change rounds to 0 keeps its decoded
    value, and no sample goes through RGB (where saturated colours would clip)."""
    h, w = change.shape[:2]
    if left < 0 or top < 0 or left + w > planes.width or top + h > planes.height:
        raise ValueError(f"a {w}x{h} change at ({left}, {top}) does not fit the {planes.width}x{planes.height} frame")
    if h == 0 or w == 0:
        return planes
    ycc = cv2.transform(np.ascontiguousarray(change, dtype=np.float32), _YCC_FROM_RGB_CHANGE)
    y = planes.y.copy()
    y[top:top + h, left:left + w] = np.clip(np.rint(y[top:top + h, left:left + w] + ycc[..., 0]), 0, 255)
    cx0, cy0, cx1, cy1 = chroma_rect(planes, left, top, left + w, top + h)
    blocks = np.zeros((2 * (cy1 - cy0), 2 * (cx1 - cx0), 2), np.float32)
    blocks[top - 2 * cy0:top - 2 * cy0 + h, left - 2 * cx0:left - 2 * cx0 + w] = ycc[..., 1:]
    mean = 0.25 * (blocks[0::2, 0::2] + blocks[0::2, 1::2] + blocks[1::2, 0::2] + blocks[1::2, 1::2])
    if chroma_gain is not None:
        mean *= np.asarray(chroma_gain, np.float32)[..., None]
    u, v = planes.u.copy(), planes.v.copy()
    for c, plane in enumerate((u, v)):
        part = plane[cy0:cy1, cx0:cx1]
        part[...] = np.clip(np.rint(part + mean[..., c]), 0, 255)
    return Planes(y, u, v)


def chroma_rect(planes: Planes, left: int, top: int, right: int, bottom: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of the chroma samples covering the luma rectangle
    [left, right) x [top, bottom), clipped to the planes. Sample (r, c) covers luma rows 2r,
    2r + 1 and columns 2c, 2c + 1: its centre is luma (2c + 1, 2r + 1)."""
    return (max(0, int(left) // 2), max(0, int(top) // 2),
            min(planes.u.shape[1], -(-int(right) // 2)), min(planes.u.shape[0], -(-int(bottom) // 2)))


def hdr_planes_of(frame: av.VideoFrame, transfer: str) -> HdrPlanes:
    """Copy the three planes of a yuv420p10le `av.VideoFrame`."""
    if frame.format.name != "yuv420p10le":
        raise ValueError(f"need a yuv420p10le frame, got {frame.format.name}")
    arrays = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint16).reshape(plane.height, plane.line_size // 2)
        arrays.append(np.ascontiguousarray(rows[:, : plane.width]))
    return HdrPlanes(*arrays, transfer=transfer)


def hdr_to_av_frame(planes: HdrPlanes) -> av.VideoFrame:
    """A yuv420p10le `av.VideoFrame` holding `planes`, tagged BT.2020 and their transfer.
    Reused by the next call in this thread, as `to_av_frame`'s."""
    frame = _sited_frame(planes.width, planes.height, "yuv420p10le")
    _fill(frame, tuple(p.view(np.uint8) for p in (planes.y, planes.u, planes.v)))
    frame.colorspace = frame.color_primaries = AVCOL_BT2020
    frame.color_trc = HDR_TRANSFERS[planes.transfer]
    frame.color_range = 1  # AVCOL_RANGE_MPEG
    frame.pts = None
    return frame


def deepened(planes: Planes, transfer: str) -> HdrPlanes:
    """8-bit BT.709 planes converted back to 10-bit BT.2020 by the matrix alone (the inverse
    of how the reader reads HDR), labelled with `transfer`."""
    frame = to_av_frame(planes).reformat(format="yuv420p10le", src_colorspace=COLORSPACE,
                                         src_color_range=COLOR_RANGE, dst_colorspace=HDR_COLORSPACE,
                                         dst_color_range=COLOR_RANGE, interpolation=YUV_FROM_YUV_FLAGS)
    return hdr_planes_of(frame, transfer)


def _deepened(planes: Planes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`deepened`'s y, u, v as int32, for differences."""
    deep = deepened(planes, "HLG")
    return deep.y.astype(np.int32), deep.u.astype(np.int32), deep.v.astype(np.int32)


def hdr_replace_rect(hdr: HdrPlanes, before: Planes, after: Planes,
                     left: int, top: int, right: int, bottom: int) -> HdrPlanes:
    """`hdr` with the change from `before` to `after` (the 8-bit reading of the same picture,
    before and after the edit) added inside the rectangle [left, right) x [top, bottom),
    expanded to even coordinates: each 10-bit sample moves by the difference of the two
    readings converted back to 10-bit, so a sample the edit left alone stays exactly as
    decoded, and changed ones are not held to 8-bit steps of the decoded value."""
    height, width = hdr.height, hdr.width
    if before.y.shape != (height, width) or after.y.shape != (height, width):
        raise ValueError(f"the 8-bit planes must be {width}x{height}")
    x0, y0 = max(0, int(left) // 2 * 2), max(0, int(top) // 2 * 2)
    x1, y1 = min(width, -(-int(right) // 2) * 2), min(height, -(-int(bottom) // 2) * 2)
    if x1 <= x0 or y1 <= y0:
        return hdr
    # The conversion's chroma filter sees two pixels around the rectangle.
    mx0, my0, mx1, my1 = max(0, x0 - 2), max(0, y0 - 2), min(width, x1 + 2), min(height, y1 + 2)
    mx1 -= (mx1 - mx0) % 2
    my1 -= (my1 - my0) % 2

    def part(planes: Planes) -> Planes:
        return Planes(np.ascontiguousarray(planes.y[my0:my1, mx0:mx1]),
                      np.ascontiguousarray(planes.u[my0 // 2:my1 // 2, mx0 // 2:mx1 // 2]),
                      np.ascontiguousarray(planes.v[my0 // 2:my1 // 2, mx0 // 2:mx1 // 2]))
    new, old = _deepened(part(after)), _deepened(part(before))
    y, u, v = hdr.y.copy(), hdr.u.copy(), hdr.v.copy()
    ry, rx = y0 - my0, x0 - mx0
    y[y0:y1, x0:x1] = np.clip(y[y0:y1, x0:x1] + (new[0] - old[0])[ry:ry + y1 - y0, rx:rx + x1 - x0], 0, 1023)
    cy0, cx0, cy1, cx1 = y0 // 2, x0 // 2, (y1 + 1) // 2, (x1 + 1) // 2
    for plane, n, o in ((u, new[1], old[1]), (v, new[2], old[2])):
        delta = (n - o)[ry // 2:ry // 2 + cy1 - cy0, rx // 2:rx // 2 + cx1 - cx0]
        plane[cy0:cy1, cx0:cx1] = np.clip(plane[cy0:cy1, cx0:cx1] + delta, 0, 1023)
    return HdrPlanes(y, u, v, hdr.transfer)
