"""Where does a dub's edit land? `omnisync dub` on clips of `bench/moving_faces.py`, before and after.

    python bench/edit_placement.py --clips-dir DIR --clips human0-run,nonhuman3-still --speech S.wav \
        [--before-tree /tmp/before] [--write F]

Each clip (rendered by `bench/moving_faces.py --clips-dir DIR`, with its generator's mouth in the
.npz beside it) is dubbed with `--speech` by this checkout and, with `--before-tree`, by that tree
(`python -m omnisync_cli dub` with PYTHONPATH set to it). The change against the source on each
of the clip's frames, ignoring the codec's small differences (below 24 summed over RGB), gives:
the share of the change within half a face width of the true mouth, and the median distance of
the change's centroid from the true mouth, in face widths.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

from markdown_out import emit  # bench/markdown_out.py

NOISE = 24  # summed |RGB| change below which a pixel counts as unchanged (the codec's differences)


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]


def placement(source: Path, dubbed: Path, mouth: np.ndarray, width: np.ndarray) -> tuple[float, float]:
    """(share of the change within half a face width of the mouth, median centroid distance in face widths)."""
    before, after = frames(source), frames(dubbed)
    near = total = 0.0
    distances = []
    for k in range(min(len(before), len(after), len(mouth))):
        change = np.abs(after[k] - before[k]).sum(-1)
        change[change < NOISE] = 0
        (mx, my), reach = mouth[k], 0.5 * width[k]
        near += change[max(0, int(my - reach)):int(my + reach), max(0, int(mx - reach)):int(mx + reach)].sum()
        total += change.sum()
        if change.sum() > 0:
            ys, xs = np.nonzero(change)
            weights = change[ys, xs]
            cx, cy = (xs * weights).sum() / weights.sum(), (ys * weights).sum() / weights.sum()
            distances.append(np.hypot(cx - mx, cy - my) / width[k])
    return near / max(total, 1e-9), float(np.median(distances)) if distances else float("nan")


def dubbed(tree: Path | None, video: Path, speech: Path, out: Path) -> None:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    subprocess.run([sys.executable, "-m", "omnisync_cli", "dub", str(video), str(speech), "-o", str(out)],
                   env=env, check=True, capture_output=True, cwd=tempfile.gettempdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-dir", type=Path, required=True)
    parser.add_argument("--clips", required=True, help="clip names in the folder, without .mp4")
    parser.add_argument("--speech", type=Path, required=True)
    parser.add_argument("--before-tree", type=Path, default=None)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    trees = ([("before", args.before_tree)] if args.before_tree else []) + [("after", None)]
    lines = ["# Where the dub's edit lands", "",
             f"`python bench/edit_placement.py --clips-dir DIR --clips {args.clips} --speech {args.speech.name}"
             + (f" --before-tree {args.before_tree}" if args.before_tree else "") + "`: `omnisync dub` at its "
             "defaults; the change against the source on the clip's frames (codec differences ignored).", "",
             "| clip | tree | change within 0.5 face widths of the mouth | change's centroid from the mouth (median, face widths) |",
             "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.clips.split(","):
            video, truth = args.clips_dir / f"{name}.mp4", np.load(args.clips_dir / f"{name}.npz")
            for tag, tree in trees:
                out = Path(scratch) / f"{name}-{tag}.mp4"
                dubbed(tree, video, args.speech, out)
                share, distance = placement(video, out, truth["mouth"], truth["width"])
                print(f"{name} {tag}: {share:.3f} within, centroid {distance:.3f} fw", flush=True)
                lines.append(f"| {name} | {tag} | {share:.3f} | {distance:.3f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
