"""How much the dubbing model changes working regions that hold no mouth (issue: no smudges).

    python bench/mouth_free.py [--segments 24] [--weights weights/cpu-small] [--audio-gate] [--write bench/results/mouth-free.md]

Segments of 8 frames are cut from corpus-v2 scenes (benchmark identities) at places without a
mouth: the background of frames without any character, the character's forehead (one face
width above the mouth) and beside the head (1.5 face widths to a side), each a region of the dub's default
size (`DubOptions.region_scale` x the face width). Each is edited by the model at the
shipped defaults with a speech track, exactly as the dub pipe would if the tracker put its
region there, and compared with real mouth regions of the same scenes.
Reported: mean absolute change (8-bit levels) and the 99th percentile of the per-pixel
change, per kind of region, without and with the pipeline's mouth gate (on localiser
tracks the localiser takes a second look at the region before the model may edit it; a
closed gate leaves the segment as the source).
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
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import default_weights_dir

from markdown_out import emit  # bench/markdown_out.py

PLACES = {"mouth": (0.0, 0.0), "forehead": (0.0, -1.0), "beside": (1.5, 0.0)}  # offsets in face widths
REGION = DubOptions().region_scale  # the dub's working region, x the face width


def segments(k: int, frames: int, size: int, seed: int, localiser) -> tuple[dict, dict, np.ndarray]:
    """Crops (F, S, S, 3) of one scene at every place (+ an empty background), whether the
    mouth gate opens there (its look at the middle frame), and the speech."""
    group = GROUPS[k % len(GROUPS)]
    job = ClipJob(BENCH, group, k, 0, CorpusConfig(seed=seed))
    rng = np.random.default_rng([seed, k, 41])
    fps = 25.0
    scene = make_scene(character_for(job), int(rng.integers(1 << 62)), fps, frames, 0, draw_framing(rng, job.config))
    speech = random_utterance(rng, frames / fps + 0.5, heldout=True)
    clip = render_scene(scene, viseme_track(speech.phonemes, scene.frame_times, 1.0))
    out, gate = {}, {}
    mid = frames // 2
    for place, (dx, dy) in PLACES.items():
        crops = [crop_region(f, RegionBox.around_mouth(x + dx * w, y + dy * w, REGION * w), size)
                 for f, (x, y), w in zip(clip.frames, clip.mouth_xy, clip.face_width)]
        out[place] = np.stack(crops)
        (x, y), w = clip.mouth_xy[mid], clip.face_width[mid]
        gate[place] = localiser.mouth_score(clip.frames[mid], x + dx * w, y + dy * w, w) >= localiser.config.gate_min_score
    empty = []
    for j in range(frames):
        spec = scene.frame_spec(j)
        bg = np.clip(spec.background * spec.light + (0 if spec.noise is None else spec.noise), 0, 255).astype(np.uint8)
        x, y = clip.mouth_xy[j]
        empty.append(crop_region(bg, RegionBox.around_mouth(x, y, REGION * clip.face_width[j]), size))
        if j == mid:
            gate["background"] = localiser.mouth_score(bg, x, y, clip.face_width[j]) >= localiser.config.gate_min_score
    out["background"] = np.stack(empty)
    return out, gate, speech.waveform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=24)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--localiser", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--audio-gate", action="store_true", help="as dub --audio-gate")
    args = parser.parse_args()
    editor = ModelEditor.from_dir(args.weights or default_weights_dir(), SamplerConfig(audio_gate=args.audio_gate))
    localiser = open_localiser(args.localiser)
    n, size = editor.segment_frames, editor.region_size
    times = np.arange(n) / 25.0
    centre = np.full((n, 2), 0.5, np.float32)
    change, gated, opened = {}, {}, {}
    for k in range(args.segments):
        crops, gate, speech = segments(k, n, size, args.seed, localiser)
        features = editor.prepare_audio(speech)
        for place, clip in crops.items():
            edited = editor.edit(clip, times, centre, features)
            diff = np.abs(edited.astype(np.int16) - clip.astype(np.int16)).max(axis=3)
            change.setdefault(place, []).append(diff)
            gated.setdefault(place, []).append(diff if gate[place] else np.zeros_like(diff))
            opened.setdefault(place, []).append(gate[place])
    lines = ["# The model's change on working regions without a mouth", "",
             f"`python bench/mouth_free.py --segments {args.segments}`: {args.segments} segments of {n} frames "
             f"per kind of region, weights `{args.weights or 'bundled'}`, shipped sampler defaults.", "",
             "| region | model alone: mean abs change (levels) | 99th pct | pixels > 8 levels | gate opens | "
             "with the gate: mean abs change | 99th pct | pixels > 8 levels |",
             "|---|---|---|---|---|---|---|---|"]
    for place in ("mouth", "forehead", "beside", "background"):
        d = np.concatenate([c.ravel() for c in change[place]])
        g = np.concatenate([c.ravel() for c in gated[place]])
        lines.append(f"| {place} | {d.mean():.2f} | {np.percentile(d, 99):.0f} | {100 * (d > 8).mean():.1f}% | "
                     f"{100 * np.mean(opened[place]):.0f}% | {g.mean():.2f} | {np.percentile(g, 99):.0f} | "
                     f"{100 * (g > 8).mean():.1f}% |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
