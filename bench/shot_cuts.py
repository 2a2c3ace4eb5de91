"""A hard cut between two benchmark characters: where the track and the edit land around it.

    python bench/shot_cuts.py CORPUS [--first bench-seen-00001-01] [--second bench-heldout-head-00001-00]
                                     [--dub] [--write F]

Joins two benchmark clips of one frame size (a hard cut, re-encoded at crf 16 with their
sound), then:
  - tracks it as the dub does (`pipeline.analysis.analyse`) and measures the region centre's
    distance from the true mouth, in face widths, on the frames around the cut;
  - with `--dub`, dubs it with the shipped model and with the pass-through editor and, per
    frame, how much the dub changed (channel sums over 9 levels, so the encoder's own noise is
    not counted) and the share of that change inside the true mouth box grown by half its size.
The true mouths come from the corpus's benchmark manifest.
"""

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import PassthroughEditor, load_editor

from markdown_out import emit  # bench/markdown_out.py

AROUND = 8  # frames either side of the cut that are listed


def joined(corpus: Path, first: str, second: str, folder: Path) -> tuple[Path, Path, dict]:
    """The two clips' sources and speeches joined; and their manifest entries concatenated."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    a, b = corpus / "bench" / first, corpus / "bench" / second
    video, speech = folder / "cut.mp4", folder / "speech.wav"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(a / "source.mp4"), "-i", str(b / "source.mp4"),
                    "-filter_complex", "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
                    "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)], check=True)
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(a / "speech.wav"), "-i", str(b / "speech.wav"),
                    "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1[a]", "-map", "[a]", str(speech)], check=True)
    clips = {c["id"]: c for c in json.loads((corpus / "bench" / "manifest.json").read_text())["clips"]}
    truth = {key: np.concatenate([np.asarray(clips[i][key], np.float64) for i in (first, second)])
             for key in ("mouth_xy", "face_width", "mouth_size")}
    truth["cut"] = len(clips[first]["mouth_xy"])
    return video, speech, truth


def frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)])


def edit_placement(dubbed: np.ndarray, noop: np.ndarray, truth: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the change (summed over pixels whose channels moved by over 9 levels in all)
    and its share inside the true mouth box grown by half its size."""
    n = min(len(dubbed), len(noop), len(truth["mouth_xy"]))
    change, share = np.zeros(n), np.zeros(n)
    for k in range(n):
        d = np.abs(dubbed[k] - noop[k]).sum(2).astype(np.float64)
        d[d < 9] = 0
        (x, y), (w, h) = truth["mouth_xy"][k], truth["mouth_size"][k] * 2.0
        box = d[int(max(0, y - h / 2)):int(y + h / 2) + 1, int(max(0, x - w / 2)):int(x + w / 2) + 1]
        change[k], share[k] = d.sum(), box.sum() / max(d.sum(), 1e-9)
    return change, share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--first", default="bench-seen-00001-01")
    parser.add_argument("--second", default="bench-heldout-head-00001-00")
    parser.add_argument("--dub", action="store_true", help="also dub it and measure where the edit lands")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video, speech, truth = joined(args.corpus, args.first, args.second, folder)
        track = analyse(video).track
        n, cut = len(track), truth["cut"]
        error = np.hypot(track.cx - truth["mouth_xy"][:n, 0], track.cy - truth["mouth_xy"][:n, 1]) / truth["face_width"][:n]
        change = share = None
        if args.dub:
            dub(video, speech, folder / "dub.mp4", load_editor(None, SamplerConfig()), DubOptions())
            dub(video, speech, folder / "noop.mp4", PassthroughEditor(), DubOptions())
            change, share = edit_placement(frames(folder / "dub.mp4"), frames(folder / "noop.mp4"), truth)
    lines = [f"# A hard cut between {args.first} and {args.second}", "",
             f"`python bench/shot_cuts.py {args.corpus}{' --dub' if args.dub else ''}`: {n} frames, the cut before "
             f"frame {cut}; cuts found: {[int(c) for c in getattr(track, 'cuts', [])]} (none before face.shots).", "",
             f"Region centre off the true mouth by over 0.25 face widths on {int((error > 0.25).sum())} frames "
             f"(largest {error.max():.2f}).", "",
             "| frame | region off the mouth (face widths) | edited | " + ("change | share on the mouth |" if args.dub else ""),
             "|---|---|---|" + ("---|---|" if args.dub else "")]
    for k in range(max(0, cut - AROUND), min(n, cut + AROUND)):
        row = f"| {k} | {error[k]:.2f} | {'yes' if track.edits(k) else 'no'} |"
        if args.dub:
            row += f" {change[k]:.0f} | {share[k]:.2f} |" if change[k] > 0 else " 0 | – |"
        lines.append(row)
    emit(lines, args.write)


if __name__ == "__main__":
    main()
