"""Peak memory of a dub against its speech's length, from two code trees in one run.

A dub muxes its speech at the speech's own rate and channels. Held whole in memory, a 20 min
48 kHz stereo WAV took a dub to 1.3 GB (a user tour); read as the video is written
(`media.audio.NativeAudio`) it should cost the same at any length. Each dub is
`omnisync dub --passthrough` (no model: the length rules, the re-encode, the new audio) of a
3 s rendered clip, extended by ping-pong to the speech's length, as a separate process whose
own peak RSS (VmHWM) is read at exit; the older tree first on PYTHONPATH
(`git worktree add /tmp/before <commit>`), the after tree the one this runs from. The two
dubs' audio tracks are also compared packet for packet: the change is only in memory.

    python bench/long_speech.py --before-tree /tmp/before [--minutes 1 10] [--write bench/results/long-speech.md]
"""

import argparse
import os
import tempfile
from pathlib import Path

import av
import numpy as np
import soundfile

from omnisync_cli.data.speech import random_utterance
from omnisync_cli.media.audio import SAMPLE_RATE

from markdown_out import emit  # bench/markdown_out.py
from pipeline import render_clip, run_dub  # bench/pipeline.py

RATE = 48000  # the speech's own rate: 48 kHz stereo, as a studio or phone export


def long_speech(path: Path, minutes: float, seed: int = 0) -> None:
    """`minutes` of 48 kHz stereo speech as 16-bit WAV, written a few seconds at a time: 30 s of
    utterances at 16 kHz, upsampled, repeated (the right channel a little quieter)."""
    rng = np.random.default_rng(seed)
    voice = np.concatenate([random_utterance(rng, 3.0).waveform for _ in range(10)])
    voice = np.interp(np.arange(len(voice) * RATE // SAMPLE_RATE) * SAMPLE_RATE / RATE, np.arange(len(voice)), voice)
    stereo = np.stack([voice, 0.8 * voice], axis=1)  # (samples, 2)
    left = round(minutes * 60 * RATE)
    with soundfile.SoundFile(str(path), "w", RATE, 2, subtype="PCM_16") as out:
        while left > 0:
            out.write(stereo[:left])
            left -= len(stereo[:left])


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(packet.pts, bytes(packet)) for packet in container.demux(container.streams.audio[0]) if packet.size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--size", type=int, default=128, help="the clip's width and height")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    installed = os.environ.get("PYTHONPATH", "")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = tmp / "clip.mp4"
        render_clip(video, 3.0, 25.0, args.size, args.size, seed=3)
        for minutes in args.minutes:
            speech = tmp / f"speech-{minutes:g}min.wav"
            long_speech(speech, minutes)
            peaks, walls = {}, {}
            for tree in ("before", "after"):
                os.environ["PYTHONPATH"] = (f"{args.before_tree}{os.pathsep}{installed}" if tree == "before"
                                            else installed)
                walls[tree], peaks[tree], _ = run_dub(video, speech, tmp / f"{tree}.mp4")
            os.environ["PYTHONPATH"] = installed
            same = audio_packets(tmp / "before.mp4") == audio_packets(tmp / "after.mp4")
            rows.append((minutes, speech.stat().st_size, peaks, walls, same))
            speech.unlink()
    lines = [f"`python bench/long_speech.py --before-tree {args.before_tree} --minutes "
             f"{' '.join(f'{m:g}' for m in args.minutes)}`: `omnisync dub --passthrough` of a 3 s "
             f"{args.size}x{args.size} 25 fps clip with 48 kHz stereo 16-bit WAV speech, {os.cpu_count()} CPU cores.",
             "", "| speech | WAV MB | peak RSS before MB | peak RSS after MB | wall before s | wall after s | "
             "audio packets identical |", "|---|---|---|---|---|---|---|"]
    for minutes, size, peaks, walls, same in rows:
        lines.append(f"| {minutes:g} min | {size / 2**20:.0f} | {peaks['before'] / 1024:.0f} | "
                     f"{peaks['after'] / 1024:.0f} | {walls['before']:.1f} | {walls['after']:.1f} | "
                     f"{'yes' if same else 'NO'} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
