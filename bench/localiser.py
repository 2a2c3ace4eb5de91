"""Mouth finders on corpus-v2 frames of every style group: the localiser vs MediaPipe vs Haar.

    python bench/localiser.py [--frames 200] [--weights weights/mouth-localiser] [--write bench/results/localiser.md]
                              [--captions] [--localiser-only] [--wide-mouths]

Frames come from the benchmark seed space (identities never trained on), `--frames` per
style group (seen families and each held-out one), plus as many frames of the same scenes
without any character. For every finder and group:
  - hit: its best candidate lies within 10 % of the face width of a true mouth (the
    issue's accuracy measure), as a share of the frames that hold a mouth;
  - misses per 1,000 frames with a mouth (no candidate at all);
  - false alarms per 1,000 frames: best candidates farther than half a face width from
    every true mouth (character frames) and any candidate on a frame without a character;
  - milliseconds per look, and per frame of video as the tracker runs it (MediaPipe every
    frame, the localiser every 0.2 s at 25 fps where landmarks miss).
Pixel-art is also scored on its frames whose face is at least 10 art pixels wide: on a face fewer
art pixels wide than that, 10 % of the face width is less than one art pixel, so the mouth's
centre cannot be read to the accuracy asked (the drawing itself has moved it that far).
With `--captions` every frame (with or without a character) carries a line of burned-in text
(data.captions: subtitles, captions, timecodes), never over a mouth.
With `--wide-mouths` every procedural head has a mouth 0.4-0.9 of its face width (a frog, a
hippo; CorpusConfig.wide_mouth_share 1; the classic heads keep theirs).
"width ok" is the share of hits whose face width (the working region's scale) is within 25 % of
the true one.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from omnisync_cli.data.captions import draw_caption
from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig, character_for
from omnisync_cli.data.styles import GROUPS
from omnisync_cli.face.fallback import HaarFaceFinder
from omnisync_cli.face.landmarks import MediaPipeFaceMesh, mediapipe_available
from omnisync_cli.face.localiser import open_localiser
from omnisync_cli.train.localiser import render_scene_frame

from markdown_out import emit  # bench/markdown_out.py


def frames_of(group: str, count: int, seed: int, captions: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(frame, mouths) for frame, mouths, _ in _frames_and_art_pixels(group, count, seed, captions)]


def _frames_and_art_pixels(group: str, count: int, seed: int, captions: bool,
                           wide_mouths: bool = False) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Frames, their mouths, and the speaker's face width in art pixels (inf unless pixel-art)."""
    corpus = CorpusConfig(seed=seed, wide_mouth_share=1.0 if wide_mouths else 0.0)
    out = []
    for k in range(count):
        rng = np.random.default_rng([seed, GROUPS.index(group), k, 31])
        job = ClipJob(BENCH, group, k, 0, corpus)
        frame, mouths = render_scene_frame(rng, job, empty=False)
        if captions:
            frame = draw_caption(np.random.default_rng([seed, GROUPS.index(group), k, 41]), frame, mouths)
        out.append((frame, mouths, face_in_art_pixels(character_for(job).params, frame.shape, mouths[0, 2])))
    return out


def face_in_art_pixels(params: dict, shape: tuple, face_width: float) -> float:
    """A pixel-art face's width in art pixels (data.styles.frame_effect's pixel size); inf otherwise."""
    if params.get("render") != "pixel":
        return float("inf")
    return face_width / max(2, int(round(params["pixel"] * max(shape[:2]) / 4)))


MIN_ART_PIXELS = 10  # below it, 10 % of the face width is under one art pixel


def empty_frames(count: int, seed: int, captions: bool = False) -> list[np.ndarray]:
    corpus = CorpusConfig(seed=seed)
    frames = [render_scene_frame(np.random.default_rng([seed, k, 37]), ClipJob(BENCH, "seen", k, 0, corpus),
                                 empty=True)[0] for k in range(count)]
    if captions:
        frames = [draw_caption(np.random.default_rng([seed, k, 43]), f, np.zeros((0, 3))) for k, f in enumerate(frames)]
    return frames


def score(finder, frames, empties) -> dict:
    hits = misses = alarms = widths_ok = 0
    started = time.perf_counter()
    for image, mouths in frames:
        found = finder(image)
        if not found:
            misses += 1
            continue
        best = found[0]
        d = np.hypot(mouths[:, 0] - best.mouth_x, mouths[:, 1] - best.mouth_y) / mouths[:, 2]
        hits += bool(d.min() <= 0.1)
        widths_ok += bool(d.min() <= 0.1 and abs(np.log(best.face_width / mouths[d.argmin(), 2])) <= np.log(1.25))
        alarms += bool(d.min() > 0.5)
    looks = len(frames)
    for image in empties:
        alarms += bool(finder(image))
        looks += 1
    n = max(1, len(frames))
    return dict(hit=hits / n, width_ok=widths_ok / max(1, hits), miss_per_1000=1000 * misses / n, false_alarm_per_1000=1000 * alarms / looks,
                ms_per_look=1000 * (time.perf_counter() - started) / looks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per style group")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--captions", action="store_true", help="burned-in text on every frame (data.captions)")
    parser.add_argument("--localiser-only", action="store_true", help="measure the localiser alone")
    parser.add_argument("--wide-mouths", action="store_true", help="every procedural head with a mouth 0.4-0.9 of its width")
    args = parser.parse_args()

    import torch
    torch.set_num_threads(1)
    localiser = open_localiser(args.weights)
    finders = {"localiser": localiser.detect, "haar": HaarFaceFinder().detect}
    if args.localiser_only:
        finders = {"localiser": localiser.detect}
    elif mediapipe_available():
        mesh = MediaPipeFaceMesh(video=False)
        finders["mediapipe"] = mesh.detect
    empties = empty_frames(max(20, args.frames // 4), args.seed, args.captions)
    rows = []
    for group in GROUPS:
        drawn = _frames_and_art_pixels(group, args.frames, args.seed, args.captions, args.wide_mouths)
        sets = {group: [(f, m) for f, m, _ in drawn]}
        if any(np.isfinite(a) for _, _, a in drawn):
            sets[f"{group}, faces >= {MIN_ART_PIXELS} art px"] = [(f, m) for f, m, a in drawn if a >= MIN_ART_PIXELS]
        for label, frames in sets.items():
            for name, finder in finders.items():
                r = score(finder, frames, empties)
                rows.append((f"{label} ({len(frames)})", name, r))
                print(f"{label:15s} {name:10s} hit {100 * r['hit']:5.1f}% (width ok {100 * r['width_ok']:5.1f}%)  misses/1000 {r['miss_per_1000']:6.1f}  "
                      f"false alarms/1000 {r['false_alarm_per_1000']:6.1f}  {r['ms_per_look']:.1f} ms/look", flush=True)
    flags = (" --captions" if args.captions else "") + (" --localiser-only" if args.localiser_only else "") + \
        (" --wide-mouths" if args.wide_mouths else "")
    lines = ["# Mouth finders on corpus-v2 frames" + (", with burned-in text" if args.captions else "") +
             (", procedural heads with wide mouths" if args.wide_mouths else ""), "",
             f"`python bench/localiser.py --frames {args.frames} --seed {args.seed}{flags}`: {args.frames} frames per "
             f"style group (benchmark identities, never trained on) + {len(empties)} frames without any character"
             f"{', every frame with a line of text (data.captions)' if args.captions else ''}; one CPU thread.", "",
             "hit = best candidate within 10 % of the face width of a true mouth; false alarms count best "
             "candidates over half a face width from every mouth and any candidate on character-free frames.", "",
             "| group (frames) | finder | hit | width ok | misses / 1000 | false alarms / 1000 | ms / look | ms / video frame |",
             "|---|---|---|---|---|---|---|---|"]
    for group, name, r in rows:
        per_frame = r["ms_per_look"] / 5 if name == "localiser" else r["ms_per_look"]  # 0.2 s looks at 25 fps
        lines.append(f"| {group} | {name} | {100 * r['hit']:.1f}% | {100 * r['width_ok']:.0f}% | {r['miss_per_1000']:.0f} | "
                     f"{r['false_alarm_per_1000']:.0f} | {r['ms_per_look']:.1f} | {per_frame:.1f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
