"""How much of the dub's colour change is worth keeping? (issue: default model, do no harm)

From one benchmark run's videos (`omnisync bench CORPUS --variants no-op,VARIANT --out RUN`),
re-scores each dubbed clip with the chroma of its mouth crops moved only part of the way from
the no-op's (the source re-encoded) to the dub's, luma kept: by one gain everywhere, or by a
Gaussian of the distance from the crop's centre (the true mouth) with sd a fraction of the crop
side. Prints the mouth PSNR against the ground truth per style group for each, and the mean
squared error of luma and of chroma (YCrCb) of the no-op and of the dub. Run on the tuning split
to choose `DubOptions.chroma_focus`; the dub's paste does the same to its output planes around
the tracked mouth (pipeline.window.paste_into_planes).

    python bench/chroma_gain.py RUN CORPUS [--variant chroma-focus=0] [--gains 0,0.5,1] [--sds 0.1,0.15,0.2,0.3]
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import ClipInputs, load_manifest, read_video
from omnisync_cli.face.config import FaceConfig


def ycrcb(crops: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(crops.reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(crops.shape).astype(np.float32)


def with_chroma_gain(dub: np.ndarray, noop: np.ndarray, gain: float | np.ndarray) -> np.ndarray:
    """`dub` (F, S, S, 3) uint8 RGB with its chroma `gain` (a number or (S, S, 1)) of the way
    from `noop`'s to its own."""
    a, b = ycrcb(dub), ycrcb(noop)
    a[..., 1:] = b[..., 1:] + gain * (a[..., 1:] - b[..., 1:])
    out = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return cv2.cvtColor(out.reshape(-1, 1, 3), cv2.COLOR_YCrCb2RGB).reshape(dub.shape)


def centre_focus(side: int, sd: float) -> np.ndarray:
    """(side, side, 1) Gaussian weight of the distance from the crop's centre, sd `sd` x side."""
    centres = np.arange(side) + 0.5 - side / 2
    squared = centres[None, :] ** 2 + centres[:, None] ** 2
    return np.exp(-squared / (2 * (sd * side) ** 2))[..., None].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--variant", default="chroma-focus=0", help="the run's variant whose videos are re-scored "
                        "(one dubbed with its whole chroma change)")
    parser.add_argument("--gains", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--sds", default="0.1,0.15,0.2,0.3", help="Gaussian sds around the mouth, x the crop side")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    gains = [float(g) for g in args.gains.split(",")]
    sds = [float(sd) for sd in args.sds.split(",")]
    clips = {clip.id: clip for clip in load_manifest(args.corpus)}
    rows = []
    for path in sorted((args.run / "videos" / args.variant).glob("*.mp4")):
        inputs = ClipInputs.load(clips[path.stem], FaceConfig())
        dub, _ = read_video(path)
        noop, _ = read_video(args.run / "videos" / "no-op" / path.name)
        n = min(len(dub), len(noop), len(inputs.target), len(inputs.plan))
        boxes = inputs.mouth_boxes[:n]
        truth = metrics.crop_mouths(inputs.target[:n], boxes)
        dub, noop = metrics.crop_mouths(dub[:n], boxes), metrics.crop_mouths(noop[:n], boxes)
        row = {f"gain {g:g}": metrics.clip_psnr(with_chroma_gain(dub, noop, g), truth) for g in gains}
        row.update({f"focus sd {sd:g}": metrics.clip_psnr(with_chroma_gain(dub, noop, centre_focus(dub.shape[1], sd)),
                                                          truth) for sd in sds})
        row["no-op"] = metrics.clip_psnr(noop, truth)
        for name, crops in (("no-op", noop), ("dub", dub)):
            error = ycrcb(crops) - ycrcb(truth)
            row[f"{name} luma MSE"] = float((error[..., 0] ** 2).mean())
            row[f"{name} chroma MSE"] = float((error[..., 1:] ** 2).mean())
        rows.append((clips[path.stem].group, row))
        print(path.stem, {k: round(v, 2) for k, v in row.items()}, flush=True)
    keys = list(rows[0][1])
    lines = ["# Mouth PSNR of the dub with part of its chroma change", "",
             f"`python bench/chroma_gain.py {args.run} {args.corpus} --variant {args.variant}`: means per group "
             "(gain 1 = the videos as dubbed, through one YCrCb round trip; luma / chroma MSE in YCrCb levels squared, against the ground truth).", "",
             "| group | clips | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for group in [*sorted({g for g, _ in rows}), None]:
        chosen = [r for g, r in rows if group is None or g == group]
        lines.append(f"| {group or 'all'} | {len(chosen)} | "
                     + " | ".join(f"{np.mean([r[k] for r in chosen]):.2f}" for k in keys) + " |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
