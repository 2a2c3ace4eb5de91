"""Per-video adaptation on benchmark clips: sync and mouth fidelity without and with it.

    python bench/adapt.py CORPUS [--clips 4] [--budgets 30,60,120] [--weights DIR] [--write bench/results/adapt.md]

Each benchmark clip's source video carries its own speech (the source utterance). For each
clip: the base model's dub of the new speech, then for each budget (seconds of training,
`omnisync dub --adapt-seconds`) the adaptation (`pipeline.adapt`: held-out guard included)
and the dub with whichever model it kept. Every dub is scored like the benchmark (mouth
PSNR and SSIM vs the ground truth, sync expert LSE-C and recovery R, opening meter r) and
the adaptation's wall time, steps and verdict are reported. Clips are taken in turn from
the style groups, held-out groups first.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from omnisync_cli.bench.runner import ClipInputs, dub_and_score, load_manifest, read_video, truth_sync_scores
from omnisync_cli.bench.scores import DEFAULT_SCORERS, sync_recovery
from omnisync_cli.bench.sync import open_sync_scorer
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.pipeline.adapt import AdaptConfig, adapt
from omnisync_cli.pipeline.editor import PassthroughEditor, default_weights_dir

from rescore_sync import lse_c  # bench/rescore_sync.py: LSE-C of a video's true-mouth crops by one expert
from markdown_out import emit  # bench/markdown_out.py

GROUP_ORDER = ("heldout-head", "heldout-mouth", "heldout-render", "seen")


def pick_clips(corpus: Path, count: int, skip: int = 0):
    clips = load_manifest(corpus)
    by_group = {g: [c for c in clips if c.group == g][skip:] for g in GROUP_ORDER}
    picked = []
    while len(picked) < count and any(by_group.values()):
        for group in GROUP_ORDER:
            if by_group[group] and len(picked) < count:
                picked.append(by_group[group].pop(0))
    return picked


def guard_cell(report) -> str:
    """The guard's held-out figures, base -> adapted: LSE-C by the guard expert (it decides) and
    by the bundled one; reconstruction and own-audio re-dub mouth PSNR (pipeline.adapt.guard_verdict)."""
    def pair(key, fmt):
        return f"{report.base.get(key, float('nan')):{fmt}} -> {report.adapted.get(key, float('nan')):{fmt}}"
    return f"{pair('guard_lse_c', '.3f')}; {pair('lse_c', '.3f')}; {pair('mouth_psnr', '.2f')} dB; {pair('self_psnr', '.2f')} dB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--skip", type=int, default=0,
                        help="pass over this many clips of each group first (a tuning set apart from the report's)")
    parser.add_argument("--budgets", default="30,60,120")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: one per core)")
    parser.add_argument("--unguarded", action="store_true",
                        help="also dub with every adapted model, whatever the guard decided")
    parser.add_argument("--lr", type=float, default=AdaptConfig.lr)
    parser.add_argument("--sync-loss", type=float, default=AdaptConfig.sync_loss_weight,
                        help="the sync expert as a loss, this weight (0: off)")
    parser.add_argument("--second-expert", type=Path, default=None,
                        help="also give the sync recovery R by this sync expert (weights/sync-expert-guard: "
                             "the one the guard decides by, so not independent of the choice)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = args.weights or default_weights_dir()
    budgets = [float(b) for b in args.budgets.split(",")]
    face, sampler = FaceConfig(), SamplerConfig()
    second = open_sync_scorer(str(args.second_expert)) if args.second_expert else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="omnisync-bench-adapt-") as work:
        work = Path(work)
        for clip in pick_clips(args.corpus, args.clips, args.skip):
            inputs = ClipInputs.load(clip, face)
            truth = truth_sync_scores(inputs)
            noop, _ = dub_and_score(inputs, PassthroughEditor(), work / f"{clip.id}-noop.mp4", face, DEFAULT_SCORERS)
            if second is not None:
                def second_lse_c(frames):
                    return lse_c(second, frames, inputs.mouth_boxes, inputs.speech, inputs.clip.fps)
                second_truth = {"lse_c": second_lse_c(inputs.target)}
                second_noop = {"lse_c": second_lse_c(read_video(work / f"{clip.id}-noop.mp4")[0])}
            runs = [("base", 0.0, ModelEditor.from_dir(base, sampler), None)]
            for budget in budgets:
                candidate = work / f"{clip.id}-{budget:g}-candidate" if args.unguarded else None
                report = adapt(inputs.analysis, base, work / f"{clip.id}-{budget:g}",
                               AdaptConfig(seconds=budget, threads=args.threads, lr=args.lr,
                                           sync_loss_weight=args.sync_loss), sampler,
                               candidate_dir=candidate)
                runs.append((f"adapt {budget:g} s", budget, ModelEditor.from_dir(report.weights, sampler), report))
                if candidate is not None:
                    runs.append((f"unguarded {budget:g} s", budget, ModelEditor.from_dir(candidate, sampler), report))
            for name, budget, editor, report in runs:
                entry, _ = dub_and_score(inputs, editor, work / f"{clip.id}-{name}.mp4", face, DEFAULT_SCORERS)
                scores = entry["scores"]
                second_r = None
                if second is not None:
                    ours = {"lse_c": second_lse_c(read_video(work / f"{clip.id}-{name}.mp4")[0])}
                    second_r = sync_recovery(ours, second_noop, second_truth).get("sync_r")
                rows.append({"clip": clip.id, "group": clip.group, "run": name,
                             "mouth_psnr": scores["mouth_psnr"], "noop_psnr": noop["scores"]["mouth_psnr"],
                             "mouth_ssim": scores["mouth_ssim"],
                             "sync_r": sync_recovery(scores, noop["scores"], truth).get("sync_r"),
                             "open_r": scores.get("open_r"), "second_r": second_r,
                             "silence_ratio": scores.get("silence_ratio"), "edit_on_mouth": scores.get("edit_on_mouth"),
                             "kept": None if report is None else report.kept,
                             "steps": 0 if report is None else report.steps,
                             "train_s": 0.0 if report is None else report.train_seconds,
                             "guard": "" if report is None else guard_cell(report)})
                print(rows[-1], flush=True)
    lines = ["| clip | group | run | steps | train s | kept | held-out base -> adapted: guard LSE-C; bundled LSE-C; rebuilt mouth PSNR; re-dub mouth PSNR | mouth PSNR (no-op) | mouth SSIM | sync R | sync R, 2nd expert | open r | silence / speech | edit on mouth |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def cell(v, fmt):
            return "–" if v is None else format(v, fmt)
        lines.append(f"| {r['clip']} | {r['group']} | {r['run']} | {r['steps']} | {r['train_s']:.0f} | "
                     f"{'–' if r['kept'] is None else ('yes' if r['kept'] else 'no')} | {r['guard'] or '–'} | "
                     f"{r['mouth_psnr']:.2f} ({r['noop_psnr']:.2f}) | {r['mouth_ssim']:.4f} | "
                     f"{cell(r['sync_r'], '.3f')} | {cell(r['second_r'], '.3f')} | {cell(r['open_r'], '.3f')} | "
                     f"{cell(r['silence_ratio'], '.2f')} | {cell(r['edit_on_mouth'], '.3f')} |")
    runs = sorted({r["run"] for r in rows}, key=lambda n: (n != "base", float(n.split()[1]) if n != "base" else 0, n))
    lines += ["", "| run | clips | mean mouth PSNR | mean mouth SSIM | mean sync R | mean sync R, 2nd expert | mean open r | mean silence / speech | mean edit on mouth | adapted model kept |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name in runs:
        pick = [r for r in rows if r["run"] == name]

        def mean(key):
            values = [r[key] for r in pick if r[key] is not None]
            return f"{np.mean(values):.3f}" if values else "–"
        kept = sum(bool(r["kept"]) for r in pick)
        lines.append(f"| {name} | {len(pick)} | {mean('mouth_psnr')} | {mean('mouth_ssim')} | {mean('sync_r')} | "
                     f"{mean('second_r')} | {mean('open_r')} | {mean('silence_ratio')} | {mean('edit_on_mouth')} | "
                     f"{'–' if name == 'base' or name.startswith('unguarded') else f'{kept}/{len(pick)}'} |")
    emit(["# Per-video adaptation on benchmark clips", "",
          f"`python bench/adapt.py {' '.join(sys.argv[1:])}`: base weights `{base}`, lr {args.lr}, sync loss "
          f"{args.sync_loss}; each clip's source carries its own (source-utterance) speech; the dub uses the "
          "new speech. \"unguarded\" rows dub with the adapted model whatever the guard decided.",
          "", *lines], args.write)


if __name__ == "__main__":
    main()
