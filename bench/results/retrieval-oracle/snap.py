"""Can the source's own mouths make the dub? An offline probe (stop 44; nothing in the pipeline).

For each benchmark clip of CORPUS dubbed in DUBS (an `omnisync bench` run's videos/ds-cfg), the
working-region crops (64 px, the dub's own track) of the source, the dub and the ground truth.
Each output frame takes the mouth (data.mouth_swap's ellipse, no registration) of one source frame,
swapped into the dub's crop; the source frames are chosen by a Viterbi path
(pipeline.mouth_bank.choose_donors, switch cost 1) over a cost per (output frame, source frame):

    --query dub      the mouth ellipse of the dub's crop against the source's (24 px, L2)
    --query truth    the same with the ground truth's crop: an oracle, the best the source's own
                     mouths can do with this retrieval
    --query sound    the network's sound keys (ModelEditor.sound_keys) of the new speech against the
                     source's own speech, as the mouth bank matches them
    --query dub+sound  both, each normalised by its median
    --query expert   the bundled sync expert's embedding of the new speech (each output frame's
                     audio window) against its embedding of the source's mouth (the 5-frame
                     window centred on each source frame): a cross-modal match (stop 45)

Prints the mouth-ellipse PSNR against the ground truth's crops of the no-op (the source), the dub
and the retrieved mouths, per clip and per style group.

    python bench/results/retrieval-oracle/snap.py CORPUS DUBS --query truth
"""
import argparse
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from omnisync_cli.bench.sync import audio_windows, open_sync_scorer, stack_windows
from omnisync_cli.data.mouth_swap import mouth_mask, swap_mouths
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.media.audio import load_audio, load_speech
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.analysis import analyse, working_track
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline.mouth_bank import choose_donors, normalised, squared_distances
from omnisync_cli.pipeline.options import DubOptions

SIDE = 64        # crop side, as the model's working region
COMPARE = 24     # crops are compared shrunk to this side
GROUPS = ("seen", "heldout-head", "heldout-mouth", "heldout-render")


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def crops_of(pictures, track) -> tuple[np.ndarray, np.ndarray]:
    crops, mouth_xy = [], []
    for i, picture in enumerate(pictures):
        left, top = track.cx[i] - track.side[i] / 2, track.cy[i] - track.side[i] / 2
        crops.append(crop_region(picture, RegionBox(float(track.cx[i]), float(track.cy[i]), float(track.side[i])), SIDE))
        mouth_xy.append(((track.mouth_x[i] - left) / track.side[i], (track.mouth_y[i] - top) / track.side[i]))
    return np.stack(crops), np.array(mouth_xy, np.float32)


def mouth_vectors(crops: np.ndarray) -> np.ndarray:
    weight = cv2.resize(mouth_mask(SIDE, (0.5, 0.5)), (COMPARE, COMPARE))[..., None]
    small = np.stack([cv2.resize(c, (COMPARE, COMPARE), interpolation=cv2.INTER_AREA) for c in crops])
    return (small.astype(np.float32) * weight).reshape(len(crops), -1)


def expert_cost(scorer, pictures, track, speech_path, fps):
    """(n, n) squared distance between the expert's embedding of the new speech at output frame t
    and of the source's mouth window centred on frame j."""
    cfg = scorer.config
    n = len(pictures)
    mouths = np.empty((n, cfg.mouth_px, cfg.mouth_px, 3), np.uint8)
    for i, p in enumerate(pictures):
        side = max(2, int(round(cfg.mouth_span * float(track.side[i]))))
        patch = cv2.getRectSubPix(np.ascontiguousarray(p), (side, side), (float(track.mouth_x[i]), float(track.mouth_y[i])))
        mouths[i] = cv2.resize(patch, (cfg.mouth_px, cfg.mouth_px), interpolation=cv2.INTER_AREA)
    half = cfg.frames // 2
    padded = np.concatenate([mouths[:1].repeat(half, 0), mouths, mouths[-1:].repeat(half, 0)])
    with torch.no_grad():
        video = scorer.expert.embed_video(stack_windows(padded, np.arange(n), cfg.frames)).numpy()
        feats = scorer.features(load_speech(speech_path))
        audio = scorer.expert.embed_audio(audio_windows(feats, np.arange(n), fps, cfg)).numpy()
    return squared_distances(audio.astype(np.float32), video.astype(np.float32))


def psnr(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    error = ((a.astype(np.float32) - b) ** 2 * weight[None, ..., None]).sum() / (weight.sum() * 3 * len(a))
    return float(10 * np.log10(255 ** 2 / max(error, 1e-9)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("dubs", type=Path)
    parser.add_argument("--query", choices=("dub", "truth", "sound", "dub+sound", "expert"), default="dub")
    parser.add_argument("--expert", default="", help="sync expert folder for --query expert (default: the bundled one)")
    args = parser.parse_args()
    editor = load_editor(None, SamplerConfig()) if "sound" in args.query else None
    weight = mouth_mask(SIDE, (0.5, 0.5))
    scorer = open_sync_scorer(args.expert) if args.query == "expert" else None
    rows = []
    for clip in sorted((args.corpus / "bench").glob("bench-*")):
        dubbed_path = args.dubs / f"{clip.name}.mp4"
        if not dubbed_path.exists():
            continue
        analysis = analyse(clip / "source.mp4", DubOptions())
        track = working_track(analysis.track, DubOptions().region_scale)
        source, dubbed, truth = frames(clip / "source.mp4"), frames(dubbed_path), frames(clip / "target.mp4")
        n = min(len(source), len(dubbed), len(truth))
        source_crops, mouth_xy = crops_of(source[:n], track)
        dub_crops, _ = crops_of(dubbed[:n], track)
        truth_crops, _ = crops_of(truth[:n], track)
        cost = np.zeros((n, n), np.float32)
        if args.query in ("dub", "truth", "dub+sound"):
            query = truth_crops if args.query == "truth" else dub_crops
            cost += normalised(squared_distances(mouth_vectors(query), mouth_vectors(source_crops)))
        if "sound" in args.query:
            new = editor.sound_keys(editor.prepare_audio(load_speech(clip / "speech.wav")), np.arange(n) / float(analysis.info.fps))
            old = editor.sound_keys(editor.audio_features(load_audio(clip / "source.mp4")), analysis.frame_times[:n])
            cost += normalised(squared_distances(new.astype(np.float32), old.astype(np.float32)))
        if args.query == "expert":
            cost += normalised(expert_cost(scorer, source[:n], analysis.track, clip / "speech.wav", float(analysis.info.fps)))
        follows = np.arange(n) > 0
        donors = choose_donors(cost, follows, switch_cost=1.0)
        retrieved = swap_mouths(dub_crops, mouth_xy, source_crops[donors], mouth_xy[donors])
        row = dict(clip=clip.name, noop=psnr(source_crops, truth_crops, weight), dub=psnr(dub_crops, truth_crops, weight),
                   retrieved=psnr(retrieved, truth_crops, weight))
        rows.append(row)
        print(f"{clip.name:30s} no-op {row['noop']:.2f}  dub {row['dub']:.2f}  retrieved {row['retrieved']:.2f}", flush=True)
    print(f"\n| group | clips | no-op | dub | retrieved ({args.query}) |\n|---|---|---|---|---|")
    for group in GROUPS + ("all",):
        chosen = [r for r in rows if group == "all" or f"bench-{group}-" in r["clip"]]
        if chosen:
            means = [np.mean([r[k] for r in chosen]) for k in ("noop", "dub", "retrieved")]
            print(f"| {group} | {len(chosen)} | " + " | ".join(f"{m:.2f}" for m in means) + " |")


if __name__ == "__main__":
    main()
