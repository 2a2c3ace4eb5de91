"""How a dub's time and memory grow with picture size and video length (issue: real-time
dubbing), one run on this machine.

For each size (480p, 720p, 1080p; 16:9, 25 fps) a 10 s talking-character clip is rendered,
encoded as a delivered video would be (x264 crf 18), and looped without re-encoding to each
length (10 s, 60 s, 300 s by default), with 10 s of speech tiled to the same length. Each
cell runs `omnisync dub` at the shipped defaults in its own process; up to `--overhead-up-to`
seconds also `--passthrough` (the pipeline without the model) and a bare ffmpeg transcode
(the writer's x264 settings, AAC audio). Reported: wall seconds per second of video (<= 1 is
real time), peak RSS (flat in length means memory does not grow with the video), and the
pass-through's wall time over the transcode's.

    python bench/scaling.py [--sizes 480p,720p,1080p] [--lengths 10,60,300] [--write bench/results/scaling.md]
"""

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import torch

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio, write_wav
from pipeline import ffmpeg_transcode, render_clip, run_dub, speech  # bench/pipeline.py

SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
FPS = 25.0
BASE_S = 10.0


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def make_sources(tmp: Path, name: str, width: int, height: int, lengths: list[float]) -> dict[float, tuple[Path, Path]]:
    """(video, speech) per length: one rendered 10 s clip, looped."""
    lossless, base = tmp / f"{name}-lossless.mp4", tmp / f"{name}.mp4"
    render_clip(lossless, BASE_S, FPS, width, height, seed=5)
    ffmpeg("-i", str(lossless), "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(base))
    lossless.unlink()
    base_speech = tmp / "speech-10.wav"
    if not base_speech.exists():
        speech(base_speech, BASE_S, seed=6)
    sources = {}
    for seconds in lengths:
        video, audio = tmp / f"{name}-{seconds:g}.mp4", tmp / f"speech-{seconds:g}.wav"
        loops = int(np.ceil(seconds / BASE_S)) - 1
        ffmpeg("-stream_loop", str(loops), "-i", str(base), "-c", "copy", "-t", f"{seconds:g}", str(video))
        if not audio.exists():
            wave = load_audio(base_speech)
            write_wav(audio, np.tile(wave, loops + 1)[: int(seconds * SAMPLE_RATE)])
        sources[seconds] = (video, audio)
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--lengths", default="10,60,300")
    parser.add_argument("--overhead-up-to", type=float, default=60.0,
                        help="also time --passthrough and a bare transcode up to this length (s)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    lengths = [float(s) for s in args.lengths.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.sizes.split(","):
            width, height = SIZES[name]
            sources = make_sources(tmp, name, width, height, lengths)
            for seconds, (video, audio) in sources.items():
                out = tmp / "out.mp4"
                wall, rss, summary = run_dub(video, audio, out, ())
                stages = summary.get("seconds", {})
                row = dict(size=name, seconds=seconds, wall=wall, rss=rss // 1024,
                           track=stages.get("track", 0.0), render=stages.get("render", 0.0))
                if seconds <= args.overhead_up_to:
                    row["transcode"] = ffmpeg_transcode(video, audio, tmp / "transcode.mp4")
                    row["passthrough"], pass_rss, _ = run_dub(video, audio, out)
                    row["passthrough_rss"] = pass_rss // 1024
                rows.append(row)
                print(row, flush=True)
                video.unlink()
    lines = ["# Scaling: wall time per second of video and peak memory, by size and length", "",
             f"`python bench/scaling.py --sizes {args.sizes} --lengths {args.lengths}`: one run, each dub a separate "
             f"process (start-up included), {os.cpu_count()} CPU cores, torch {torch.__version__} with "
             f"{torch.get_num_threads()} threads. Sources: a rendered talking character, x264 crf 18, 25 fps, "
             "looped from 10 s; speech tiled from 10 s.", "",
             "| size | length s | dub wall s | wall / video s (<= 1: real time) | peak RSS MiB | track s | render s "
             "| passthrough wall s (RSS MiB) | bare transcode s | passthrough / transcode |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        overhead = (f"{r['passthrough']:.2f} ({r['passthrough_rss']}) | {r['transcode']:.2f} | "
                    f"{r['passthrough'] / r['transcode']:.1f}") if "transcode" in r else "– | – | –"
        lines.append(f"| {r['size']} | {r['seconds']:g} | {r['wall']:.1f} | {r['wall'] / r['seconds']:.2f} | {r['rss']} | "
                     f"{r['track']:.1f} | {r['render']:.1f} | {overhead} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
