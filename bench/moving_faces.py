"""Does the mouth track keep up with a moving face? Talking faces that MediaPipe follows, held
still and shaken like a hand-held phone, tracked as the dub tracks them.

    python bench/moving_faces.py [--clips-dir DIR] [--characters 4] [--category human] [--motions M,M] [--write F]

Each character (the generator's `--category`: human faces, which MediaPipe follows, by default;
"nonhuman" animals, robots and creatures, which the mouth localiser follows; 512x512, 6 s, x264
crf 18) is rendered four ways:
still at 25 fps; "walk" (the picture shaken by 40 px around 0.9 and 2.3 Hz) at 25 and 60 fps;
"run" (80 px) at 30 fps. A shaken frame is blurred along its move over half the frame interval,
as a camera's exposure blurs it. The truth moves with the picture. Each clip is tracked by the
dub's tracking pass (`pipeline.analysis.analyse` at the defaults) and compared with the generator's
mouth: the working region's centre (what the dub edits around) and the mouth centre before
smoothing, in face widths; the share of frames whose region centre lies within 0.1 face widths;
and the region's size error (its side against the true face width's, each clip's median ratio
taken out: the landmarks' face width is not the generator's). `--motions push-in` (1.0 -> 1.4 over
3 s) and `--motions "zoom 0.6 Hz"` (+-35 %) zoom the picture about its centre instead of shaking
it. The clips are kept in `--clips-dir` when given, so that another tree can track the same
files (`PYTHONPATH=/tmp/before python bench/moving_faces.py --clips-dir DIR`).
"""

import argparse
import time
from fractions import Fraction
from pathlib import Path
import tempfile

import av
import cv2
import numpy as np

from omnisync_cli.data.characters import make_character
from omnisync_cli.data.scene import make_scene, render_utterance
from omnisync_cli.data.speech import random_utterance
from omnisync_cli.face.region import REGION_SCALE
from omnisync_cli.pipeline.analysis import analyse

from markdown_out import emit  # bench/markdown_out.py

MOTIONS = {"still": (25.0, 0.0), "walk": (25.0, 40.0), "run": (30.0, 80.0), "walk 60 fps": (60.0, 40.0)}
# Zooms about the frame's centre, asked for by name (--motions): the picture's scale over time.
ZOOMS = {"push-in": lambda t: 1 + 0.4 * np.clip((t - 1.0) / 3.0, 0, 1),   # 1.0 -> 1.4 over 3 s
         "zoom 0.6 Hz": lambda t: 1 + 0.35 * np.sin(2 * np.pi * 0.6 * t)}  # in and out, +-35 %
SIZE, SECONDS = 512, 6.0


def shake(n: int, fps: float, amplitude: float) -> np.ndarray:
    """(n, 2) picture offsets in pixels: a walk's sway and bounce, two sines per axis."""
    t = np.arange(n) / fps
    dx = amplitude * np.sin(2 * np.pi * 0.9 * t) + 0.4 * amplitude * np.sin(2 * np.pi * 2.3 * t + 1)
    dy = 0.5 * amplitude * np.sin(2 * np.pi * 1.3 * t + 2)
    return np.stack([dx, dy], axis=1)


def moved(frame: np.ndarray, offset: np.ndarray, step: np.ndarray) -> np.ndarray:
    """`frame` moved by `offset` (edges mirrored), blurred along `step` (this frame's move)
    over half of it."""
    matrix = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    out = cv2.warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    length = int(round(0.5 * np.hypot(*step)))
    if length < 2:
        return out
    kernel = np.zeros((2 * length + 1, 2 * length + 1), np.float32)
    direction = step / np.hypot(*step)
    for s in np.linspace(-length / 2, length / 2, 2 * length):
        kernel[int(round(length + s * direction[1])), int(round(length + s * direction[0]))] = 1
    return cv2.filter2D(out, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def make_clip(folder: Path, character: int, motion: str, category: str = "human") -> tuple[Path, np.ndarray, np.ndarray]:
    """(video, truth mouth (F, 2), truth face width (F,)), rendered once into `folder`."""
    fps, amplitude = MOTIONS.get(motion, (25.0, 0.0))
    stem = folder / f"{category}{character}-{motion.replace(' ', '-')}"
    video, truth = stem.with_suffix(".mp4"), stem.with_suffix(".npz")
    if video.exists() and truth.exists():
        saved = np.load(truth)
        return video, saved["mouth"], saved["width"]
    rng = np.random.default_rng([character, 5])
    person = make_character(category, index=character, seed=character, prefix="moving")
    frames, mouth, width = [], [], []
    for part in range(2):
        scene = make_scene(person, seed=10 * character + part, fps=fps, n_frames=int(SECONDS / 2 * fps), frame_size=SIZE)
        clip = render_utterance(scene, random_utterance(rng, SECONDS / 2), 1.0)
        frames.extend(clip.frames)
        mouth.extend(clip.mouth_xy)
        width.extend(clip.face_width)
    mouth, width = np.asarray(mouth, np.float64), np.asarray(width, np.float64)
    if amplitude:
        offsets = shake(len(frames), fps, amplitude)
        steps = np.diff(offsets, axis=0, prepend=offsets[:1])
        frames = [moved(f, o, s) for f, o, s in zip(frames, offsets, steps)]
        mouth = mouth + offsets
    if motion in ZOOMS:
        scales = ZOOMS[motion](np.arange(len(frames)) / fps)
        matrices = [cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), 0, s) for s in scales]
        frames = [cv2.warpAffine(f, m, (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT) for f, m in zip(frames, matrices)]
        mouth = np.array([m[:, :2] @ xy + m[:, 2] for m, xy in zip(matrices, mouth)])
        width = width * scales
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                      options={"crf": "18", "preset": "veryfast"})
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())
    np.savez(truth, mouth=mouth, width=width)
    return video, mouth, width


def tracked(video: Path, mouth: np.ndarray, width: np.ndarray) -> dict:
    started = time.perf_counter()
    track = analyse(video).track
    seconds = time.perf_counter() - started
    n = min(len(track), len(mouth))
    centre = np.hypot(track.cx[:n] - mouth[:n, 0], track.cy[:n] - mouth[:n, 1]) / width[:n]
    raw = np.hypot(track.mouth_x[:n] - mouth[:n, 0], track.mouth_y[:n] - mouth[:n, 1]) / width[:n]
    size = np.log(track.side[:n] / (REGION_SCALE * width[:n]))  # the region's side against the true face's
    return dict(source=track.source, centre=centre, raw=raw, size=np.abs(size - np.median(size)),
                ms=1000 * seconds / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-dir", type=Path, default=None, help="keep (and reuse) the rendered clips here")
    parser.add_argument("--characters", type=int, default=4)
    parser.add_argument("--category", default="human", choices=("human", "stylized", "nonhuman"))
    parser.add_argument("--motions", default=",".join(MOTIONS), help=f"some of: {', '.join([*MOTIONS, *ZOOMS])}")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.clips_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = {motion: [] for motion in args.motions.split(",")}
        for character in range(args.characters):
            for motion in rows:
                result = tracked(*make_clip(folder, character, motion, args.category))
                rows[motion].append(result)
                print(f"{args.category} {character} {motion:12s} {result['source']:10s} centre {result['centre'].mean():.4f} "
                      f"({100 * (result['centre'] <= 0.1).mean():.0f} %) mouth {result['raw'].mean():.4f} "
                      f"{result['ms']:.1f} ms/frame", flush=True)
    lines = ["# The mouth track on still and shaken talking faces", "",
             f"`python bench/moving_faces.py --characters {args.characters} --category {args.category} "
             f"--motions {args.motions}`: the dub's tracking pass at its "
             "defaults (`pipeline.analysis.analyse`); errors in face widths against the generator's mouth; the pass's wall "
             "time per frame includes its MediaPipe graphs' set-up (150-360 frames a clip).", "",
             "| motion | clips | sources | region centre error | frames within 0.1 | worst clip within 0.1 | mouth centre error "
             "| region size error | tracking ms / frame |",
             "|---|---|---|---|---|---|---|---|---|"]
    for motion, results in rows.items():
        centre = np.concatenate([r["centre"] for r in results])
        lines.append(f"| {motion} | {len(results)} | {', '.join(sorted({r['source'] for r in results}))} | "
                     f"{centre.mean():.4f} | {100 * (centre <= 0.1).mean():.1f} % | "
                     f"{100 * min((r['centre'] <= 0.1).mean() for r in results):.0f} % | "
                     f"{np.concatenate([r['raw'] for r in results]).mean():.4f} | "
                     f"{100 * np.concatenate([r['size'] for r in results]).mean():.1f} % | "
                     f"{np.mean([r['ms'] for r in results]):.2f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
