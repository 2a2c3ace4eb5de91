"""Contact sheet of corpus v2: one row per style group (seen, then each held-out family).

    python scripts/corpus_sheet.py docs/corpus/contact_sheet.png [--per-row 8] [--seed 0]

Each tile is the first frame of a real corpus clip (benchmark seed space, so training
identities are not shown), letterboxed into a square, with the true mouth centre marked
and the style (head/mouth/render) written above.
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig, make_clip
from omnisync_cli.data.styles import GROUPS
from sheet import tile_of, write_sheet


def tile(frame: np.ndarray, mouth: np.ndarray, label: str) -> np.ndarray:
    out, scale, x0, y0 = tile_of(frame, label)
    cv2.circle(out, (int(x0 + mouth[0] * scale), int(y0 + mouth[1] * scale)), 4, (255, 40, 40), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-row", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = CorpusConfig(seed=args.seed, clip_seconds=0.5, pause_share=0.0)
    rows = []
    for group in GROUPS:
        tiles = []
        for identity in range(args.per_row):
            clip = make_clip(ClipJob(BENCH, group, identity, 0, config))
            source = clip["clips"][0]
            tiles.append(tile(source.frames[len(source.frames) // 2], source.mouth_xy[len(source.frames) // 2],
                              f"{group}: {clip['meta']['kind']}"))
        rows.append(tiles)
    write_sheet(rows, args.out)


if __name__ == "__main__":
    main()
