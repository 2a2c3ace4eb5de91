"""What keeping HDR costs a dub: an HLG clip dubbed as HDR (HEVC Main 10) against the same
pictures in standard range (H.264), one run on this machine.

A 10 s talking-character clip is rendered at the given size, then encoded twice by FFmpeg at
crf 18: 8-bit BT.709 H.264, and 10-bit BT.2020 HLG HEVC (as an iPhone records, without its
wider gamut: the pictures are the same). Each is dubbed with `--passthrough` (the model's
time does not depend on the output format) at a fixed `--region`, in its own process.
Reported: wall seconds, the output's codec and format, and the output's PSNR against the
source as decoded (8-bit RGB for the SDR clip; 10-bit luma for the HDR clip, peak 1023).

    python bench/hdr.py [--size 1280x720] [--seconds 10] [--write bench/results/hdr.md]
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from markdown_out import emit  # bench/markdown_out.py
from pipeline import render_clip, run_dub, speech  # bench/pipeline.py


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def decoded(path: Path, hdr: bool) -> np.ndarray:
    with av.open(str(path)) as container:
        if hdr:
            return np.stack([f.to_ndarray(format="yuv420p10le")[: f.height].astype(np.float64)
                             for f in container.decode(video=0)])
        return np.stack([f.to_ndarray(format="rgb24").astype(np.float64) for f in container.decode(video=0)])


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    n = min(len(a), len(b))
    mse = float(np.mean((a[:n] - b[:n]) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak ** 2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    region = f"{width // 2 - 64},{height // 2 - 64},128,128"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        render_clip(tmp / "lossless.mp4", args.seconds, 25.0, width, height, seed=5)
        speech(tmp / "speech.wav", args.seconds, seed=6)
        ffmpeg("-i", str(tmp / "lossless.mp4"), "-c:v", "libx264", "-crf", "18", "-preset", "veryfast",
               "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
               str(tmp / "sdr.mp4"))
        ffmpeg("-i", str(tmp / "lossless.mp4"), "-c:v", "libx265", "-crf", "18", "-preset", "veryfast",
               "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-x265-params",
               "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc", str(tmp / "hlg.mp4"))
        for name, hdr in (("sdr", False), ("hlg", True)):
            out = tmp / f"{name}-out.mp4"
            wall, _, summary = run_dub(tmp / f"{name}.mp4", tmp / "speech.wav", out,
                                       ("--passthrough", "--region", region))
            with av.open(str(out)) as container:
                stream = container.streams.video[0]
                frame = next(container.decode(stream))
                kind = f"{stream.codec_context.name} {frame.format.name}"
            fidelity = psnr(decoded(out, hdr), decoded(tmp / f"{name}.mp4", hdr), 1023.0 if hdr else 255.0)
            rows.append(f"| {'HLG 10-bit' if hdr else 'SDR 8-bit'} | {kind} | {wall:.2f} | "
                        f"{summary['seconds'].get('render', float('nan')):.2f} | {fidelity:.1f} |")
    emit(["# Keeping HDR: cost and fidelity of a pass-through dub", "",
          f"`python bench/hdr.py --size {args.size} --seconds {args.seconds:g}`: one run, each dub its own process "
          f"(start-up included), `--passthrough --region {region}`, 2 CPU cores.", "",
          "| source | output | dub wall s | render s | PSNR against the source dB |",
          "|---|---|---|---|---|", *rows], args.write)


if __name__ == "__main__":
    main()
