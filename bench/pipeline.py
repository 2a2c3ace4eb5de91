"""Benchmark of the dub pipeline around the editing step (issue: foundation).

Measures, with the pass-through editor (the model is not run):
  1. output duration vs audio duration, fps, size, audio stream, and PSNR of the output
     against the source frame it came from (whole frame, so it bounds the PSNR outside
     the working region from below), on
       - a 10 s 512x512 25 fps clip with a 12 s speech file,
       - a 30 fps 720x1280 portrait clip stored landscape with rotation metadata,
       - a variable-frame-rate clip;
  2. peak RSS of `omnisync dub` on a 60 s clip vs a 10 s clip (separate processes);
  3. pipeline overhead: wall time of `omnisync dub --passthrough` divided by a bare ffmpeg
     transcode (same x264 crf/preset, AAC audio) of the same clip, in the same run.

    python bench/pipeline.py [--out bench/results/pipeline.md]

Clips are rendered with the synthetic-corpus renderer (a talking character) and written
near-losslessly first, so the measured loss is the pipeline's own.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from omnisync_cli.data.characters import make_character
from omnisync_cli.data.scene import make_scene, render_utterance
from omnisync_cli.data.speech import random_utterance
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio, write_wav
from omnisync_cli.media.video import VideoReader, probe_video
from omnisync_cli.media.writer import DEFAULT_CRF, DEFAULT_PRESET
from omnisync_cli.pipeline.timeline import Extend, plan_source_frames


def render_clip(path: Path, seconds: float, fps: float, width: int, height: int, *,
                rotate: int = 0, pts_jitter: bool = False, seed: int = 0, own_speech: bool = False) -> None:
    """A talking character (rendered square, padded to width x height), encoded at crf 0,
    optionally stored turned with rotation metadata, or with irregular (VFR) timestamps, and
    with `own_speech` carrying the speech it mouths as an AAC track (as a user's video does)."""
    rng = np.random.default_rng(seed)
    character = make_character("human", index=seed, seed=seed, prefix="bench")
    size = min(width, height)
    pad = ((0, 0), ((height - size) // 2, height - size - (height - size) // 2),
           ((width - size) // 2, width - size - (width - size) // 2), (0, 0))
    # one utterance per 3 s keeps espeak's sentences short; the mouth keeps moving throughout
    frames, voice = [], []
    for start in np.arange(0, seconds, 3.0):
        chunk = min(3.0, seconds - start)
        utt = random_utterance(rng, chunk)
        part = make_scene(character, seed=seed, fps=fps, n_frames=int(round(chunk * fps)), frame_size=size)
        frames.extend(np.pad(render_utterance(part, utt, 1.0).frames, pad, mode="reflect"))
        voice.append(np.pad(utt.waveform, (0, max(0, round(chunk * SAMPLE_RATE) - len(utt.waveform))))[
            :round(chunk * SAMPLE_RATE)])
    with av.open(str(path), "w") as container:
        time_base = Fraction(1, 1000) if pts_jitter else 1 / Fraction(fps).limit_denominator(1001)
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                      options={"crf": "0", "preset": "ultrafast"})
        stream.codec_context.time_base = time_base
        if rotate:
            frames = [np.rot90(f, k=-rotate // 90).copy() for f in frames]  # store turned
            stream.set_display_rotation(rotate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if own_speech else None
        t = 0.0
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            if pts_jitter:  # frame durations of 0.5x to 1.5x the nominal step
                frame.pts = int(round(t * 1000))
                t += (0.5 + rng.random()) / fps
            else:
                frame.pts = i
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            mux_speech(container, audio, np.concatenate(voice).astype(np.float32))


def mux_speech(container, stream, waveform: np.ndarray) -> None:
    """Encode `waveform` (mono, SAMPLE_RATE) into the container's audio `stream`."""
    for start in range(0, len(waveform), 1024):
        frame = av.AudioFrame.from_ndarray(waveform[None, start:start + 1024], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def speech(path: Path, seconds: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = [random_utterance(rng, min(3.0, seconds - s)).waveform for s in np.arange(0, seconds, 3.0)]
    write_wav(path, np.concatenate(parts)[: int(seconds * SAMPLE_RATE)])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


# Runs omnisync and, at exit, reports the process's own peak RSS (VmHWM). The rusage that
# wait4 returns is not it: it keeps the parent's RSS at the fork (a benchmark holding rendered
# clips in memory made a 1080p dub look like 2.2 GB instead of 1.0 GB).
_PEAK_WRAPPER = """
import atexit, runpy, sys
if sys.path and sys.path[0] == '':  # -c puts the working directory first: the tree on PYTHONPATH must win
    del sys.path[0]
def peak():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                sys.stderr.write('omnisync-peak-kib ' + line.split()[1] + chr(10))
atexit.register(peak)
sys.argv = ['omnisync'] + sys.argv[1:]
runpy.run_module('omnisync_cli', run_name='__main__')
"""


def run_dub(video: Path, audio: Path, out: Path, flags: tuple[str, ...] = ("--passthrough",)) -> tuple[float, int, dict]:
    """Wall seconds, peak RSS (KiB) and JSON report of one `omnisync dub` process."""
    cmd = [sys.executable, "-c", _PEAK_WRAPPER, "dub", str(video), str(audio), "-o", str(out),
           *flags, "--overwrite", "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"dub {' '.join(flags)} failed on {video}: {proc.stderr.decode()[-500:]}")
    peaks = [int(line.split()[1]) for line in proc.stderr.decode().splitlines() if line.startswith("omnisync-peak-kib ")]
    return wall, peaks[-1], json.loads(proc.stdout)


def ffmpeg_transcode(video: Path, audio: Path, out: Path) -> float:
    import imageio_ffmpeg
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-i", str(audio),
           "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-crf", str(DEFAULT_CRF),
           "-preset", DEFAULT_PRESET, "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def check_output(video: Path, audio: Path, out: Path) -> dict:
    src, dst = probe_video(video), probe_video(out)
    audio_s = len(load_audio(audio)) / SAMPLE_RATE
    with VideoReader(video) as reader:
        times = [f.time_s for f in reader.iter_frames()]
    plan = plan_source_frames(np.array(times), src.fps, src.duration, audio_s, Extend.pingpong)
    with VideoReader(video) as a, VideoReader(out) as b:
        source = {}
        scores = []
        for f in a.iter_frames():
            source[f.index] = f.image
        for j, f in enumerate(b.iter_frames()):
            scores.append(psnr(f.image, source[int(plan[j])]))
    with av.open(str(out)) as container:
        has_audio = bool(container.streams.audio)
    return dict(source=f"{src.width}x{src.height}@{float(src.fps):.3f}", output=f"{dst.width}x{dst.height}@{float(dst.fps):.3f}",
                audio_s=round(audio_s, 3), output_s=round(dst.frame_count / float(dst.fps), 3),
                frames_off=dst.frame_count - len(plan), has_audio=has_audio,
                psnr_mean=round(float(np.mean(scores)), 2), psnr_min=round(float(np.min(scores)), 2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("bench/results/pipeline.md"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="omnisync-bench-"))
    lines = ["# Pipeline benchmark (pass-through editor)", ""]

    clips = {
        "512x512 25 fps, 10 s video, 12 s speech": (dict(seconds=10, fps=25, width=512, height=512), 12.0),
        "720x1280 portrait 30 fps (stored 1280x720 + rotation), 5 s": (
            dict(seconds=5, fps=30, width=720, height=1280, rotate=90), 5.0),
        "VFR (0.5x-1.5x frame gaps), 256x256 ~25 fps, 6 s": (
            dict(seconds=6, fps=25, width=256, height=256, pts_jitter=True), 6.0),
    }
    lines += ["| clip | source | output | audio s | output s | frames off | audio | PSNR mean / min dB |",
              "|---|---|---|---|---|---|---|---|"]
    for i, (name, (kwargs, audio_s)) in enumerate(clips.items()):
        video, audio, out = work / f"clip{i}.mp4", work / f"speech{i}.wav", work / f"out{i}.mp4"
        render_clip(video, seed=i, **kwargs)
        speech(audio, audio_s, seed=100 + i)
        run_dub(video, audio, out)
        r = check_output(video, audio, out)
        lines.append(f"| {name} | {r['source']} | {r['output']} | {r['audio_s']} | {r['output_s']} | "
                     f"{r['frames_off']} | {r['has_audio']} | {r['psnr_mean']} / {r['psnr_min']} |")
        print(lines[-1], flush=True)

    # memory and overhead on 256x256 25 fps clips (the model is not involved)
    lines += ["", "| clip | dub wall s | ffmpeg transcode wall s | overhead ratio | peak RSS MiB |",
              "|---|---|---|---|---|"]
    rss = {}
    for seconds in (10, 60):
        video, audio, out = work / f"long{seconds}.mp4", work / f"long{seconds}.wav", work / f"long{seconds}-out.mp4"
        render_clip(video, seconds=seconds, fps=25, width=256, height=256, seed=7)
        speech(audio, seconds, seed=7)
        wall, peak, _ = run_dub(video, audio, out)
        bare = ffmpeg_transcode(video, audio, work / f"long{seconds}-ffmpeg.mp4")
        rss[seconds] = peak / 1024
        lines.append(f"| {seconds} s 256x256 | {wall:.2f} | {bare:.2f} | {wall / bare:.2f} | {peak / 1024:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", f"Peak RSS 60 s / 10 s: {rss[60] / rss[10]:.3f}"]
    print(lines[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
