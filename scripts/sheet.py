"""What the contact-sheet scripts share: a frame letterboxed into a labelled tile, and the
sheet of rows written as a PNG."""

from pathlib import Path

import cv2
import numpy as np

TILE = 200


def tile_of(frame: np.ndarray, label: str) -> tuple[np.ndarray, float, int, int]:
    """The frame fitted into a TILE square under a 16 px label; returns it, the scale and offsets."""
    h, w = frame.shape[:2]
    scale = TILE / max(h, w)
    small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    out = np.full((TILE + 16, TILE, 3), 30, np.uint8)
    y0, x0 = 16 + (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    cv2.putText(out, label, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
    return out, scale, x0, y0


def write_sheet(rows: list[list[np.ndarray]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate([np.concatenate(r, 1) for r in rows], 0)[..., ::-1])
    print(f"wrote {path}")
