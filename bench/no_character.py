"""Videos without any character: does the dub refuse them, as issue 9 asks?

Renders short videos that hold no face or mouth of any kind (noise, a test pattern, a
fractal zoom, Conway's life, a gift box and relief maps panned from matplotlib's sample data,
a text slide, a sky with clouds, a gradient) and runs the dub's analysis (the mouth track) on
each; with corpora given, also on every benchmark clip of them (characters, which must be
found). Prints a markdown table.

    python bench/no_character.py --seconds 10 [--corpus /work/corpus-v2-bench3 --corpus /work/corpus-sync-val]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from matplotlib import colormaps

from omnisync_cli.errors import InputError
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.options import DubOptions

FPS = 25
SAMPLE_DATA = Path(matplotlib.get_data_path()) / "sample_data"


def noise(n, rng):
    return [np.clip(128 + rng.normal(0, 60, (240, 320, 1)), 0, 255).repeat(3, 2).astype(np.uint8) for _ in range(n)]


def test_pattern(n, rng):
    bars = np.repeat(np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255],
                               [255, 0, 0], [0, 0, 255], [0, 0, 0]], np.uint8), 40, axis=0)[None].repeat(240, 0)
    frames = []
    for i in range(n):
        image = bars.copy()
        cv2.circle(image, (int(160 + 100 * np.sin(i / 10)), 120), 30, (30, 30, 30), -1)
        cv2.putText(image, f"{i // FPS:02d}:{i % FPS:02d}", (100, 220), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
        frames.append(image)
    return frames


def fractal_zoom(n, rng):
    frames, cmap = [], colormaps["twilight"]
    centre = complex(-0.743643887, 0.131825904)
    for i in range(n):
        half = 1.5 * 0.97 ** i
        ys, xs = np.mgrid[-half:half:256j, -half:half:256j]
        c = centre + xs + 1j * ys
        z, count = np.zeros_like(c), np.zeros(c.shape)
        for _ in range(64):
            inside = np.abs(z) <= 2
            z[inside] = z[inside] ** 2 + c[inside]
            count += inside
        frames.append((cmap(count / 64)[..., :3] * 255).astype(np.uint8))
    return frames


def life(n, rng):
    board = rng.random((60, 80)) < 0.3
    frames = []
    for _ in range(n):
        neighbours = sum(np.roll(np.roll(board, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - board
        board = (neighbours == 3) | (board & (neighbours == 2))
        frames.append(cv2.resize((board * 255).astype(np.uint8), (320, 240), interpolation=cv2.INTER_NEAREST)[..., None]
                      .repeat(3, 2))
    return frames


def pan(image, n, step=2):
    """A 320x240 window moving over `image` (RGB), `step` px a frame."""
    height, width = image.shape[:2]
    return [np.ascontiguousarray(image[min(height - 240, i * step // 2):][:240, min(width - 320, i * step):][:, :320])
            for i in range(n)]


def gift_box(n, rng):
    image = cv2.imread(str(SAMPLE_DATA / "Minduka_Present_Blue_Pack.png"))[..., ::-1]
    return pan(cv2.resize(image, (480, 400)), n)


def relief(n, rng):
    with np.load(SAMPLE_DATA / "jacksboro_fault_dem.npz") as data:
        height = data["elevation"].astype(np.float64)
    height = (height - height.min()) / np.ptp(height)
    return pan(cv2.resize((colormaps["gist_earth"](height)[..., :3] * 255).astype(np.uint8), (640, 480)), n, 3)


def terrain(n, rng):
    with np.load(SAMPLE_DATA / "topobathy.npz") as data:
        height = data["topo"].astype(np.float64)
    height = (height - height.min()) / np.ptp(height)
    return pan(cv2.resize((colormaps["terrain"](height)[..., :3] * 255).astype(np.uint8), (640, 480)), n, 3)


def text_slide(n, rng):
    frames = []
    for i in range(n):
        image = np.full((240, 320, 3), 245, np.uint8)
        for k, line in enumerate(["Quarterly results", "Revenue up 12 %", "Costs down", "Questions?"]):
            cv2.putText(image, line, (20 + i % 3, 40 + 45 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (30, 30, 30), 2)
        frames.append(image)
    return frames


def clouds(n, rng):
    frames = []
    for i in range(n):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:150] = np.linspace([120, 180, 235], [180, 220, 250], 150)[:, None, :]
        image[150:] = (70, 140, 60)
        for cx, cy, r in [(60, 50, 25), (160, 40, 30), (260, 60, 20)]:
            cv2.circle(image, ((cx + 2 * i) % 320, cy), r, (250, 250, 250), -1)
            cv2.circle(image, ((cx + 2 * i + 20) % 320, cy + 5), r, (250, 250, 250), -1)
        frames.append(image)
    return frames


def gradient(n, rng):
    ramp = np.linspace(0, 1, 320)[None, :, None]
    return [(255 * (ramp * np.array([1.0, 0.5 + 0.5 * np.sin(i / 20), 0.3]))).repeat(240, 0).astype(np.uint8)
            for i in range(n)]


SCENES = {"noise": noise, "test pattern": test_pattern, "fractal zoom": fractal_zoom, "life": life,
          "gift box": gift_box, "relief map": relief, "terrain map": terrain, "text slide": text_slide,
          "sky with clouds": clouds, "gradient": gradient}


def outcome(video: Path) -> tuple[str, str]:
    """(what the analysis did, detail) for one video."""
    try:
        track = analyse(video, DubOptions()).track
    except InputError as error:
        return "refused", str(error).split(";")[0]
    return f"tracked ({track.source})", f"{track.detected} of {len(track)} frames found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--corpus", action="append", default=[], help="also track the benchmark clips of this corpus")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = int(args.seconds * FPS)
    print(f"`python bench/no_character.py --seconds {args.seconds:g}"
          + "".join(f" --corpus {c}" for c in args.corpus) + "`\n")
    print("| video | no character in it | result | detail |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in SCENES.items():
            frames = make(n, rng)
            path = Path(folder) / f"{name.replace(' ', '-')}.mp4"
            height, width = frames[0].shape[:2]
            with VideoWriter(path, width, height, FPS) as writer:
                for frame in frames:
                    writer.write(frame)
            result, detail = outcome(path)
            print(f"| {name} | yes | {result} | {detail} |")
    for corpus in map(Path, args.corpus):
        clips = json.loads((corpus / "bench" / "manifest.json").read_text())["clips"]
        for clip in clips:
            result, detail = outcome(corpus / "bench" / clip["dir"] / clip["source"])
            print(f"| {corpus.name}/{clip['id']} ({clip['kind']}) | no | {result} | {detail} |")


if __name__ == "__main__":
    os.environ.setdefault("GLOG_minloglevel", "2")
    main()
