"""Where the mouth and cheeks sit inside the Haar cascade's face box, measured on the
project's own drawn human faces (the constants of `face/fallback.py`).

Renders `--faces` frontal human characters of the corpus generator (category "human",
512 px frames, mouth closed), runs `face.fallback.HaarFaceFinder` on each, and where it
finds exactly one face reports the medians (and spreads) of the true mouth centre's place
in the box and of the true cheek-to-cheek width over the box width. The generator knows
both truths; no photograph is used.

    python bench/haar_fractions.py [--faces 40] [--seed-prefix haar]
"""

import argparse

import numpy as np

from omnisync_cli.data.characters import make_character
from omnisync_cli.data.scene import make_scene, render_scene
from omnisync_cli.face.fallback import HaarFaceFinder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--seed-prefix", default="haar", help="identity prefix (tests draw theirs with another)")
    args = parser.parse_args()
    finder = HaarFaceFinder()
    rows = []
    for seed in range(args.faces):
        character = make_character("human", index=seed, seed=seed, prefix=args.seed_prefix)
        clip = render_scene(make_scene(character, seed=seed, fps=25, n_frames=1, frame_size=512),
                            np.zeros((1, 5), np.float32))
        faces = finder.detect(clip.frames[0])
        if len(faces) != 1:
            continue
        left, top, right, bottom = faces[0].bbox
        (mx, my), width = clip.mouth_xy[0], clip.face_width[0]
        rows.append(((mx - left) / (right - left), (my - top) / (bottom - top), width / (right - left)))
    rows = np.array(rows)
    print(f"{len(rows)} of {args.faces} faces found once")
    for name, column in zip(("mouth x / box width", "mouth y / box height", "face width / box width"), rows.T):
        print(f"{name}: median {np.median(column):.3f}, sd {np.std(column):.3f}")


if __name__ == "__main__":
    main()
