"""The learned mouth localiser: finds the mouths of any character, human or not, in a frame.

A small fully-convolutional network in the CenterNet manner: the frame, letterboxed into a
square of `input_size` px, gives a heat map at stride 4 (one peak per mouth), a sub-pixel
offset of each peak and the face width there (log px). Candidates are the heat map's local
maxima above `min_score`. Each candidate is then refined by a second look at a crop of
`REFINE_FACES` face widths around it (the same network; the mouth then spans many heat-map
cells), so that a character 5 % of the frame wide is located as precisely as a close-up.
The refinement looks at each candidate four ways (two crop sizes, each also mirrored) and
averages the views that agree, as test-time augmentation does.

Trained on corpus-v2 frames (`train/localiser.py`, the network in face.localiser_net); shipped
as `weights/mouth-localiser/` (config.json + model.safetensors + card). Dubs run it in ONNX Runtime
(face.localiser_graph), so that finding a mouth needs no PyTorch.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.bundled import bundled_weights
from omnisync_cli.errors import WeightsError
from omnisync_cli.face.landmarks import FaceObservation

# The localiser trained by this project and shipped in the repository (OMNISYNC_LOCALISER overrides).
BUNDLED_LOCALISER = bundled_weights("mouth-localiser")
FORMAT = "omnisync-mouth-localiser"
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
STRIDE = 4
REFINE_FACES = 2.5  # refinement crop side, in face widths (the mouth gate's look)
# detect()'s refinement crop: 2 face widths, not 2.5 (bench/localiser.py frames: pixel-art hits 73.5 -> 76.5 %
# on the tuning frames, 79.5 -> 82.5 % held out; median error lower in every group; same cost)
DETECT_REFINE_FACES = 2.0
# ... plus a closer crop, and both mirrored: the views that agree are averaged (bench/localiser.py on the
# tuning frames: hits 92.5 / 90.0 / 93.5 / 75.0 % -> 94.5 / 90.5 / 95.0 / 78.0 % for seen / box heads /
# beaks / pixel-art; a look 1.5x as long; bench/results/localiser-views/)
DETECT_VIEWS = ((DETECT_REFINE_FACES, False), (DETECT_REFINE_FACES, True), (1.6, False), (1.6, True))


@dataclass(frozen=True)
class LocaliserConfig:
    input_size: int = 256          # letterboxed square side of the first look, px
    refine_size: int = 128         # side of each refinement crop, px
    widths: tuple[int, ...] = (16, 32, 48, 64)  # channels at strides 2, 4, 8, 16
    min_score: float = 0.3         # heat-map peak that counts as a mouth
    max_candidates: int = 4
    # The mouth gate's second look at a tracked region opens at this score: lower than a new
    # candidate needs, since the track already found a mouth there (bench/results/gate/: at
    # 0.2 it opens at 98 % of true mouths and 1-6 % of mouth-free places; at 0.3, 94 % and 0-4 %)
    gate_min_score: float = 0.2

    @classmethod
    def from_dict(cls, doc: dict) -> "LocaliserConfig":
        doc = dict(doc)
        doc["widths"] = tuple(doc["widths"])
        return cls(**doc)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """Fit `image` into a size x size square (grey padding); returns it, scale and the x, y offsets."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.full((size, size, 3), 114, np.uint8)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out[oy:oy + nh, ox:ox + nw] = cv2.resize(image, (nw, nh), interpolation=interp)
    return out, scale, ox, oy


def decode(output: np.ndarray, min_score: float, max_candidates: int) -> list[tuple[float, float, float, float]]:
    """(4, H, W) network output -> [(x, y, face_width, score)] in input px, best first."""
    heat = 1.0 / (1.0 + np.exp(-output[0]))
    peaks = (heat == cv2.dilate(heat, np.ones((3, 3), np.uint8))) & (heat >= min_score)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-heat[ys, xs])[:max_candidates]
    found = []
    for y, x in zip(ys[order], xs[order]):
        cx = (x + 0.5 + output[1, y, x]) * STRIDE
        cy = (y + 0.5 + output[2, y, x]) * STRIDE
        found.append((float(cx), float(cy), float(np.exp(output[3, y, x])), float(heat[y, x])))
    return found


class MouthLocaliser:
    """Loaded localiser: `detect(image)` -> FaceObservations (score = confidence), best first.
    `run` is its network: (B, S, S, 3) uint8 pictures -> (B, 4, S/4, S/4) outputs."""

    def __init__(self, run: Callable[[list[np.ndarray]], np.ndarray], config: LocaliserConfig):
        self._run, self.config = run, config

    def detect(self, image: np.ndarray) -> list[FaceObservation]:
        cfg = self.config
        boxed, scale, ox, oy = letterbox(image, cfg.input_size)
        coarse = decode(self._run([boxed])[0], cfg.min_score, cfg.max_candidates)
        if not coarse:
            return []
        crops, views = [], []
        for x, y, w, _ in coarse:  # back to frame px, then closer looks around each
            fx, fy, fw = (x - ox) / scale, (y - oy) / scale, w / scale
            for faces, mirrored in DETECT_VIEWS:
                side = max(8.0, faces * fw)
                crop = _crop(image, fx, fy, side, cfg.refine_size)
                crops.append(crop[:, ::-1] if mirrored else crop)
                views.append((fx, fy, fw, side, mirrored))
        fine = self._run(crops)
        found = []
        n = len(DETECT_VIEWS)
        for k, (_, _, _, score) in enumerate(coarse):
            fx, fy, fw = views[k * n][:3]
            looks = []  # each view's best peak in frame px: x, y, face width, score
            for (_, _, _, side, mirrored), out in zip(views[k * n:(k + 1) * n], fine[k * n:(k + 1) * n]):
                near = decode(out, 0.0, 1)  # the best peak in the crop (it is centred on the candidate)
                if near:
                    px, py, pw, ps = near[0]
                    px = cfg.refine_size - px if mirrored else px
                    step = side / cfg.refine_size
                    looks.append((fx - side / 2 + px * step, fy - side / 2 + py * step, pw * step, ps))
            if looks:
                fx, fy, fw, fine_score = combine_views(np.asarray(looks))
                score = float(np.sqrt(score * fine_score))
            found.append(_observation(fx, fy, fw, score))
        return _suppress(found)

    def mouth_score(self, image: np.ndarray, x: float, y: float, face_width: float) -> float:
        """Confidence (0..1) that a mouth lies within half a face width of (x, y), frame px."""
        cfg = self.config
        side = max(8.0, REFINE_FACES * face_width)
        out = self._run([_crop(image, x, y, side, cfg.refine_size)])[0]
        k = cfg.refine_size / side
        best = 0.0
        for px, py, _, score in decode(out, 0.05, cfg.max_candidates):
            if np.hypot(px - cfg.refine_size / 2, py - cfg.refine_size / 2) <= 0.5 * face_width * k:
                best = max(best, score)
        return best


class MouthGate:
    """A second look before the model edits: is there a mouth at the working region's centre?

    Used on localiser tracks: one look per `stride` source frames (cached), at the final,
    smoothed region; a segment whose look finds no mouth (score below `gate_min_score`) passes
    through unedited, so a false alarm or a drifted region never gets painted.
    """

    def __init__(self, localiser: "MouthLocaliser", stride: int, min_score: float | None = None):
        self.localiser, self.stride = localiser, max(1, stride)
        self.min_score = localiser.config.gate_min_score if min_score is None else min_score
        self._seen: dict[int, bool] = {}

    def allows(self, index: int, image: Callable[[], np.ndarray], x: float, y: float, face_width: float) -> bool:
        """Whether frame `index` may be edited; `image()` gives the frame when a look is due."""
        key = index - index % self.stride
        if key not in self._seen:
            self._seen[key] = self.localiser.mouth_score(image(), x, y, face_width) >= self.min_score
        return self._seen[key]

    @property
    def closed(self) -> int:
        """Looks that found no mouth."""
        return sum(not v for v in self._seen.values())


def combine_views(looks: np.ndarray, agree: float = 0.25) -> tuple[float, float, float, float]:
    """(V, 4) views of one mouth (x, y, face width, score; the first is the reference) -> one.

    The views within `agree` face widths of the reference are averaged, weighted by their
    scores (face widths geometrically); the score stays the reference's, so the confidence
    means what it meant with one view.
    """
    ref = looks[0]
    near = looks[np.hypot(looks[:, 0] - ref[0], looks[:, 1] - ref[1]) <= agree * ref[2]]
    weights = near[:, 3] + 1e-9
    x, y = np.average(near[:, 0], weights=weights), np.average(near[:, 1], weights=weights)
    return float(x), float(y), float(np.exp(np.log(near[:, 2]).mean())), float(ref[3])


def _crop(image: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    scale = size / side
    matrix = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(114, 114, 114))


def _observation(x: float, y: float, face_width: float, score: float) -> FaceObservation:
    half = face_width / 2
    return FaceObservation(x, y, face_width, (x - half, y - 1.2 * half, x + half, y + 0.5 * half), score)


def _suppress(found: list[FaceObservation]) -> list[FaceObservation]:
    """Drop a candidate whose mouth lies within a quarter face width of a better one."""
    kept: list[FaceObservation] = []
    for obs in sorted(found, key=lambda o: -o.score):
        if all(np.hypot(obs.mouth_x - k.mouth_x, obs.mouth_y - k.mouth_y) > 0.25 * max(k.face_width, obs.face_width)
               for k in kept):
            kept.append(obs)
    return kept


# ----------------------------------------------------------------------------- weights

def read_localiser_config(directory: str | Path) -> tuple[LocaliserConfig, Path]:
    """The config of the localiser in `directory` and its weights file; WeightsError naming the
    folder where either is missing or the config is not a localiser's."""
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise WeightsError(f"mouth localiser weights not found in {directory} (need {CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        doc = json.loads(config_path.read_text())
        if doc.get("format") != FORMAT:
            raise WeightsError(f"{config_path} is not a mouth-localiser config (format {doc.get('format')!r})")
        return LocaliserConfig.from_dict(doc["model"]), weights_path
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise damaged(directory, exc) from exc


def damaged(directory: Path, exc: Exception) -> WeightsError:
    return WeightsError(f"mouth localiser in {directory} is damaged or does not match its config: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


def open_localiser(directory: str | Path | None = None) -> MouthLocaliser:
    """The localiser in `directory`, or the bundled one."""
    return load_localiser(directory or os.environ.get("OMNISYNC_LOCALISER", BUNDLED_LOCALISER))


def load_localiser(directory: str | Path) -> MouthLocaliser:
    """The localiser in `directory`, its network in ONNX Runtime (face.localiser_graph)."""
    from safetensors import SafetensorError

    from omnisync_cli.face.localiser_graph import OnnxLocaliserNet
    config, weights_path = read_localiser_config(directory)
    try:
        net = OnnxLocaliserNet(weights_path, config.widths)
        net([np.zeros((config.refine_size, config.refine_size, 3), np.uint8)])  # a mismatched graph fails here
    except (SafetensorError, KeyError, ValueError, RuntimeError) as exc:
        raise damaged(Path(directory), exc) from exc
    return MouthLocaliser(net, config)
