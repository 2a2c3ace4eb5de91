"""Wall time of `omnisync dub` from two code trees, alternating, on one clip (speed changes).

Each dub is a separate process (start-up included, as a user waits for it); the trees take
turns, so the machine's drift falls on both alike. The before tree is put first on
PYTHONPATH (`git worktree add /tmp/before <commit>`); the after tree is the one installed.
The clip is rendered (a talking character), or given with `--video` and `--speech`;
`--transcode` also times a bare ffmpeg transcode (the writer's x264 settings) in each round,
and reports each tree's wall time over it (the pipeline overhead, with `-- --passthrough`).

    python bench/ab_wall.py --before-tree /tmp/before [--runs 3] [--seconds 10] [--size 512] [-- DUB FLAGS]
    python bench/ab_wall.py --before-tree /tmp/before --video in.mp4 --speech s.wav --transcode -- --passthrough
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from markdown_out import emit  # bench/markdown_out.py
from pipeline import ffmpeg_transcode, render_clip, run_dub, speech  # bench/pipeline.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--video", type=Path, default=None, help="dub this video instead of a rendered clip")
    parser.add_argument("--speech", type=Path, default=None, help="... with this speech (with --video)")
    parser.add_argument("--transcode", action="store_true", help="also time a bare transcode each round")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("flags", nargs="*", help="dub flags for both trees (after --)")
    args = parser.parse_args()
    if (args.video is None) != (args.speech is None):
        parser.error("--video and --speech go together")
    walls = {"before": [], "after": []}
    stages = {"before": [], "after": []}
    transcodes = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = args.video, args.speech
        if video is None:
            video, audio = tmp / "clip.mp4", tmp / "speech.wav"
            render_clip(video, args.seconds, args.fps, args.size, args.size, seed=3)
            speech(audio, args.seconds, seed=4)
        installed = os.environ.get("PYTHONPATH", "")
        for _ in range(args.runs):
            if args.transcode:
                transcodes.append(ffmpeg_transcode(video, audio, tmp / "transcode.mp4"))
            for tree in ("before", "after"):
                os.environ["PYTHONPATH"] = (f"{args.before_tree}{os.pathsep}{installed}" if tree == "before"
                                            else installed)
                wall, _, summary = run_dub(video, audio, tmp / "out.mp4", tuple(args.flags))
                walls[tree].append(wall)
                stages[tree].append(summary.get("seconds", {}))
        os.environ["PYTHONPATH"] = installed
    source = (f"--video {args.video} --speech {args.speech}" if args.video is not None
              else f"--seconds {args.seconds:g} --size {args.size}")
    clip = (f"{args.video.name}" if args.video is not None
            else f"a {args.seconds:g} s {args.size}x{args.size} {args.fps:g} fps clip")
    lines = [f"`python bench/ab_wall.py --before-tree {args.before_tree} --runs {args.runs} {source}"
             f"{' --transcode' if args.transcode else ''}{' -- ' + ' '.join(args.flags) if args.flags else ''}`: "
             f"{clip}, {os.cpu_count()} CPU cores, trees alternating.", ""]
    if transcodes:
        lines += [f"Bare transcode, each round: {' / '.join(f'{t:.2f}' for t in transcodes)} s.", ""]
    lines += ["| tree | wall s, each run | median | over the round's transcode | stages of the median run (s, --json) |",
              "|---|---|---|---|---|"]
    for tree in ("before", "after"):
        order = sorted(range(args.runs), key=lambda i: walls[tree][i])
        middle = order[len(order) // 2]
        ratios = " / ".join(f"{w / t:.2f}" for w, t in zip(walls[tree], transcodes)) or "–"
        lines.append(f"| {tree} | {' / '.join(f'{w:.2f}' for w in walls[tree])} | {statistics.median(walls[tree]):.2f} | "
                     f"{ratios} | {', '.join(f'{k} {v:.1f}' for k, v in stages[tree][middle].items())} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
