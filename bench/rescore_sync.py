"""Re-score a finished benchmark run's videos with another sync expert.

    python bench/rescore_sync.py RESULTS_DIR CORPUS --expert runs/sync-eval [--write bench/results/x.md]

A model trained with the sync expert as a loss may please that one network without syncing
better; an expert trained apart (another seed) that the model never saw tells. Every
variant's output video of the run, the ground truth and the no-op are cropped at the true
mouth (as the benchmark does) and scored by the given expert: LSE-C per clip, and the sync
recovery R = (S_out - S_noop) / (S_truth - S_noop), means per style group.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import load_manifest, read_video
from omnisync_cli.bench.scores import sync_recovery
from omnisync_cli.bench.sync import open_sync_scorer
from omnisync_cli.media.audio import load_audio

from markdown_out import emit  # bench/markdown_out.py


def lse_c(scorer, frames: np.ndarray, boxes, speech: np.ndarray, fps: float) -> float:
    n = min(len(frames), len(boxes))
    return scorer.score(metrics.crop_mouths(frames[:n], boxes[:n]), speech, fps).lse_c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--expert", type=Path, required=True)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    results = json.loads((args.results / "results.json").read_text())
    clips = {c.id: c for c in load_manifest(args.corpus)}
    scorer = open_sync_scorer(str(args.expert))
    names = [v["name"] for v in results["variants"]]
    rows = []
    for record in results["clips"]:
        clip = clips[record["id"]]
        boxes = metrics.mouth_boxes(clip.mouth_xy, clip.face_width)
        speech = load_audio(clip.speech)
        truth = {"lse_c": lse_c(scorer, read_video(clip.target)[0], boxes, speech, clip.fps)}
        noop_path = args.results / "videos" / "no-op" / f"{clip.id}.mp4"
        noop = {"lse_c": lse_c(scorer, read_video(noop_path)[0], boxes, speech, clip.fps)}
        row = {"group": record["group"], "truth": truth["lse_c"], "no-op": noop["lse_c"]}
        for name in names:
            path = args.results / "videos" / name / f"{clip.id}.mp4"
            if name == "no-op" or not path.is_file():
                continue
            out = {"lse_c": lse_c(scorer, read_video(path)[0], boxes, speech, clip.fps)}
            row[name] = out["lse_c"]
            row[f"{name} R"] = sync_recovery(out, noop, truth).get("sync_r")
        rows.append(row)
    variants = [n for n in names if n != "no-op"]
    header = ["group", "clips", "truth LSE-C", "no-op LSE-C"] + [f"{n} LSE-C" for n in variants] + [f"{n} R" for n in variants]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group in sorted({r["group"] for r in rows}) + ["all"]:
        pick = [r for r in rows if group in ("all", r["group"])]

        def mean(key: str) -> str:
            values = [r[key] for r in pick if r.get(key) is not None]
            return f"{np.mean(values):.3f}" if values else "–"
        lines.append("| " + " | ".join([group, str(len(pick)), mean("truth"), mean("no-op")]
                                       + [mean(n) for n in variants] + [mean(f"{n} R") for n in variants]) + " |")
    emit([f"# Sync re-scored by `{args.expert}`", "",
          f"`python bench/rescore_sync.py {args.results} {args.corpus} --expert {args.expert}`: the videos of "
          f"one benchmark run (weights `{results['weights'] or 'bundled'}`), scored by an expert the model was "
          "not trained against; R = (LSE-C_out - LSE-C_noop) / (LSE-C_truth - LSE-C_noop), means per group.",
          "", *lines], args.write)


if __name__ == "__main__":
    main()
