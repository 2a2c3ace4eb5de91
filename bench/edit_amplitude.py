"""Where the dub loses against the no-op, and whether the character's own articulation could
tell how much of the edit to keep (stop 25; measured, not adopted).

    python bench/edit_amplitude.py CORPUS RESULTS [--write OUT.md]

RESULTS is an `omnisync bench CORPUS --variants no-op,ds-cfg` folder (its videos/ds-cfg/*.mp4).
Per clip, on the benchmark's mouth crops at the generator's true mouth boxes: the mouth PSNR
of source + k x (dub - source) for k in 0 .. 1 (k = 1 is the dub, k = 0 the no-op), the
articulation level the clip was rendered at (0: nearly still lips .. 4: wide), the face width,
and the mouth's opening amplitude as the opening meter reads it (90th percentile in speech
minus 10th overall) in the source (the character's own speech) and in the dub. The rule tried:
keep k = min(1, (source amplitude / dub amplitude) ** p) of each clip's edit, against scaling
every clip's edit by the same mean k. Simplified PSNR (all crop pixels of the clip at once),
so its means sit near, not at, the benchmark's.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from omnisync_cli.bench.metrics import crop_mouths, mouth_boxes, psnr
from omnisync_cli.bench.opening import open_opening_meter
from omnisync_cli.media.video import VideoReader

from markdown_out import emit  # bench/markdown_out.py

SCALES = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def frames(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.stack([f.image for f in reader.iter_frames()])


def speaking(utterance: dict, n: int, fps: float) -> np.ndarray:
    """(n,) bool: frames whose centre falls in a phoneme of the utterance."""
    t = (np.arange(n) + 0.5) / fps
    inside = np.zeros(n, bool)
    for phoneme, start, end in utterance["phonemes"]:
        if phoneme:
            inside |= (t >= start) & (t < end)
    return inside


def amplitude(opening: np.ndarray, speech: np.ndarray) -> float:
    return float(np.percentile(opening[speech], 90) - np.percentile(opening, 10)) if speech.any() else float("nan")


def clip_row(corpus: Path, results: Path, meta: dict, meter) -> dict:
    folder = corpus / "bench" / meta["dir"]
    source, target = frames(folder / "source.mp4"), frames(folder / "target.mp4")
    dub = frames(results / "videos" / "ds-cfg" / f"{meta['id']}.mp4")
    n = min(len(source), len(target), len(dub), len(meta["mouth_xy"]))
    boxes = mouth_boxes(np.asarray(meta["mouth_xy"])[:n], np.asarray(meta["face_width"])[:n])
    s, t, d = (crop_mouths(x[:n], boxes).astype(np.float32) for x in (source, target, dub))
    curve = [psnr(np.clip(s + k * (d - s), 0, 255), t) for k in SCALES]
    fps = float(meta["fps"])
    return dict(id=meta["id"], group=meta["group"], level=meta["target_utterance"]["level"],
                face=float(np.median(meta["face_width"])), curve=curve,
                source_amp=amplitude(meter.measure(s.astype(np.uint8)), speaking(meta["source_utterance"], n, fps)),
                dub_amp=amplitude(meter.measure(d.astype(np.uint8)), speaking(meta["target_utterance"], n, fps)))


def keep_share(row: dict, power: float) -> float:
    return min(1.0, (row["source_amp"] / max(row["dub_amp"], 1e-3)) ** power)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    manifest = {c["id"]: c for c in json.loads((args.corpus / "bench" / "manifest.json").read_text())["clips"]}
    done = json.loads((args.results / "results.json").read_text())["clips"]
    meter = open_opening_meter()
    rows = [clip_row(args.corpus, args.results, manifest[c["id"]], meter) for c in done]
    lines = [f"# Edit amplitude on {args.corpus.name} (`python bench/edit_amplitude.py {args.corpus} {args.results}`)", "",
             "| clip | group | level | face px | PSNR at k = 0 / 0.25 / 0.5 / 0.75 / 1 | source amp | dub amp |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["level"], r["face"])):
        lines.append(f"| {r['id']} | {r['group']} | {r['level']} | {r['face']:.1f} | "
                     + " / ".join(f"{p:.2f}" for p in r["curve"]) + f" | {r['source_amp']:.2f} | {r['dub_amp']:.2f} |")
    lines += ["", "| levels | clips | PSNR k = 0 (no-op) | k = 1 (dub) | best k per clip |", "|---|---|---|---|---|"]
    for name, keep in (("0-1", lambda r: r["level"] <= 1), ("2-4", lambda r: r["level"] >= 2), ("all", lambda r: True)):
        part = [r for r in rows if keep(r)]
        if part:
            lines.append(f"| {name} | {len(part)} | {np.mean([r['curve'][0] for r in part]):.2f} | "
                         f"{np.mean([r['curve'][-1] for r in part]):.2f} | {np.mean([max(r['curve']) for r in part]):.2f} |")
    lines += ["", "| rule | mean k | PSNR by the rule | PSNR with every edit scaled by the mean k |", "|---|---|---|---|"]
    for power in (1.0, 2.0):
        shares = [keep_share(r, power) for r in rows]
        mean_k = float(np.mean(shares))
        by_rule = np.mean([np.interp(k, SCALES, r["curve"]) for k, r in zip(shares, rows)])
        uniform = np.mean([np.interp(mean_k, SCALES, r["curve"]) for r in rows])
        lines.append(f"| (source amp / dub amp) ** {power:g} | {mean_k:.2f} | {by_rule:.2f} | {uniform:.2f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
