"""The ceiling of the dub path: the ground truth's mouth pushed through the pipeline.

    python bench/oracle.py CORPUS [--clips 12] [--sizes 64,128] [--write bench/results/oracle.md]

An oracle editor answers every crop the pipeline hands it with the same working region cut
from the ground-truth dub (the clip's target video) at that crop's own box, resampled to the
editor's side. Its dub is what a perfect model would score through today's working region,
residual paste, mouth focus, colour hold, mouth gate and quiet-pause rule; at a larger side
it shows what a model working at that resolution could reach; with the pipeline's own
restraints off ("plain") it shows what they cost a perfect edit. Scored by the benchmark's
scorers beside the no-op, on the tracker's mouth track (as users get it).
"""

import argparse
from pathlib import Path

import numpy as np

from omnisync_cli.bench.runner import (ClipInputs, dub_and_score, load_manifest, select_clips, truth_sync_scores)
from omnisync_cli.bench.scores import DEFAULT_SCORERS, sync_recovery
from omnisync_cli.errors import InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import crop_region
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.pipeline.analysis import working_track
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor

from markdown_out import emit, group_table  # bench/markdown_out.py


class OracleEditor:
    """Returns the ground truth's working region for every crop (see the module docstring)."""

    segment_frames = 8
    overlap_frames = 2

    def __init__(self, target: np.ndarray, plan: np.ndarray, track: MouthTrack, fps: float, region_size: int):
        self.target, self.plan, self.track, self.fps = target, plan, track, fps
        self.region_size = region_size

    def prepare_audio(self, waveform: np.ndarray) -> None:
        return None

    def edit(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray, audio) -> np.ndarray:
        out = []
        for time in frame_times:  # output frame j shows source frame plan[j]; its truth is target[j]
            j = min(int(round(time * self.fps)), len(self.target) - 1, len(self.plan) - 1)
            out.append(crop_region(self.target[j], self.track.box(int(self.plan[j])), self.region_size))
        return np.stack(out)


def dubs(sizes: list[int]) -> list[tuple[str, int | None, dict]]:
    """(name, oracle side or None for the no-op, dub_and_score options): the defaults at every
    side; at the first side also each of the pipeline's restraints off, and all of them."""
    restraints = {"no mouth focus": {"focus": 0.0}, "no colour hold": {"keep_colours": False},
                  "no quiet rule": {"keep_quiet_source": False},
                  "plain": {"focus": 0.0, "keep_colours": False, "keep_quiet_source": False}}
    rows = [("no-op", None, {})] + [(f"oracle {size} px", size, {}) for size in sizes]
    return rows + [(f"oracle {sizes[0]} px, {name}", sizes[0], extra) for name, extra in restraints.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--sizes", default="64,128", help="oracle working-region sides, comma-separated")
    parser.add_argument("--out", type=Path, default=Path("/tmp/oracle"))
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    face = FaceConfig()
    options = DubOptions()
    rows, refused = [], []
    for clip in select_clips(load_manifest(args.corpus), args.clips):
        try:
            inputs = ClipInputs.load(clip, face)
        except InputError as exc:
            refused.append(f"{clip.id} ({exc})")
            continue
        truth = truth_sync_scores(inputs)
        track = working_track(inputs.track, options.region_scale)
        scores = {}
        for name, size, extra in dubs(sizes):
            editor = (PassthroughEditor() if size is None else
                      OracleEditor(inputs.target, inputs.plan, track, clip.fps, size))
            entry, _ = dub_and_score(inputs, editor, args.out / f"{clip.id}-{name.replace(' ', '_')}.mp4",
                                     face, DEFAULT_SCORERS, **extra)
            if not entry["ok"]:
                raise RuntimeError(f"{clip.id} {name}: {entry['error']}")
            scores[name] = entry["scores"]
        for name in scores:
            if name != "no-op":
                scores[name].update(sync_recovery(scores[name], scores["no-op"], truth))
        rows.append((clip, scores))
        print(clip.id, {k: round(s["mouth_psnr"], 2) for k, s in scores.items()}, flush=True)
    keys = [("mouth_psnr", "mouth PSNR"), ("mouth_ssim", "mouth SSIM"), ("edit_cosine", "edit cos"), ("sync_r", "sync R"),
            ("open_r", "open r"), ("silence_ratio", "silence / speech"), ("hushed_open", "open where only old speech"),
            ("outside_psnr", "outside PSNR")]
    lines = ["# The dub path's ceiling: the ground truth's mouth through the pipeline", "",
             f"`python bench/oracle.py {args.corpus} --clips {args.clips} --sizes {args.sizes}`; means over the "
             "clips of each group. \"oracle N px\": the truth's working region at N px through the dub's "
             "defaults; \"no ...\": one of the dub's restraints off (`DubOptions.focus`, `keep_colours`, "
             "`keep_quiet_source`); \"plain\": all three off.", "",
             *group_table(rows, [name for name, _, _ in dubs(sizes)], keys)]
    if refused:
        lines += ["", "Not dubbed (no mouth found): " + "; ".join(refused) + "."]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
