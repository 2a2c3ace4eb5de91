"""Where the dub's fidelity goes: the edit on the mouth against the edit beside it.

    python bench/edit_split.py CORPUS [--clips 8] [--weights DIR] [--write bench/results/edit-split.md]

For each benchmark clip: the no-op (source re-encoded with the new speech) and the dub at the
defaults. The dub's edit (dub - no-op) is split by each frame's true mouth box grown by half
its size (the box `edit on mouth` uses) into the part on the mouth and the part beside it,
and each part alone is added back to the no-op. Scored like the benchmark's mouth PSNR
(face-width crops against the ground truth):
  - no-op, dub: as in `omnisync bench`;
  - mouth part only: the dub as it would be if nothing beside the mouth had changed
    (the most a perfectly placed edit could gain from this model's mouths);
  - beside part only: what the edit beside the mouth costs by itself.
A mouth part above the no-op says the model draws better mouths than the source and loses
only by painting beside them; below it says the mouths themselves are wrong.
"""

import argparse
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import ClipInputs, load_manifest, read_video, select_clips
from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor, load_editor

from markdown_out import emit  # bench/markdown_out.py

GROW = 0.5  # as metrics.edit_share


def mouth_mask(shape: tuple[int, int], rect: np.ndarray) -> np.ndarray:
    """(H, W, 1) float mask: 1 inside the rect grown as `edit on mouth` grows it."""
    h, w = shape
    x0, y0, x1, y1 = metrics.grown_rect(rect, GROW, w, h)
    mask = np.zeros((h, w, 1), np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def split_edit(dubbed: np.ndarray, noop: np.ndarray, rects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mouth part only, beside part only): the no-op plus that part of the edit, uint8."""
    on, beside = np.empty_like(dubbed), np.empty_like(dubbed)
    for i, rect in enumerate(rects):
        edit = dubbed[i].astype(np.float32) - noop[i].astype(np.float32)
        mask = mouth_mask(dubbed.shape[1:3], rect)
        on[i] = np.clip(np.rint(noop[i] + edit * mask), 0, 255).astype(np.uint8)
        beside[i] = np.clip(np.rint(noop[i] + edit * (1 - mask)), 0, 255).astype(np.uint8)
    return on, beside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/edit-split"))
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    editor = load_editor(args.weights, SamplerConfig())
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in select_clips(load_manifest(args.corpus), args.clips):
        try:
            inputs = ClipInputs.load(clip, FaceConfig())
        except InputError as exc:
            print(clip.id, "not dubbed:", exc, flush=True)
            continue
        if inputs.mouth_rects is None:
            print(clip.id, "skipped: the manifest gives no mouth sizes", flush=True)
            continue
        paths = {name: args.out / f"{clip.id}-{name}.mp4" for name in ("no-op", "dub")}
        dub(clip.source, clip.speech, paths["no-op"], PassthroughEditor(), DubOptions(overwrite=True))
        dub(clip.source, clip.speech, paths["dub"], editor, DubOptions(overwrite=True))
        noop, dubbed = (read_video(paths[name])[0] for name in ("no-op", "dub"))
        n = min(len(noop), len(dubbed), len(inputs.target), len(inputs.mouth_boxes))
        rects = inputs.mouth_rects[inputs.plan[:n]]
        on, beside = split_edit(dubbed[:n], noop[:n], rects)
        boxes = inputs.mouth_boxes[:n]
        truth = metrics.crop_mouths(inputs.target[:n], boxes)
        row = {name: metrics.clip_psnr(metrics.crop_mouths(frames, boxes), truth)
               for name, frames in (("no-op", noop[:n]), ("dub", dubbed[:n]), ("mouth part", on),
                                    ("beside part", beside))}
        rows.append((clip, row))
        print(clip.id, clip.group, {k: round(v, 2) for k, v in row.items()}, flush=True)
    names = ("no-op", "dub", "mouth part", "beside part")
    lines = ["# Where the dub's fidelity goes: edit on the mouth vs beside it", "",
             f"`python bench/edit_split.py {args.corpus} --clips {args.clips}"
             + (f" --weights {args.weights}" if args.weights else "") + "`; mouth PSNR (dB, face-width crops "
             "vs the ground truth), mean over the clips of each group. Mouth part: the no-op plus only the edit "
             "inside the true mouth box grown by half its size; beside part: plus only the rest.", "",
             "| group | clips | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for group in ("seen", "heldout-head", "heldout-mouth", "heldout-render", "all"):
        chosen = [r for c, r in rows if group in ("all", c.group)]
        if chosen:
            lines.append(f"| {group} | {len(chosen)} | "
                         + " | ".join(f"{np.mean([r[k] for r in chosen]):.2f}" for k in names) + " |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
