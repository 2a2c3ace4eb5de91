"""One run comparing the dub of an older tree ("before") with this tree's ("after") on corpus
benchmark clips, scored alike: sync, silence, where the edit lands.

    git worktree add /tmp/before 446425d
    python bench/before_after.py CORPUS --before-tree /tmp/before [--clips 8] [--write bench/results/before-after.md]

For each clip (taken in turn from each style group): the no-op (source + new speech), the
older tree's `omnisync dub` at its defaults (run as a subprocess with that tree first on
PYTHONPATH, with its own bundled weights) and this tree's at its defaults (`OMNISYNC_WEIGHTS`
and `OMNISYNC_LOCALISER` set this tree's weights: a candidate model or mouth localiser against
the shipped one). All three outputs are scored by this tree's
benchmark scorers (the opening meter and the second sync expert included), plus two silence figures from the target utterance's pauses (>= 0.3 s):
  - silence error: mean abs difference (8-bit) of the output's and the ground truth's mouth
    crops on silent frames, where the truth's mouth is closed and still (lower = closer);
  - silence motion: mean abs frame-to-frame change of the output's mouth crops on silent
    frames (the truth's is ~0).
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.opening import pause_frames
from omnisync_cli.bench.runner import ClipInputs, load_manifest, read_video, select_clips
from omnisync_cli.bench.scores import (ScoredClip, edit_location_scores, mouth_sync_scores, opening_scores,
                                       picture_scores, sync_recovery, sync_scores)
from omnisync_cli.bench.sync import open_guard_scorer
from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor, load_editor

from markdown_out import emit, group_table  # bench/markdown_out.py


def guard_lse_c(mouths: np.ndarray, inputs: ClipInputs) -> float:
    """LSE-C of the second expert (weights/sync-expert-guard, never trained against)."""
    return open_guard_scorer().score(mouths, inputs.speech, inputs.clip.fps).lse_c


def score(inputs: ClipInputs, path: Path) -> dict:
    output, _ = read_video(path)
    n = min(len(output), len(inputs.target), len(inputs.plan))
    plan = inputs.plan[:n]
    scored = ScoredClip(output=output[:n], target=inputs.target[:n], source=inputs.source[plan],
                        mouth_boxes=inputs.mouth_boxes[:n], edit_boxes=[inputs.track.box(int(k)) for k in plan],
                        speech=inputs.speech, fps=inputs.clip.fps,
                        mouth_rects=None if inputs.mouth_rects is None else inputs.mouth_rects[plan],
                        utterance=inputs.clip.meta.get("target_utterance"))
    out = {**picture_scores(scored), **edit_location_scores(scored), **sync_scores(scored), **opening_scores(scored),
           "guard_lse_c": guard_lse_c(scored.output_mouths, inputs)}
    quiet = pause_frames(inputs.clip.meta["target_utterance"], inputs.clip.fps, n)
    mouths, truth = scored.output_mouths.astype(np.float32), scored.target_mouths.astype(np.float32)
    if quiet.sum() >= 3:
        out["silence_error"] = float(np.abs(mouths[quiet] - truth[quiet]).mean())
        steps = quiet[1:] & quiet[:-1]
        out["silence_motion"] = float(np.abs(np.diff(mouths, axis=0))[steps].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--clips", type=int, default=8)
    # A fresh folder per run by default: the splits share clip ids, so two runs in one folder
    # would overwrite each other's dubs.
    parser.add_argument("--out", type=Path, default=None, help="folder for the dubs (default: a new temporary one)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    args.out = args.out or Path(tempfile.mkdtemp(prefix="before-after-"))
    editor = load_editor(None, SamplerConfig())
    rows, refused = [], []
    for clip in select_clips(load_manifest(args.corpus), args.clips):
        try:
            inputs = ClipInputs.load(clip, FaceConfig())
        except InputError as exc:  # the pipeline finds no mouth: nothing to compare
            print(clip.id, 'not dubbed:', exc, flush=True)
            refused.append(f"{clip.id} (both trees: this one finds no mouth)")
            continue
        paths = {name: args.out / f"{clip.id}-{name}.mp4" for name in ("no-op", "before", "after")}
        args.out.mkdir(parents=True, exist_ok=True)
        dub(clip.source, clip.speech, paths["no-op"], PassthroughEditor(), DubOptions(overwrite=True))
        dub(clip.source, clip.speech, paths["after"], editor, DubOptions(overwrite=True))
        env = dict(os.environ, PYTHONPATH=str(args.before_tree.resolve()))
        for candidate in ("OMNISYNC_WEIGHTS", "OMNISYNC_LOCALISER"):  # the older tree dubs with its own bundled weights
            env.pop(candidate, None)
        before = subprocess.run([sys.executable, "-m", "omnisync_cli", "dub", str(clip.source), str(clip.speech),
                                 "-o", str(paths["before"]), "--overwrite", "--quiet"], env=env, cwd="/")
        if before.returncode == 2:  # the older tree refuses it (no mouth found): only one side to score
            print(clip.id, "not dubbed by the before tree", flush=True)
            refused.append(f"{clip.id} (the before tree finds no mouth; this tree dubs it)")
            continue
        before.check_returncode()
        scores = {name: score(inputs, path) for name, path in paths.items()}
        n = min(len(inputs.target), len(inputs.mouth_boxes))
        truth = mouth_sync_scores(metrics.crop_mouths(inputs.target[:n], inputs.mouth_boxes[:n]), inputs.speech,
                                  clip.fps)
        truth_mouths = metrics.crop_mouths(inputs.target[:n], inputs.mouth_boxes[:n])
        guard = {"lse_c": guard_lse_c(truth_mouths, inputs)}
        for name in ("before", "after"):
            scores[name].update(sync_recovery(scores[name], scores["no-op"], truth))
            second = sync_recovery({"lse_c": scores[name]["guard_lse_c"]}, {"lse_c": scores["no-op"]["guard_lse_c"]}, guard)
            scores[name].update({"guard_r": second["sync_r"]} if second else {})
        rows.append((clip, scores))
        print(clip.id, {k: {m: round(v, 3) for m, v in s.items() if m in ("mouth_psnr", "sync_r", "edit_on_mouth",
                                                                          "silence_error")}
                        for k, s in scores.items()}, flush=True)
    keys = [("mouth_psnr", "mouth PSNR"), ("mouth_ssim", "mouth SSIM"), ("sync_r", "sync R"),
            ("guard_r", "sync R, second expert"), ("open_r", "open r"), ("silence_ratio", "silence / speech"),
            ("edit_on_mouth", "edit on mouth"), ("silence_error", "silence error"), ("silence_motion", "silence motion"),
            ("outside_psnr", "outside PSNR")]
    lines = ["# Before vs after on corpus-v2 benchmark clips", "",
             f"`python bench/before_after.py {args.corpus} --before-tree {args.before_tree} --clips {args.clips}`; "
             "means over the clips of each group (see the script's docstring for the silence figures).", "",
             *group_table(rows, ["no-op", "before", "after"], keys)]
    if refused:
        lines += ["", "Not compared: " + "; ".join(refused) + "."]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
