"""x264's threads in the writer: PyAV's default (slice threads) against frame threads (what the
ffmpeg tool uses), encoding the same 720p frames (issue: real-time dubbing, pipeline overhead).

Encodes `--frames` frames (the first 50 of the video, cycled) through a libx264 stream with the
writer's crf and preset, once per thread type, in turn, and prints the seconds of each.

    python bench/encoder_threads.py VIDEO [--frames 1500] [--rounds 2]
"""

import argparse
import time
from pathlib import Path

import av

from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.writer import DEFAULT_CRF, DEFAULT_PRESET
from omnisync_cli.media.yuv import to_av_frame


def encode_seconds(planes: list, frames: int, thread_type: str | None, out: Path) -> float:
    height, width = planes[0].y.shape
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": str(DEFAULT_CRF), "preset": DEFAULT_PRESET})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if thread_type is not None:
            stream.codec_context.thread_type = thread_type
        start = time.perf_counter()
        for i in range(frames):
            container.mux(stream.encode(to_av_frame(planes[i % len(planes)])))
        container.mux(stream.encode())
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/encoder_threads.mp4"))
    args = parser.parse_args()
    with VideoReader(args.video) as reader:
        planes = [frame.planes for _, frame in zip(range(50), reader.iter_frames())]
    for _ in range(args.rounds):
        for name, thread_type in (("PyAV default (slice)", None), ("frame threads (AUTO)", "AUTO")):
            print(f"{name}: {encode_seconds(planes, args.frames, thread_type, args.out):.2f} s for {args.frames} frames")


if __name__ == "__main__":
    main()
