"""Where the mouth gate should open: its scores at true mouths and at places without one.

    python bench/gate_threshold.py [--scenes 48] [--looks 4] [--seed 0] [--write bench/results/gate-threshold.md]

On localiser tracks the dub takes a second look (`face.localiser.MouthGate`) at the final
region before the model may edit it; a look scoring below the threshold leaves the segment as
the source. Too high a threshold leaves real mouths of unseen styles undubbed; too low lets a
drifted region be painted. This scores the gate's look on benchmark-identity scenes of every
style group (never trained on) at
- the true mouth, and the true mouth as a tracker gives it (offset by up to 0.08 face widths,
  width x 0.8-1.3: the localiser's measured errors on held-out styles), and
- places without a mouth: the forehead (one face width above), beside the head (1.5 face
  widths to a side) and the background of the same frame with no character drawn,
and reports the share of looks that open the gate at each threshold.
"""

import argparse
from pathlib import Path

import numpy as np

from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig, character_for, draw_framing
from omnisync_cli.data.scene import make_scene, render_scene
from omnisync_cli.data.speech import random_utterance
from omnisync_cli.data.styles import GROUPS
from omnisync_cli.data.visemes import viseme_track
from omnisync_cli.face.localiser import open_localiser

from markdown_out import emit  # bench/markdown_out.py

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
MOUTH_FREE = {"forehead": (0.0, -1.0), "beside": (1.5, 0.0)}  # offsets in face widths


def scene_scores(k: int, looks: int, seed: int, localiser) -> dict[str, list[float]]:
    """Gate scores of one benchmark scene at `looks` frames, per kind of place."""
    group = GROUPS[k % len(GROUPS)]
    job = ClipJob(BENCH, group, k, 0, CorpusConfig(seed=seed))
    rng = np.random.default_rng([seed, k, 43])
    fps, frames = 25.0, 50
    scene = make_scene(character_for(job), int(rng.integers(1 << 62)), fps, frames, 0, draw_framing(rng, job.config))
    speech = random_utterance(rng, frames / fps + 0.5, heldout=True)
    clip = render_scene(scene, viseme_track(speech.phonemes, scene.frame_times, 1.0))
    scores: dict[str, list[float]] = {}
    for j in np.linspace(0, frames - 1, looks).astype(int):
        (x, y), w, image = clip.mouth_xy[j], clip.face_width[j], clip.frames[j]
        scores.setdefault("mouth", []).append(localiser.mouth_score(image, x, y, w))
        angle, off, scale = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.08), rng.uniform(0.8, 1.3)
        scores.setdefault("tracked mouth", []).append(
            localiser.mouth_score(image, x + off * w * np.cos(angle), y + off * w * np.sin(angle), scale * w))
        for place, (dx, dy) in MOUTH_FREE.items():
            scores.setdefault(place, []).append(localiser.mouth_score(image, x + dx * w, y + dy * w, w))
        spec = scene.frame_spec(j)
        empty = np.clip(spec.background * spec.light + (0 if spec.noise is None else spec.noise), 0, 255)
        scores.setdefault("background", []).append(localiser.mouth_score(empty.astype(np.uint8), x, y, w))
    return {f"{group}|{place}": values for place, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=48)
    parser.add_argument("--looks", type=int, default=4, help="frames looked at per scene")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed whose benchmark identities are drawn")
    parser.add_argument("--localiser", type=Path, default=None)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    localiser = open_localiser(args.localiser)
    scores: dict[str, list[float]] = {}
    for k in range(args.scenes):
        for key, values in scene_scores(k, args.looks, args.seed, localiser).items():
            scores.setdefault(key, []).extend(values)
    places = ("mouth", "tracked mouth", *MOUTH_FREE, "background")
    lines = ["# The mouth gate's looks: share that opens, per threshold", "",
             f"`python bench/gate_threshold.py --scenes {args.scenes} --looks {args.looks} --seed {args.seed}`: "
             f"benchmark identities of seed {args.seed}, {args.looks} looks per scene; shipped localiser "
             f"(threshold today {localiser.config.min_score}). Open at a true mouth should be high, "
             "open at a place without a mouth low.", "",
             "| group | place | looks | median score | " + " | ".join(f"open at {t}" for t in THRESHOLDS) + " |",
             "|---|---|---|---|" + "---|" * len(THRESHOLDS)]
    for group in (*GROUPS, "all"):
        for place in places:
            values = np.array([v for key, vs in scores.items() for v in vs
                               if key.endswith("|" + place) and (group == "all" or key.startswith(group + "|"))])
            if not len(values):
                continue
            cells = " | ".join(f"{100 * np.mean(values >= t):.0f}%" for t in THRESHOLDS)
            lines.append(f"| {group} | {place} | {len(values)} | {np.median(values):.2f} | {cells} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
