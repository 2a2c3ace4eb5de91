"""Is a dub real time on this machine? (issue: real-time dubbing on 2 CPU cores)

One run, same clip, same machine, in turn:
  - a bare ffmpeg transcode (same x264 crf/preset, AAC audio): the floor;
  - `omnisync dub --passthrough` (the pipeline without the model);
  - `omnisync dub` at the shipped defaults, without the mouth bank in the new speech's pauses
    (`--mouth-bank off`: the bank's decoding pass and donor path), and with the network in eager
    PyTorch (`--runtime torch`; on a CPU without native bf16 the default runs it in ONNX Runtime);
  - a re-dub with `--plan` (the analysis read back, tracking skipped).
Each is a separate process (start-up included, as a user waits for it). With `--runs N` the
whole list runs N times in rounds (one machine's drift falls on every row alike). Reported:
the median wall seconds and each run's, wall / clip seconds (<= 1 is real time), wall /
transcode (both medians), and the median run's own stage timings from --json.

    python bench/realtime.py [--seconds 10] [--size 512] [--fps 25] [--runs 3] [--write bench/results/realtime.md]
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import torch

from markdown_out import emit  # bench/markdown_out.py
from pipeline import ffmpeg_transcode, render_clip, run_dub, speech  # bench/pipeline.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--own-speech", action="store_true",
                        help="the clip carries the speech it mouths (the quiet rule and the mouth bank then read it)")
    parser.add_argument("--runs", type=int, default=1, help="rounds of the whole list (medians reported)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    dubs = (("dub --passthrough (no model)", ["--passthrough"]),
            ("dub, defaults", []),
            ("dub --mouth-bank off (no mouths lent in the new speech's pauses)", ["--mouth-bank", "off"]),
            ("dub --runtime torch (the network in eager PyTorch)", ["--runtime", "torch"]),
            ("dub --plan, first run (writes the plan)", ["--plan", "clip.plan.npz"]),
            ("dub --plan, re-dub (reads the plan)", ["--plan", "clip.plan.npz"]))
    runs = {name: [] for name in ["bare ffmpeg transcode", *(name for name, _ in dubs)]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = tmp / "clip.mp4", tmp / "speech.wav"
        render_clip(video, args.seconds, args.fps, args.size, args.size, seed=3, own_speech=args.own_speech)
        speech(audio, args.seconds, seed=4)
        for _ in range(args.runs):
            runs["bare ffmpeg transcode"].append((ffmpeg_transcode(video, audio, tmp / "transcode.mp4"), None, {}))
            (tmp / "clip.plan.npz").unlink(missing_ok=True)  # each round's first --plan run writes it
            for name, flags in dubs:
                flags = [str(tmp / f) if f.endswith(".npz") else f for f in flags]
                wall, rss_kib, summary = run_dub(video, audio, tmp / "out.mp4", tuple(flags))
                runs[name].append((wall, rss_kib // 1024, summary.get("seconds", {})))
    transcode = statistics.median(wall for wall, _, _ in runs["bare ffmpeg transcode"])
    own = " --own-speech" if args.own_speech else ""
    lines = [f"# Real-time check: {args.seconds:g} s {args.size}x{args.size} {args.fps:g} fps clip"
             f"{' with its own speech' if own else ''}, {args.seconds:g} s of new speech", "",
             f"`python bench/realtime.py --seconds {args.seconds:g} --size {args.size} --fps {args.fps:g}{own} "
             f"--runs {args.runs}`: {args.runs} round(s), each dub a separate process (start-up included), "
             f"{os.cpu_count()} CPU cores, torch {torch.__version__} with {torch.get_num_threads()} threads.", "",
             "| run | wall s (median) | each run | wall / clip s (<= 1: real time) | wall / transcode | peak RSS MiB | "
             "stages of the median run (s, --json) |", "|---|---|---|---|---|---|---|"]
    for name, results in runs.items():
        walls = [wall for wall, _, _ in results]
        wall, rss, stages = sorted(results, key=lambda r: r[0])[(len(results) - 1) // 2]
        lines.append(f"| {name} | {statistics.median(walls):.2f} | {' / '.join(f'{w:.2f}' for w in walls)} | "
                     f"{statistics.median(walls) / args.seconds:.2f} | {statistics.median(walls) / transcode:.1f} | "
                     f"{'–' if rss is None else rss} | {', '.join(f'{k} {v:.1f}' for k, v in stages.items())} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
