"""Does the mouth track follow a hand-held camera? Benchmark clips, still and shaken.

    python bench/camera_shake.py CORPUS [CORPUS ...] [--amplitude 8] [--hz 2] [--write bench/results/camera-shake.md]

Every benchmark clip of each corpus is tracked as the dub tracks it (`face.track.MouthTracker`
at its defaults, the source's own speech given), twice as it is and twice shaken: each frame
moved by a hand-held-like shake (three sines per axis around `--hz`, `--amplitude` pixels in
all, edges mirrored). Each time without and with the grey thumbnails that let the track follow
the camera between looks (face.motion). Reported per style group: the mean distance from the
working region's centre to the true mouth (moved with the frame), in face widths, and the
share of frames within 0.1 face widths. A clip whose track is refused counts in neither.
"""

import argparse
import collections
import json
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.motion import THUMBNAIL_SIDE
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoReader, shrunk_grey
from omnisync_cli.pipeline.speaker_judge import SyncSpeakerJudge

from markdown_out import emit  # bench/markdown_out.py


def grey(image: np.ndarray) -> np.ndarray:
    """The dub's thumbnail (media.video.Picture.grey), made from RGB."""
    return shrunk_grey(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), THUMBNAIL_SIDE)


def shake(n: int, fps: float, amplitude: float, hz: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) per frame: three sines per axis at 0.7-1.6 x `hz`, each amplitude / 2."""
    t = np.arange(n) / fps
    axis = lambda factors: sum(amplitude / 2 * np.sin(2 * np.pi * hz * f * t + rng.uniform(0, 2 * np.pi))  # noqa: E731
                               for f in factors)
    return axis((0.7, 1.0, 1.6)), axis((0.8, 1.1, 1.4))


def region_error(frames, fps, video, truth, face, moved, camera: bool) -> np.ndarray | None:
    """Per frame, the working region centre's distance to the true mouth, face widths; None if refused."""
    try:
        with MouthTracker(FaceConfig(), fps=fps) as tracker:
            for frame in frames:
                tracker.observe(frame, grey(frame) if camera else None)
            track = tracker.finish(speech=lambda: load_audio(video), judge=SyncSpeakerJudge())
    except Exception:  # the tracker refuses a video where it is unsure of every mouth
        return None
    n = len(truth)
    return np.hypot(track.cx[:n] - truth[:, 0] - moved[0], track.cy[:n] - truth[:, 1] - moved[1]) / face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--amplitude", type=float, default=8.0, help="shake, pixels (sum of the sines' amplitudes)")
    parser.add_argument("--hz", type=float, default=2.0)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    errors = collections.defaultdict(lambda: collections.defaultdict(list))  # group -> run -> per-frame errors
    for corpus in args.corpus:
        for clip in json.loads((corpus / "bench" / "manifest.json").read_text())["clips"]:
            video = corpus / "bench" / clip["dir"] / "source.mp4"
            with VideoReader(video) as reader:
                frames = [f.image for f in reader.iter_frames()]
            fps, n = float(clip["fps"]), min(len(frames), len(clip["mouth_xy"]))
            truth, face = np.asarray(clip["mouth_xy"])[:n], np.asarray(clip["face_width"])[:n]
            dx, dy = shake(len(frames), fps, args.amplitude, args.hz, rng)
            shaken = [cv2.warpAffine(f, np.float32([[1, 0, x], [0, 1, y]]), (f.shape[1], f.shape[0]),
                                     borderMode=cv2.BORDER_REFLECT) for f, x, y in zip(frames, dx, dy)]
            line = []
            for scene, shown, moved in (("still", frames, (0.0, 0.0)), ("shaken", shaken, (dx[:n], dy[:n]))):
                for camera in (False, True):
                    run = f"{scene}, {'camera path' if camera else 'no camera path'}"
                    error = region_error(shown, fps, video, truth, face, moved, camera)
                    line.append("refused" if error is None else f"{error.mean():.3f}")
                    if error is not None:
                        for group in (clip["group"], "all"):
                            errors[group][run].append(error)
            print(f"{corpus.name}/{clip['id']}: " + " / ".join(line), flush=True)
    runs = ["still, no camera path", "still, camera path", "shaken, no camera path", "shaken, camera path"]
    lines = ["# The mouth track under a hand-held camera", "",
             f"`python bench/camera_shake.py {' '.join(str(c) for c in args.corpus)} --amplitude {args.amplitude:g} "
             f"--hz {args.hz:g}`: every benchmark clip tracked as the dub tracks it, as filmed and shaken by "
             f"{args.amplitude:g} px around {args.hz:g} Hz, without and with the camera path (face.motion). "
             "Mean distance of the working region's centre from the true mouth, face widths (share of frames "
             "within 0.1; clips tracked).", "",
             "| group | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    for group, by_run in sorted(errors.items(), key=lambda kv: kv[0] == "all"):
        cells = []
        for run in runs:
            clips = by_run.get(run, [])
            if not clips:
                cells.append("-")
                continue
            every = np.concatenate(clips)
            cells.append(f"{np.mean([c.mean() for c in clips]):.3f} ({100 * (every <= 0.1).mean():.0f} %; {len(clips)})")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
