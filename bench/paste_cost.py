"""Cost of pasting one frame's edit back into its planes (pipeline.window.paste_into_planes),
for an edit that changed nothing (a pass-through dub, a frame kept) and for a real one.

Cuts the working region of the first 40 frames of VIDEO (a box of `--side` px at the frame's
centre, the model's 64 px crop), edits it (unchanged, or brightened by 20 levels) and pastes
it back at the dub's defaults, 5 times over; prints milliseconds a frame (window and crop
included).

    python bench/paste_cost.py VIDEO [--side 160]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from omnisync_cli.face.region import RegionBox
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.window import crop_from_window, paste_into_planes, window_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--side", type=float, default=160.0)
    args = parser.parse_args()
    with VideoReader(args.video) as reader:
        frames = [frame.planes for frame, _ in zip(reader.iter_frames(), range(40))]
    height, width = frames[0].y.shape
    box = RegionBox(width / 2, height / 2, args.side)
    options = DubOptions()
    for name, change in (("unchanged edit", 0), ("edit +20 levels", 20)):
        start = time.perf_counter()
        for planes in frames * 5:
            window = window_of(planes, box, 64)
            crop = crop_from_window(window, box, 64)
            edited = np.clip(crop.astype(int) + change, 0, 255).astype(np.uint8)
            paste_into_planes(planes, window, edited, box, options.feather, crop, (box.cx, box.cy), options.focus,
                              options.redrawn_levels, options.chroma_focus)
        print(f"{name}: {(time.perf_counter() - start) / (5 * len(frames)) * 1000:.2f} ms a frame")


if __name__ == "__main__":
    main()
