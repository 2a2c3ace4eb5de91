"""Train the opening meter and measure it on held-out style families.

    python bench/opening_meter.py --train CORPUS [CORPUS ...] --out weights/opening-meter
    python bench/opening_meter.py --check BENCH_CORPUS [...] [--weights DIR] [--write bench/results/opening-meter.md]

--check reads every benchmark clip's ground-truth video (the new utterance) and source video
(the old one), crops the true mouth like the benchmark (`metrics.crop_mouths`), and compares
the meter's reading with the `open` parameter that drew each frame: Pearson r over the
frames of each clip and mean absolute error, per style group. Also the meter's mean
reading in the utterances' pauses against outside them (what the benchmark's silence ratio
rests on).
"""

import argparse
from pathlib import Path

import numpy as np

from omnisync_cli.bench import metrics
from omnisync_cli.bench.opening import load_opening_meter, open_opening_meter, pause_frames, true_opening
from omnisync_cli.bench.runner import load_manifest, read_video
from omnisync_cli.train.opening import OpeningTrainConfig, train_opening

from markdown_out import emit  # bench/markdown_out.py


def check(corpora: list[Path], weights: Path | None) -> list[dict]:
    meter = load_opening_meter(weights) if weights else open_opening_meter()
    rows = []
    for corpus in corpora:
        for clip in load_manifest(corpus):
            boxes = metrics.mouth_boxes(clip.mouth_xy, clip.face_width)
            for side, utterance in (("target", "target_utterance"), ("source", "source_utterance")):
                frames, _ = read_video(clip.folder / clip.meta[side])
                n = min(len(frames), len(boxes))
                reading = meter.measure(metrics.crop_mouths(frames[:n], boxes[:n]))
                truth = true_opening(clip.meta[utterance], clip.fps, n)
                quiet = pause_frames(clip.meta[utterance], clip.fps, n)
                rows.append({"group": clip.group, "r": float(np.corrcoef(reading, truth)[0, 1]),
                             "mae": float(np.abs(reading - truth).mean()),
                             "silence": float(reading[quiet].mean()) if quiet.sum() >= 3 else None,
                             "speech": float(reading[~quiet].mean()),
                             "truth_silence": float(truth[quiet].mean()) if quiet.sum() >= 3 else None,
                             "truth_speech": float(truth[~quiet].mean())})
    return rows


def table(rows: list[dict]) -> list[str]:
    lines = ["| group | videos | r (mean) | r (min) | MAE | reading in pauses | reading in speech | truth in pauses | truth in speech |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups = sorted({r["group"] for r in rows}) + ["all"]
    for group in groups:
        pick = [r for r in rows if group in ("all", r["group"])]

        def mean(key):
            values = [r[key] for r in pick if r[key] is not None]
            return f"{np.mean(values):.3f}" if values else "–"
        lines.append(f"| {group} | {len(pick)} | {mean('r')} | {min(r['r'] for r in pick):.3f} | {mean('mae')} | "
                     f"{mean('silence')} | {mean('speech')} | {mean('truth_silence')} | {mean('truth_speech')} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, nargs="*", default=[], help="training corpora")
    parser.add_argument("--out", type=Path, default=Path("runs/opening-meter"))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="corpora with a benchmark split")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    if args.train:
        train_opening(OpeningTrainConfig(corpus=tuple(str(c) for c in args.train), out_dir=str(args.out),
                                         steps=args.steps, threads=args.threads))
    if args.check:
        rows = check(args.check, args.weights or (args.out if args.train else None))
        emit(["# Opening meter on benchmark clips", "",
              f"`python bench/opening_meter.py --check {' '.join(str(c) for c in args.check)}`: each "
              "benchmark clip's ground-truth and source videos, true mouth crops, the meter's reading vs "
              "the `open` parameter that drew each frame (0 closed, ~1 wide open).", "", *table(rows)],
             args.write)


if __name__ == "__main__":
    main()
