"""How far the articulation map's peak stands above its median (pipeline.articulation.MIN_CONTRAST).

    python bench/articulation_contrast.py CORPUS [--clips 8] [--write FILE]

For benchmark clips of a corpus (a character speaking), for a still made of each clip's first
frame (the same picture, only codec noise moving) and for that still with a camera's sensor noise
(sd 3 levels, new each frame), the source's working-region crops are
collected as a dub collects them (the tracker, the working region, the mouth bank's pass) and the
map's peak (95th percentile of the per-pixel activity, grey levels) and contrast (peak over
median) are printed. The speaking clips should stand above the thresholds and the stills below.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from omnisync_cli.bench.runner import load_manifest, read_video
from omnisync_cli.data.corpus import write_mp4
from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.pipeline.articulation import MIN_CONTRAST, map_peak
from omnisync_cli.pipeline.analysis import analyse, working_track
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.mouth_bank import MouthBank

from markdown_out import emit  # bench/markdown_out.py

REGION = 64  # the default model's working region, px


def peak_of(video: Path, face: FaceConfig) -> str:
    try:
        analysis = analyse(video, DubOptions(face=face))
    except InputError:
        return "not tracked (the dub refuses it)"
    track = working_track(analysis.track, DubOptions().region_scale)
    bank = MouthBank.collect(video, track, REGION, 2000)
    if bank is None:
        return "-"
    peak, contrast = map_peak(bank.crops)
    return f"{peak:.1f} / {contrast:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    clips = load_manifest(args.corpus)
    step = max(1, len(clips) // args.clips)
    lines = [f"# Articulation map contrast (peak / median), `python bench/articulation_contrast.py {args.corpus.name}`", "",
             f"Peak in grey levels / contrast (peak over median); the contrast threshold is {MIN_CONTRAST:g}.", "", "| clip | speaking: peak / contrast | still of its first frame | the still with sensor noise |",
             "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips[::step][:args.clips]:
            frames, _ = read_video(clip.source)
            still = Path(tmp) / f"{clip.id}-still.mp4"
            write_mp4(still, np.repeat(frames[:1], len(frames), 0), clip.fps, crf=23)
            grainy = Path(tmp) / f"{clip.id}-grainy.mp4"  # a camera's sensor noise, sd 3 levels a frame
            noise = np.random.default_rng(0).normal(0, 3.0, (len(frames), *frames.shape[1:3], 1))
            write_mp4(grainy, (frames[:1].astype(np.float32) + noise).clip(0, 255).astype(np.uint8), clip.fps, crf=23)
            # the still's region is given at the clip's first mouth (the localiser may not be sure of one frame)
            (x, y), side = clip.mouth_xy[0], 0.8 * float(clip.face_width[0])
            at_mouth = FaceConfig(region=(float(x) - side / 2, float(y) - side / 2, side, side))
            speaking, quiet, noisy = (peak_of(clip.source, FaceConfig()), peak_of(still, at_mouth),
                                      peak_of(grainy, at_mouth))
            lines.append(f"| {clip.id} | {speaking} | {quiet} | {noisy} |")
            print(lines[-1], flush=True)
    emit(lines, args.write)


if __name__ == "__main__":
    main()
