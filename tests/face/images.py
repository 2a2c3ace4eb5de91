"""Small images the face tests build or find offline."""

import cv2
import numpy as np

def drawn_face(seed: int = 5) -> tuple[np.ndarray, tuple[float, float], float]:
    """A frontal human face drawn by the corpus generator in a 512 px frame, mouth closed:
    (RGB uint8 image, true mouth centre (x, y), true cheek-to-cheek width), frame px. Both
    MediaPipe's face mesh and the Haar cascade find it. (Identities "test-*", never those
    `bench/haar_fractions.py` measures the Haar constants on.)"""
    from omnisync_cli.data.characters import make_character
    from omnisync_cli.data.scene import make_scene, render_scene

    character = make_character("human", index=seed, seed=seed, prefix="test")
    clip = render_scene(make_scene(character, seed=seed, fps=25, n_frames=1, frame_size=512),
                        np.zeros((1, 5), np.float32))
    return clip.frames[0], (float(clip.mouth_xy[0, 0]), float(clip.mouth_xy[0, 1])), float(clip.face_width[0])


def textured_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour field plus fine detail: nothing face-like, RGB uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(height // 16 + 2, width // 16 + 2, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 6, size=(height, width, 3))
    return np.clip(smooth + fine, 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
