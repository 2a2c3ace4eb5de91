"""BT.601 video read as BT.709 planes: swscale's YUV -> YUV conversion against `yuv.bt601_to_bt709`.

Every SD video without colour tags (most generator output, a 512x512 clip) and every video
tagged BT.601 is converted once per decoded frame, in the tracking pass's sibling passes (the
mouth bank, the render). For each video: milliseconds a frame of both conversions, and how far
the RGB of each result lies from the source's own decode as a player shows it (BT.601, the
reader's RGB flags), as PSNR over every `--every`-th frame.

    python bench/bt601.py VIDEO [VIDEO ...] [--every 10] [--write OUT.md]
"""

import argparse
import time
from pathlib import Path

import av
import numpy as np

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.media.yuv import (
    COLOR_RANGE,
    COLORSPACE,
    RGB_FROM_YUV_FLAGS,
    YUV_FROM_YUV_FLAGS,
    bt601_to_bt709,
    planes_of,
    planes_to_rgb,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255 ** 2 / error)


def by_swscale(frame: av.VideoFrame):
    return planes_of(frame.reformat(format="yuv420p", src_colorspace="itu601", dst_colorspace=COLORSPACE,
                                    dst_color_range=COLOR_RANGE, interpolation=YUV_FROM_YUV_FLAGS))


def by_equation(frame: av.VideoFrame):
    return bt601_to_bt709(planes_of(frame))


def measure(path: Path, every: int) -> dict:
    with av.open(str(path)) as container:
        frames = [f for k, f in enumerate(container.decode(video=0)) if k % every == 0]
    row = {"video": path.name, "size": f"{frames[0].width}x{frames[0].height}", "frames": len(frames)}
    for name, convert in (("swscale", by_swscale), ("equation", by_equation)):
        seconds, scores = 0.0, []
        for frame in frames:
            start = time.perf_counter()
            planes = convert(frame)
            seconds += time.perf_counter() - start
            shown = frame.to_ndarray(format="rgb24", src_colorspace="itu601", interpolation=RGB_FROM_YUV_FLAGS)
            scores.append(psnr(planes_to_rgb(planes), shown))
        row[f"{name} ms / frame"] = round(1e3 * seconds / len(frames), 2)
        row[f"{name} PSNR dB"] = round(float(np.mean(scores)), 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", type=Path, nargs="+")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    rows = [measure(path, args.every) for path in args.videos]
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
