"""The mouth track on benchmark clips: where it lands and what it costs per frame of video.

    python bench/track_speed.py CORPUS [--localiser DIR] [--pictures] [--write bench/results/tracking.md]

Runs `face.track.MouthTracker` at its defaults over every benchmark clip of a corpus (the
frames decoded beforehand, so only tracking is timed), given the source's own speech as the
dub gives it (it picks the speaking mouth among several), and reports per style group: the track
source, the mean mouth error against the manifest in face widths, the share of frames
within 10 % of a face width, and milliseconds of tracking per frame of video. `--pictures` gives
the tracker the pictures the dub gives it (`VideoReader.iter_pictures`), not the exact frames. Per clip it also
sorts the localiser's looks whose track lands over 0.1 face widths off: "wrong pick" when one of
the look's candidates was within 0.1 (the choice among mouths failed), "miss" when none was (the
localiser did not see it). Written to run
unchanged on older trees too (`git worktree add /tmp/old COMMIT` and PYTHONPATH=/tmp/old), so
that before/after figures come from the same clips.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoReader

from markdown_out import emit  # bench/markdown_out.py

try:  # trees before the sync expert judged the speaker have no judge
    from omnisync_cli.pipeline.speaker_judge import SyncSpeakerJudge
except ImportError:
    SyncSpeakerJudge = None
try:  # trees before the track followed the camera's shake measure no camera
    from omnisync_cli.face.motion import THUMBNAIL_SIDE
    from omnisync_cli.media.video import shrunk_grey
except ImportError:
    THUMBNAIL_SIDE = None


def grey(image: np.ndarray) -> np.ndarray:
    """The dub's thumbnail (media.video.Picture.grey), made from RGB."""
    import cv2
    return shrunk_grey(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), THUMBNAIL_SIDE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--localiser", type=Path, default=None, help="localiser weights (default: bundled)")
    parser.add_argument("--pictures", action="store_true", help="track the dub's pictures (iter_pictures)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    manifest = json.loads((args.corpus / "bench" / "manifest.json").read_text())
    rows = {}
    for clip in manifest["clips"]:
        video = args.corpus / "bench" / clip["dir"] / "source.mp4"
        with VideoReader(video) as reader:
            frames = [f.image for f in (reader.iter_pictures(FaceConfig().look_max_side) if args.pictures
                                        else reader.iter_frames())]
        face = FaceConfig() if args.localiser is None else FaceConfig(localiser=args.localiser)
        started = time.perf_counter()
        try:
            with MouthTracker(face, fps=float(clip["fps"])) as tracker:
                for frame in frames:
                    if THUMBNAIL_SIDE is None:
                        tracker.observe(frame)
                    else:
                        tracker.observe(frame, grey(frame))
                judged = {} if SyncSpeakerJudge is None else {"judge": SyncSpeakerJudge()}  # as the dub judges
                track = tracker.finish(speech=lambda: load_audio(video), **judged)
            source = track.source
            n = min(len(track), len(clip["mouth_xy"]))
            truth = np.asarray(clip["mouth_xy"])[:n]
            error = np.hypot(track.mouth_x[:n] - truth[:, 0], track.mouth_y[:n] - truth[:, 1]) \
                / np.asarray(clip["face_width"])[:n]
            off_looks = look_failures(tracker, error, truth, np.asarray(clip["face_width"])[:n])
        except Exception as exc:  # the new tracker refuses a video without a mouth
            source, error, off_looks = f"refused ({type(exc).__name__})", None, {}
        ms = 1000 * (time.perf_counter() - started) / len(frames)
        group = clip.get("group", clip["category"])
        rows.setdefault(group, []).append((clip["id"], source, error, ms))
        where = "-" if error is None else f"{error.mean():.3f} fw, {100 * (error <= 0.1).mean():.0f}% within 0.1"
        looks = ", ".join(f"{k} {v}" for k, v in off_looks.items() if v)
        print(f"{clip['id']:32s} {source:22s} {where:28s} {ms:.1f} ms/frame  looks off: {looks or '-'}", flush=True)
    lines = ["# Mouth tracking on the benchmark clips", "",
             f"`python bench/track_speed.py {args.corpus}"
             + ("" if args.localiser is None else f" --localiser {args.localiser}")
             + (" --pictures" if args.pictures else "")
             + "`: MouthTracker defaults, one CPU thread, frames decoded "
             "beforehand, the source's own speech given.", "",
             "| group | clips | sources | mean error (face widths) | frames within 0.1 fw | ms / frame |",
             "|---|---|---|---|---|---|"]
    for group, items in rows.items():
        errors = [e for _, _, e, _ in items if e is not None]
        mean = f"{np.mean([e.mean() for e in errors]):.3f}" if errors else "-"
        within = f"{100 * np.mean(np.concatenate(errors) <= 0.1):.0f}%" if errors else "-"
        sources = ", ".join(sorted({s for _, s, _, _ in items}))
        lines.append(f"| {group} | {len(items)} | {sources} | {mean} | {within} | "
                     f"{np.mean([m for _, _, _, m in items]):.1f} |")
    emit(lines, args.write)


def look_failures(tracker: MouthTracker, error: np.ndarray, truth: np.ndarray, face: np.ndarray) -> dict[str, int]:
    """Localiser looks whose track is over 0.1 face widths off: a wrong pick among its
    candidates, or a miss (no candidate within 0.1)."""
    counts = {"wrong pick": 0, "miss": 0}
    for index, candidates in getattr(tracker, "localiser_looks_found", ()):  # older trees: not sorted
        if index >= len(error) or error[index] <= 0.1:
            continue
        near = [np.hypot(c.obs.mouth_x - truth[index, 0], c.obs.mouth_y - truth[index, 1]) / face[index] <= 0.1
                for c in candidates]
        counts["wrong pick" if any(near) else "miss"] += 1
    return counts


if __name__ == "__main__":
    main()
