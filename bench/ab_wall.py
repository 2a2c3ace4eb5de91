"""Wall time of `omnisync dub` from two code trees, alternating, on one clip (speed changes).

Each dub is a separate process (start-up included, as a user waits for it); the trees take
turns, so the machine's drift falls on both alike. The before tree is put first on
PYTHONPATH (`git worktree add /tmp/before <commit>`); the after tree is the one installed.

    python bench/ab_wall.py --before-tree /tmp/before [--runs 3] [--seconds 10] [--size 512] [-- DUB FLAGS]
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from markdown_out import emit  # bench/markdown_out.py
from pipeline import render_clip, run_dub, speech  # bench/pipeline.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("flags", nargs="*", help="dub flags for both trees (after --)")
    args = parser.parse_args()
    walls = {"before": [], "after": []}
    stages = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = tmp / "clip.mp4", tmp / "speech.wav"
        render_clip(video, args.seconds, args.fps, args.size, args.size, seed=3)
        speech(audio, args.seconds, seed=4)
        installed = os.environ.get("PYTHONPATH", "")
        for _ in range(args.runs):
            for tree in ("before", "after"):
                os.environ["PYTHONPATH"] = (f"{args.before_tree}{os.pathsep}{installed}" if tree == "before"
                                            else installed)
                wall, _, summary = run_dub(video, audio, tmp / "out.mp4", tuple(args.flags))
                walls[tree].append(wall)
                stages[tree].append(summary.get("seconds", {}))
        os.environ["PYTHONPATH"] = installed
    lines = [f"`python bench/ab_wall.py --before-tree {args.before_tree} --runs {args.runs} --seconds {args.seconds:g} "
             f"--size {args.size}{' -- ' + ' '.join(args.flags) if args.flags else ''}`: {args.seconds:g} s "
             f"{args.size}x{args.size} {args.fps:g} fps clip, {os.cpu_count()} CPU cores, trees alternating.", "",
             "| tree | wall s, each run | median | stages of the median run (s, --json) |", "|---|---|---|---|"]
    for tree in ("before", "after"):
        order = sorted(range(args.runs), key=lambda i: walls[tree][i])
        middle = order[len(order) // 2]
        lines.append(f"| {tree} | {' / '.join(f'{w:.2f}' for w in walls[tree])} | {statistics.median(walls[tree]):.2f} | "
                     f"{', '.join(f'{k} {v:.1f}' for k, v in stages[tree][middle].items())} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
