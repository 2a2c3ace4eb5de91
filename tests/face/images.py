"""Small images the face tests build or find offline."""

import cv2
import numpy as np

# Hand-annotated on matplotlib's sample grace_hopper.jpg (512 x 600): centre of the closed
# mouth (midway between the lip corners at x ~ 230 and ~ 310, on the lip line).
PORTRAIT_MOUTH = (270.0, 276.0)


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
