"""One frame of a talking character: pose, mouth, blink, background, light, occluders, noise.

The character is drawn on its canonical canvas (`characters.py`), warped into the frame
by a similarity transform (the head pose), composited over the background, then partly
covered by occluders, lit, and given sensor noise. The frame's mouth centre and face width
are the canvas anchor and width pushed through the same transform, so they are exact.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

from .characters import CANVAS, Character, draw_eyes, draw_mouth, draw_static, painted_texture


@dataclass(frozen=True)
class HeadPose:
    x: float          # frame px where the canvas centre lands
    y: float
    angle: float      # in-plane rotation, degrees (positive: counter-clockwise on screen)
    scale: float      # frame px per canvas px
    yaw: float        # -1 .. 1: the inner face slides sideways as the head turns


@dataclass(frozen=True)
class Occluder:
    """Something in front of the face, placed relative to the mouth in face widths."""

    kind: str                      # "hand" | "mic"
    dx: float                      # offset of its centre from the mouth, face widths
    dy: float
    size: float                    # face widths
    angle: float                   # degrees
    color: tuple                   # skin (hand) or body (mic) colour


@dataclass
class FrameSpec:
    """Everything about one frame except the mouth shape (which the utterance decides)."""

    pose: HeadPose
    blink: float                   # 0 open .. 1 closed
    background: np.ndarray         # (H, W, 3) uint8
    light: np.ndarray              # (H, W, 3) float32 multiplier (gain, tint and gradient)
    occluders: list = field(default_factory=list)
    noise: np.ndarray | None = None  # (H, W, 3) float32 camera noise, 0..255 units
    others: list = field(default_factory=list)  # Figure, ...: silent characters behind the speaker


@dataclass(frozen=True)
class Figure:
    """Another character in the frame: drawn behind the speaker, its mouth moved by its own track."""

    sprite: object                 # Sprite or styles.StyledSprite
    pose: HeadPose
    mouth_shape: np.ndarray
    blink: float


@dataclass(frozen=True)
class RenderedFrame:
    image: np.ndarray              # (H, W, 3) uint8 RGB
    mouth_xy: tuple[float, float]  # mouth centre, frame px
    face_width: float              # frame px
    others: tuple = ()             # ((x, y, face_width), ...) of the other figures, frame px


YAW_SHIFT = 0.12  # feature shift at full yaw, in face widths


class Sprite:
    """A character with its static canvas drawn once; draws the moving parts per frame."""

    def __init__(self, character: Character) -> None:
        self.character = character
        self.rgb, self.alpha = draw_static(character)
        self.texture = painted_texture(character.params["texture_seed"]) if character.kind == "painted" else None

    def canvas(self, mouth_shape: np.ndarray, blink: float, yaw: float) -> tuple[np.ndarray, np.ndarray]:
        """(CANVAS, CANVAS, 3) uint8 and alpha for this mouth, blink and yaw."""
        dx = yaw * YAW_SHIFT * self.character.face_width
        img = self.rgb.copy()
        draw_eyes(img, self.character, blink, dx)
        draw_mouth(img, self.character, mouth_shape, dx)
        if self.texture is not None:  # brush grain over everything, then soften like paint
            img = np.clip(img * self.texture, 0, 255).astype(np.uint8)
            img = cv2.GaussianBlur(img, (3, 3), 0.8)
        return img, self.alpha

    def anchor(self, yaw: float) -> np.ndarray:
        ch = self.character
        return np.array([ch.mouth_xy[0] + yaw * YAW_SHIFT * ch.face_width, ch.mouth_xy[1]])


def pose_matrix(pose: HeadPose) -> np.ndarray:
    """2x3 affine: canvas px -> frame px (rotation and scale about the canvas centre)."""
    m = cv2.getRotationMatrix2D((CANVAS / 2, CANVAS / 2), pose.angle, pose.scale)
    m[:, 2] += np.array([pose.x - CANVAS / 2, pose.y - CANVAS / 2])
    return m


def render_frame(sprite: Sprite, spec: FrameSpec, mouth_shape: np.ndarray) -> RenderedFrame:
    """Draw one frame; see the module docstring for the order of the layers."""
    frame = spec.background.astype(np.float32, order="C")
    others = tuple((*_composite(frame, f.sprite, f.pose, f.mouth_shape, f.blink),) for f in spec.others)
    x, y, face_width = _composite(frame, sprite, spec.pose, mouth_shape, spec.blink)
    mouth = np.array([x, y])
    for occ in spec.occluders:
        draw_occluder(frame, occ, mouth, face_width)
    frame *= spec.light
    if spec.noise is not None:
        frame += spec.noise
    image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return RenderedFrame(image, (float(mouth[0]), float(mouth[1])), float(face_width), others)


def _composite(frame: np.ndarray, sprite, pose: HeadPose, mouth_shape, blink: float) -> tuple[float, float, float]:
    """Warp one character over the float32 frame in place; its mouth centre and face width, frame px."""
    h, w = frame.shape[:2]
    matrix = pose_matrix(pose)
    rgb, alpha = sprite.canvas(mouth_shape, blink, pose.yaw)
    layer = cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    cover = cv2.warpAffine(alpha, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    a = cover.astype(np.float32)[..., None] / 255.0
    frame += (layer.astype(np.float32) - frame) * a
    mouth = matrix @ np.append(sprite.anchor(pose.yaw), 1.0)
    return float(mouth[0]), float(mouth[1]), float(sprite.character.face_width * pose.scale)


def _poly(img: np.ndarray, xy: np.ndarray, color) -> None:
    cv2.fillPoly(img, [np.round(xy * 16).astype(np.int32)], tuple(float(c) for c in color), cv2.LINE_AA, 4)


def draw_occluder(frame: np.ndarray, occ: Occluder, mouth: np.ndarray, face_width: float) -> None:
    """Draw a hand or a microphone in front of the face, in place on a float32 frame."""
    cx, cy = mouth[0] + occ.dx * face_width, mouth[1] + occ.dy * face_width
    s = occ.size * face_width
    rot = np.radians(occ.angle)
    c, sn = np.cos(rot), np.sin(rot)

    def place(pts):
        pts = np.asarray(pts, np.float64)
        return np.stack([cx + c * pts[:, 0] - sn * pts[:, 1], cy + sn * pts[:, 0] + c * pts[:, 1]], 1)

    def ellipse(x0, y0, ax, ay, n=24):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return place(np.stack([x0 + ax * np.cos(t), y0 + ay * np.sin(t)], 1))

    if occ.kind == "hand":
        shade = tuple(0.85 * v for v in occ.color)
        for k in range(4):  # fingers pointing up, then the palm and thumb over them
            fx = (k - 1.5) * 0.2 * s
            length = s * (0.55 + 0.1 * (k in (1, 2)))
            _poly(frame, place([[fx - 0.09 * s, 0], [fx + 0.09 * s, 0], [fx + 0.08 * s, -length],
                                [fx, -length - 0.06 * s], [fx - 0.08 * s, -length]]), shade if k % 2 else occ.color)
        _poly(frame, ellipse(0, 0.1 * s, 0.42 * s, 0.35 * s), occ.color)
        _poly(frame, place([[0.3 * s, 0.2 * s], [0.65 * s, -0.15 * s], [0.55 * s, -0.25 * s], [0.2 * s, 0.0]]), shade)
        _poly(frame, place([[-0.3 * s, 0.3 * s], [0.3 * s, 0.3 * s], [0.25 * s, 1.5 * s], [-0.25 * s, 1.5 * s]]),
              occ.color)
    else:  # microphone: grille ball on a handle that runs out of the frame
        _poly(frame, place([[-0.12 * s, 0.2 * s], [0.12 * s, 0.2 * s], [0.08 * s, 8 * s], [-0.08 * s, 8 * s]]),
              occ.color)
        _poly(frame, ellipse(0, 0, 0.3 * s, 0.3 * s), (70, 70, 75))
        for k in range(-2, 3):  # the grille mesh
            for pts in (place([[k * 0.1 * s, -0.28 * s], [k * 0.1 * s, 0.28 * s]]),
                        place([[-0.28 * s, k * 0.1 * s], [0.28 * s, k * 0.1 * s]])):
                cv2.polylines(frame, [np.round(pts * 16).astype(np.int32)], False, (125, 125, 130), 1,
                              cv2.LINE_AA, 4)


# ----------------------------------------------------------------------------- backgrounds

BACKGROUND_KINDS = ("flat", "gradient", "texture", "shapes", "room")


def make_background(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """A (size, size, 3) uint8 background; scenes cut moving windows out of a larger one."""
    base = rng.integers(20, 235, 3).astype(np.float32)
    if kind == "flat":
        return np.full((size, size, 3), base, np.uint8)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == "gradient":
        other = rng.integers(20, 235, 3).astype(np.float32)
        t = (np.cos(rng.uniform(0, 6.3)) * xx + np.sin(rng.uniform(0, 6.3)) * yy)
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
        return (base * (1 - t[..., None]) + other * t[..., None]).astype(np.uint8)
    if kind == "texture":
        cells = int(rng.integers(4, 24))
        noise = rng.standard_normal((cells, cells, 3)).astype(np.float32)
        low = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.standard_normal((size, size, 3)).astype(np.float32), (0, 0), 1.5)
        return np.clip(base + 35 * low + 25 * fine, 0, 255).astype(np.uint8)
    img = np.full((size, size, 3), base, np.uint8)
    if kind == "shapes":
        for _ in range(int(rng.integers(6, 20))):
            color = tuple(int(v) for v in rng.integers(0, 256, 3))
            x, y, r = (int(v) for v in rng.integers(0, size, 3) // np.array([1, 1, 4]))
            if rng.random() < 0.5:
                cv2.circle(img, (x, y), r + 3, color, -1, cv2.LINE_AA)
            else:
                cv2.rectangle(img, (x, y), (x + r + 5, y + int(rng.integers(5, size // 3))), color, -1)
        return img
    # room: a wall, a floor line, a window and a shelf
    wall_y = int(size * rng.uniform(0.55, 0.8))
    img[wall_y:] = np.clip(base * 0.6, 0, 255).astype(np.uint8)
    wx, wy = int(rng.integers(0, size // 2)), int(rng.integers(0, size // 3))
    cv2.rectangle(img, (wx, wy), (wx + size // 4, wy + size // 4), (200, 225, 245), -1)
    cv2.rectangle(img, (wx, wy), (wx + size // 4, wy + size // 4), (90, 80, 70), 3)
    sy = int(rng.integers(size // 4, wall_y))
    cv2.rectangle(img, (size // 2, sy), (size, sy + 6), (110, 80, 50), -1)
    for k in range(int(rng.integers(2, 6))):
        bx = size // 2 + 10 + k * 14
        cv2.rectangle(img, (bx, sy - int(rng.integers(12, 30))), (bx + 10, sy),
                      tuple(int(v) for v in rng.integers(30, 220, 3)), -1)
    return img
