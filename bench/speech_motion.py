"""Does the part of the face that moves with the source's own speech mark the mouth?

    python bench/speech_motion.py CORPUS [--signal change|value] [--write bench/results/speech-motion/seed0.md]

A candidate cue for refining the mouth track on characters the localiser misplaces (a beak
drawn above the eyes, a 16 px box head): around the tracked mouth (a window of 2 face widths,
20 x 20 cells of 0.1 face width, following the track), correlate each cell's grey level over
the frames with the source's loudness (`face.speaker.frame_loudness`): `change` uses the
cell's frame-to-frame change (a mouth moves while there is sound), `value` the level itself
(an open mouth is darker or brighter than a closed one; |r|). The cue's guess is the peak of
the smoothed map within 0.6 face widths of the tracked mouth. Per clip: the peak's r, the r at
the tracked mouth, the guess's offset and the true one (face widths), and the mean mouth
error of the track before and after moving it by the guess.
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.face.speaker import frame_loudness
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio
from omnisync_cli.media.video import VideoReader

from markdown_out import emit  # bench/markdown_out.py

CELLS, SPAN_FACES, SEARCH_FACES = 20, 2.0, 0.6


def correlation_map(thumbs: np.ndarray, loudness: np.ndarray, signal: str) -> np.ndarray:
    """(C, C) Pearson r of each cell's signal over frames with the loudness (|r| for `value`)."""
    if signal == "change":
        values, sound = np.abs(np.diff(thumbs, axis=0)), loudness[1:]
    else:
        values, sound = thumbs, np.convolve(loudness, np.ones(3) / 3, mode="same")
    v = values - values.mean(0)
    s = sound - sound.mean()
    r = (v * s[:, None, None]).sum(0) / (np.sqrt((v ** 2).sum(0) * (s ** 2).sum()) + 1e-9)
    return np.abs(r) if signal == "value" else r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--signal", choices=("change", "value"), default="change")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    manifest = json.loads((args.corpus / "bench" / "manifest.json").read_text())
    centre = (np.arange(CELLS) + 0.5) / CELLS - 0.5
    u, v = np.meshgrid(centre * SPAN_FACES, centre * SPAN_FACES)  # cell offsets, face widths
    lines = [f"`python bench/speech_motion.py {args.corpus} --signal {args.signal}`", "",
             "| clip | track | peak r | r at the track | cue's offset (fw) | true offset (fw) | error before -> after (fw) |",
             "|---|---|---|---|---|---|---|"]
    before, after = [], []
    for clip in manifest["clips"]:
        video = args.corpus / "bench" / clip["dir"] / "source.mp4"
        with VideoReader(video) as reader:
            frames = [f.image for f in reader.iter_frames()]
        speech = load_audio(video)
        with MouthTracker(FaceConfig(), fps=float(clip["fps"])) as tracker:
            for frame in frames:
                tracker.observe(frame)
            track = tracker.finish(speech=lambda: speech)
        truth = np.asarray(clip["mouth_xy"])
        n = min(len(track), len(truth), len(frames))
        mouth = np.stack([track.mouth_x[:n], track.mouth_y[:n]], axis=1).astype(np.float64)
        face = track.side[:n].astype(np.float64)  # the track's side is the face width (REGION_SCALE 1)
        thumbs = np.stack([cv2.cvtColor(crop_region(frames[i], RegionBox(*mouth[i], SPAN_FACES * face[i]), CELLS),
                                        cv2.COLOR_RGB2GRAY).astype(np.float32) for i in range(n)])
        r = cv2.GaussianBlur(correlation_map(thumbs, frame_loudness(speech, SAMPLE_RATE, float(clip["fps"]), n),
                                             args.signal).astype(np.float32), (0, 0), 1.0)
        peak = np.unravel_index(np.argmax(np.where(np.hypot(u, v) <= SEARCH_FACES, r, -np.inf)), r.shape)
        offset = np.array([u[peak], v[peak]])
        at_track = float(r[CELLS // 2 - 1:CELLS // 2 + 1, CELLS // 2 - 1:CELLS // 2 + 1].mean())
        true_face = np.asarray(clip["face_width"])[:n]
        error = np.hypot(*(mouth - truth[:n]).T) / true_face
        moved = np.hypot(*(mouth + offset[None] * face[:, None] - truth[:n]).T) / true_face
        true_offset = np.median((truth[:n] - mouth) / face[:, None], axis=0)
        before.append(error.mean())
        after.append(moved.mean())
        lines.append(f"| {clip['id']} | {track.source} | {r[peak]:.2f} | {at_track:.2f} | "
                     f"{offset[0]:+.2f}, {offset[1]:+.2f} | {true_offset[0]:+.2f}, {true_offset[1]:+.2f} | "
                     f"{error.mean():.3f} -> {moved.mean():.3f} |")
        print(lines[-1], flush=True)
    lines += ["", f"Mean mouth error over {len(before)} clips: the tracker {np.mean(before):.3f} face widths, "
              f"moved to the cue's peak {np.mean(after):.3f}; clips within 0.1 fw: "
              f"{int(np.sum(np.array(before) <= 0.1))} -> {int(np.sum(np.array(after) <= 0.1))}."]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
