"""A side-by-side video of a benchmark run: source | ours | ground truth, with the new speech.

    python bench/strip_video.py RESULTS_DIR CORPUS --out docs/model/strip.mp4 [--variant ds-cfg] [--clips 4]

One clip per style group (the first of each in the run), each frame scaled to `--height`
and labelled, the clips one after another; the audio is each clip's new speech.
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.bench.runner import load_manifest, read_video
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.pipeline.tune import tile_label


def panel(frame: np.ndarray, height: int, label: str) -> np.ndarray:
    width = 2 * round(frame.shape[1] * height / frame.shape[0] / 2)
    return tile_label(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA), label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variant", default="ds-cfg")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()
    results = json.loads((args.results / "results.json").read_text())
    manifest = {c.id: c for c in load_manifest(args.corpus)}
    chosen, groups = [], set()
    for record in results["clips"]:
        if record["group"] not in groups and len(chosen) < args.clips:
            groups.add(record["group"])
            chosen.append(manifest[record["id"]])
    rows, audio = [], []
    fps = chosen[0].fps
    for clip in chosen:
        ours, _ = read_video(args.results / "videos" / args.variant / f"{clip.id}.mp4")
        source, _ = read_video(clip.source)
        target, _ = read_video(clip.target)
        seconds = min(len(ours), len(target)) / clip.fps
        for k in range(int(seconds * fps)):  # resampled to the first clip's frame rate
            j = min(int(round(k * clip.fps / fps)), len(ours) - 1, len(target) - 1)
            parts = [panel(source[min(j, len(source) - 1)], args.height, f"source ({clip.group})"),
                     panel(ours[j], args.height, f"omnisync {args.variant}"),
                     panel(target[j], args.height, "ground truth")]
            rows.append(np.concatenate(parts, axis=1))
        samples = int(int(seconds * fps) / fps * 16000)
        speech = load_audio(clip.speech)
        audio.append(np.pad(speech, (0, max(0, samples - len(speech))))[:samples])
    width = max(r.shape[1] for r in rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(args.out, width, args.height, fps, np.concatenate(audio), crf=28) as writer:  # a preview, not a master
        for row in rows:
            writer.write(np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))))
    print(f"wrote {args.out}: {len(rows)} frames, clips {', '.join(c.id for c in chosen)}")


if __name__ == "__main__":
    main()
