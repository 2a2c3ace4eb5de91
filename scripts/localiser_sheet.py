"""Contact sheet of the mouth localiser's detections on held-out-family frames.

    python scripts/localiser_sheet.py docs/localiser/detections.png [--per-row 8] [--weights DIR] [--wide-mouths]

One row per style group (seen, then each held-out family), frames from the benchmark seed
space (never trained on). Green cross: the true mouth; circle: each candidate the localiser
returns, its radius half the estimated face width, the best one in red and its score above.
With `--wide-mouths` every procedural head has a mouth 0.4-0.9 of its face width (a frog, a hippo).
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig
from omnisync_cli.data.styles import GROUPS
from omnisync_cli.face.localiser import open_localiser
from omnisync_cli.train.localiser import render_scene_frame
from sheet import tile_of, write_sheet


def tile(frame: np.ndarray, mouths: np.ndarray, found, label: str) -> np.ndarray:
    best = f" {found[0].score:.2f}" if found else " none"
    out, scale, x0, y0 = tile_of(frame, label + best)
    at = lambda x, y: (int(x0 + x * scale), int(y0 + y * scale))  # noqa: E731
    for x, y, _ in mouths:
        cv2.drawMarker(out, at(x, y), (40, 255, 40), cv2.MARKER_CROSS, 8, 1)
    for k, obs in enumerate(found):
        color = (255, 40, 40) if k == 0 else (255, 200, 40)
        cv2.circle(out, at(obs.mouth_x, obs.mouth_y), max(2, int(obs.face_width * scale / 2)), color, 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-row", type=int, default=8)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wide-mouths", action="store_true")
    args = parser.parse_args()
    corpus = CorpusConfig(seed=args.seed, wide_mouth_share=1.0 if args.wide_mouths else 0.0)
    localiser = open_localiser(args.weights)
    rows = []
    for group in GROUPS:
        tiles = []
        for k in range(args.per_row):
            rng = np.random.default_rng([args.seed, GROUPS.index(group), k, 53])
            frame, mouths = render_scene_frame(rng, ClipJob(BENCH, group, 200 + k, 0, corpus))
            tiles.append(tile(frame, mouths, localiser.detect(frame), group))
        rows.append(tiles)
    write_sheet(rows, args.out)


if __name__ == "__main__":
    main()
