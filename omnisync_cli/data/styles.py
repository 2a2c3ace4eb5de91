"""Corpus v2 characters: style-randomised talking characters with held-out style families.

A character is drawn from continuous random parameters along three family axes:
    head:    classic (the hand-written v1 kinds: drawn faces, animals, creatures; a v1 robot
             counts as "box"), round, blob, polygon, box, muzzle (a snout that carries the mouth)
    mouth:   lips, line, oval, grille, beak (hinged mandibles), jaw (a dropping plate), fangs,
             stitched
    render:  vector, painterly, lineart, posterised, pixel, grain, compressed
Palette, fill (flat, gradient, textured, photo-textured), outline, ears / horns / hair / body /
accessories, eye count and kind, mouth size, colour, tilt and position on the head (off-centre,
high, low, at the side) are continuous or free draws on top of those.

One value of each axis is never drawn for training (`HELD_OUT`): the benchmark holds
identities of those families (`heldout-head`, `heldout-mouth`, `heldout-render`) beside new
identities of the seen ones (`seen`), so every report can say how a model does on styles it
never saw.

`StyledSprite` has the interface `render.py` draws with (a static canvas, `canvas(...)` for
the moving parts, `anchor(yaw)`); `frame_effect` applies the frame-level part of the
rendering style (pixel-art, posterisation, grain, compression) after compositing.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from .characters import (CANVAS, CATEGORIES, EyeStyle, MouthStyle, _color, _darker,
                         _ellipse_pts, _fill, _line, draw_eyes, draw_mouth, draw_static, make_character,
                         painted_texture)

HEAD_FAMILIES = ("classic", "round", "blob", "polygon", "box", "muzzle")
MOUTH_TYPES = ("lips", "line", "oval", "grille", "beak", "jaw", "fangs", "stitched")
RENDER_STYLES = ("vector", "painterly", "lineart", "posterised", "pixel", "grain", "compressed")
HELD_OUT = {"head": "box", "mouth": "beak", "render": "pixel"}
GROUPS = ("seen", "heldout-head", "heldout-mouth", "heldout-render")
_CLASSIC_MOUTH = {"drawn": "lips", "flat": "lips", "painted": "lips", "anime": "line", "animal": "fangs",
                  "robot": "grille", "creature": "fangs"}


@dataclass(frozen=True)
class Style:
    head: str
    mouth: str
    render: str

    @property
    def group(self) -> str:
        """The benchmark group: the first held-out axis this style uses, else "seen"."""
        for axis in ("head", "mouth", "render"):
            if getattr(self, axis) == HELD_OUT[axis]:
                return f"heldout-{axis}"
        return "seen"

    @property
    def category(self) -> str:
        """The v1 report category: human-like lips, other drawn mouths, or animal/machine mouths."""
        if self.mouth in ("grille", "beak", "jaw", "fangs") or self.head in ("box", "muzzle"):
            return "nonhuman"
        return "human" if self.head in ("classic", "round") and self.mouth == "lips" else "stylized"


def draw_style(rng: np.random.Generator, group: str) -> Style:
    """A style of `group`: "seen" never uses a held-out value; "heldout-X" fixes axis X to it."""
    if group not in GROUPS:
        raise ValueError(f"unknown style group {group!r}; one of {GROUPS}")

    def pick(axis, values):
        if group == f"heldout-{axis}":
            return HELD_OUT[axis]
        pool = [v for v in values if v != HELD_OUT[axis]]
        return pool[int(rng.integers(len(pool)))]

    return Style(pick("head", HEAD_FAMILIES), pick("mouth", MOUTH_TYPES), pick("render", RENDER_STYLES))


@dataclass(frozen=True)
class StyledCharacter:
    """One corpus-v2 identity; `mouth_xy`, `face_width` and `mouth_size` are canvas px."""

    char_id: str
    style: Style
    seed: int
    mouth_xy: tuple[float, float]
    face_width: float
    mouth: MouthStyle
    eyes: EyeStyle
    params: dict = field(compare=False, repr=False)

    @property
    def category(self) -> str:
        return self.style.category

    @property
    def kind(self) -> str:
        return f"{self.style.head}/{self.style.mouth}/{self.style.render}"

    @property
    def mouth_size(self) -> tuple[float, float]:
        """Width and height of the mouth's box at full opening, canvas px."""
        return 2.0 * self.mouth.half_width, self.mouth.max_open + 2.5 * self.mouth.lip_thickness + 2.0


def _random_color(rng) -> tuple:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _vivid(rng) -> tuple:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(90, 256), rng.integers(90, 256)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def make_styled_character(style: Style, index: int, seed: int, prefix: str = "c",
                          wide_mouth: float = 0.0, slit_eyes: bool = False) -> StyledCharacter:
    """Draw identity `index` of `style` from `seed` (same arguments, same character).

    `wide_mouth` > 0 (0.4-0.9) gives a procedural head a mouth that share of its face width (a
    frog, a hippo, a sock puppet), centred; `slit_eyes` gives it large eyes with a dark bar for a
    pupil (a frog's, a toad's), which look much like closed mouths. Every other draw is the same
    as without them."""
    rng = np.random.default_rng([seed, HEAD_FAMILIES.index(style.head), MOUTH_TYPES.index(style.mouth),
                                 RENDER_STYLES.index(style.render), index, 13])
    char_id = f"{prefix}-{style.group}-{index:05d}"
    render = _render_params(rng, style.render)
    if style.head == "classic":
        return _classic(rng, style, index, seed, char_id, render)
    return _procedural(rng, style, seed, char_id, render, wide_mouth, slit_eyes)


def _classic(rng, style, index, seed, char_id, render) -> StyledCharacter:
    """A v1 character (never a robot: its box head is the held-out head family) in a v2 style."""
    while True:
        base = make_character(CATEGORIES[int(rng.integers(3))], index, int(rng.integers(1 << 30)))
        if base.kind != "robot":
            break
    mouth, mouth_params = _mouth_style(rng, style.mouth, base.mouth.half_width, _darker(base.mouth.interior_color, 1))
    mouth = mouth if style.mouth != _CLASSIC_MOUTH[base.kind] else base.mouth
    params = dict(render, classic=base, mouth_params=mouth_params)
    return StyledCharacter(char_id, style, seed, base.mouth_xy, base.face_width, mouth, base.eyes, params)


def _render_params(rng, render: str) -> dict:
    p = dict(render=render)
    if render == "painterly":
        p.update(texture_seed=int(rng.integers(1 << 30)), blur=float(rng.uniform(0.8, 2.0)))
    elif render == "lineart":
        p.update(paper=tuple(int(v) for v in rng.integers(215, 256, 3)), ink=tuple(int(v) for v in rng.integers(0, 60, 3)),
                 tint=float(rng.uniform(0.0, 0.5)))
    elif render == "posterised":
        p.update(levels=int(rng.integers(3, 7)))
    elif render == "pixel":
        p.update(pixel=float(rng.uniform(0.02, 0.06)), levels=int(rng.integers(4, 9)))
    elif render == "grain":
        p.update(grain=float(rng.uniform(8, 22)), chroma=float(rng.uniform(0.0, 0.6)))
    elif render == "compressed":
        p.update(quality=int(rng.integers(8, 35)))
    return p


def _mouth_style(rng, mouth_type: str, half_width: float, interior) -> tuple[MouthStyle, dict]:
    """The drawing parameters of a mouth of `mouth_type`, `half_width` canvas px at rest."""
    col = _vivid(rng) if rng.random() < 0.6 else _random_color(rng)
    interior = _color(rng, interior, 25)
    teeth = _color(rng, (245, 242, 235), 10) if rng.random() < 0.8 else _vivid(rng)
    tongue = _color(rng, (215, 90, 110), 25)
    tilt = float(rng.uniform(-25, 25)) if rng.random() < 0.3 else float(rng.uniform(-5, 5))
    w = half_width
    outline = (20, 18, 18) if rng.random() < 0.5 else None
    extra = {}
    if mouth_type == "lips":
        style = MouthStyle(w, w * rng.uniform(0.8, 1.3), col, w * rng.uniform(0.12, 0.32), outline, interior, teeth,
                           "band", tongue, tilt_deg=tilt)
    elif mouth_type == "line":
        style = MouthStyle(w, w * rng.uniform(0.7, 1.3), None, w * 0.1, _darker(col, 0.4), interior, teeth,
                           "band", tongue, tilt_deg=tilt)
    elif mouth_type == "grille":
        led = _vivid(rng)
        style = MouthStyle(w, w * rng.uniform(0.5, 0.9), _darker(col, 0.3), w * 0.15, None, _darker(led, 0.3), led,
                           "bars", _darker(led, 0.7), squareness=float(rng.uniform(0.7, 1.0)), tilt_deg=tilt)
    elif mouth_type == "fangs":
        style = MouthStyle(w, w * rng.uniform(1.0, 1.5), _darker(col, 0.5), w * rng.uniform(0.08, 0.2), outline,
                           interior, teeth, "fangs", tongue, tilt_deg=tilt)
    else:  # oval, beak, jaw, stitched: drawn by `_draw_special_mouth`
        style = MouthStyle(w, w * rng.uniform(0.7, 1.3), col, w * 0.12, outline, interior, teeth, "band", tongue,
                           tilt_deg=tilt)
        extra = dict(facing=float(rng.choice([-1.0, 1.0])), stitches=int(rng.integers(3, 8)),
                     thickness=float(rng.uniform(1.5, 3.5)), bars=rng.random() < 0.5)
    return style, dict(extra, type=mouth_type)


def _head_outline(rng, family: str, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    if family == "round":
        return np.stack([cx + a * np.cos(t), cy + b * np.sin(t)], 1)
    if family == "blob":
        r = 1 + sum(rng.uniform(-0.15, 0.15) * np.cos(k * t + rng.uniform(0, 6.3)) for k in (2, 3, 4, 6))
        return np.stack([cx + a * r * np.cos(t), cy + b * r * np.sin(t)], 1)
    if family == "polygon":
        n = int(rng.integers(3, 9))
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 2 * np.pi)
        rr = rng.uniform(0.9, 1.1, n) * (1.25 if n == 3 else 1.0)
        pts = np.stack([cx + a * rr * np.cos(ang), cy + b * rr * np.sin(ang)], 1)
        for _ in range(int(rng.integers(0, 3))):  # Chaikin corner cutting rounds the corners
            nxt = np.roll(pts, -1, 0)
            pts = np.stack([0.75 * pts + 0.25 * nxt, 0.25 * pts + 0.75 * nxt], 1).reshape(-1, 2)
        return pts
    if family == "box":
        e = rng.uniform(4, 12)  # superellipse exponent: a rounded rectangle
        c, s = np.cos(t), np.sin(t)
        return np.stack([cx + a * np.sign(c) * np.abs(c) ** (2 / e), cy + b * np.sign(s) * np.abs(s) ** (2 / e)], 1)
    raise ValueError(family)


def _procedural(rng, style: Style, seed: int, char_id: str, render: dict, wide_mouth: float = 0.0,
                slit_eyes: bool = False) -> StyledCharacter:
    cx, cy = CANVAS / 2 + rng.uniform(-4, 4), 118 + rng.uniform(-6, 6)
    a = rng.uniform(44, 64)
    b = a * rng.uniform(0.75, 1.35)
    family = "round" if style.head == "muzzle" else style.head
    outline_pts = _head_outline(rng, family, cx, cy, a, b)
    base = _vivid(rng) if rng.random() < 0.5 else _random_color(rng)
    profile = rng.random() < 0.15
    side = float(rng.choice([-1.0, 1.0]))
    # Where the mouth sits, in head half-axes: low-centre mostly, anywhere sometimes.
    if style.head == "muzzle":
        snout = (cx + side * a * rng.uniform(0.0, 0.5) * (2.0 if profile else 1.0), cy + b * rng.uniform(0.3, 0.6),
                 a * rng.uniform(0.45, 0.7), b * rng.uniform(0.3, 0.45))
        mx, my = snout[0] + side * snout[2] * (0.5 if profile else 0.0), snout[1] + snout[3] * rng.uniform(0.1, 0.4)
    else:
        snout = None
        where = rng.random()
        if profile:
            mx, my = cx + side * a * rng.uniform(0.55, 0.75), cy + b * rng.uniform(0.2, 0.5)
        elif where < 0.6:
            mx, my = cx + a * rng.uniform(-0.15, 0.15), cy + b * rng.uniform(0.3, 0.6)
        elif where < 0.8:
            mx, my = cx + a * rng.uniform(-0.45, 0.45), cy + b * rng.uniform(-0.15, 0.65)
        else:
            mx, my = cx + a * rng.uniform(-0.3, 0.3), cy + b * rng.uniform(-0.35, 0.1)
    w = a * rng.uniform(0.18, 0.36)  # mouth width 0.2-0.4 face widths: it fits the working region
    if style.mouth == "beak":
        w = a * rng.uniform(0.25, 0.38)
    if wide_mouth:  # near the middle, or it would leave the head
        w = wide_mouth * 0.9 * a
        mx = cx + (mx - cx) * 0.25
    mouth, mouth_params = _mouth_style(rng, style.mouth, w, (60, 15, 25))
    # Eyes: none to many, kept away from the mouth.
    n_eyes = 1 if profile else int(rng.choice([0, 1, 2, 2, 2, 3, 4]))
    eye_kind = ["human", "anime", "dot", "led"][int(rng.integers(4))] if n_eyes else "none"
    eye_r = a * rng.uniform(0.08, 0.2)
    ey = my - b * rng.uniform(0.55, 0.8) if my > cy - b * 0.1 else my + b * rng.uniform(0.5, 0.7)
    spread = eye_r * rng.uniform(2.4, 3.4)
    ex0 = mx + (side * a * 0.2 if profile else 0.0)
    centers = tuple((float(ex0 + (k - (n_eyes - 1) / 2) * spread), float(ey)) for k in range(n_eyes))
    eyes = EyeStyle(eye_kind, centers, float(eye_r), _vivid(rng), _darker(base, 0.8))
    if slit_eyes and n_eyes:
        eyes = EyeStyle("slit", centers, float(eye_r) * 1.2, eyes.iris_color, eyes.lid_color)
    fill = ["flat", "gradient", "textured", "photo"][int(rng.choice(4, p=[0.3, 0.25, 0.25, 0.2]))]
    params = dict(render, outline_pts=outline_pts, base=base, other=_random_color(rng), fill=fill,
                  fill_seed=int(rng.integers(1 << 30)), line=(None if rng.random() < 0.35 else
                                                              (_darker(base, 0.35), float(rng.uniform(1.5, 4)))),
                  snout=snout, snout_color=_color(rng, base, 60) if rng.random() < 0.6 else (235, 225, 210),
                  ears=int(rng.choice([0, 0, 1, 2, 3])), horns=rng.random() < 0.2,
                  hair=_random_color(rng) if rng.random() < 0.35 else None, body=rng.random() < 0.6,
                  body_color=_random_color(rng), hat=rng.random() < 0.12, hat_color=_random_color(rng),
                  antenna=rng.random() < 0.12, cx=cx, cy=cy, a=a, b=b, mouth_params=mouth_params)
    return StyledCharacter(char_id, style, seed, (float(mx), float(my)), float(2 * a * 0.9), mouth, eyes, params)


# ----------------------------------------------------------------------------- textures

@lru_cache(maxsize=1)
def _photo_bank() -> tuple[np.ndarray, ...]:
    """Photo-like textures shipped inside installed packages (none reserved for evaluation):
    matplotlib's sample pictures, and its elevation and MRI sample data as shaded images."""
    try:
        import matplotlib
        from matplotlib import colormaps
    except ImportError:
        return ()
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    images = []
    for name in ("Minduka_Present_Blue_Pack.png", "logo2.png"):
        img = cv2.imread(str(sample / name), cv2.IMREAD_COLOR)
        if img is not None:
            images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    grids = []
    for name, key in (("jacksboro_fault_dem.npz", "elevation"), ("topobathy.npz", "topo")):
        try:
            with np.load(sample / name) as data:
                grids.append(np.asarray(data[key] if key in data else data[data.files[0]], np.float32))
        except (OSError, KeyError, ValueError):
            continue
    try:
        import gzip
        with gzip.open(sample / "s1045.ima.gz") as f:  # a 256x256 16-bit MRI slice
            grids.append(np.frombuffer(f.read(), np.uint16).astype(np.float32).reshape(256, 256))
    except (OSError, ValueError):
        pass
    for grid, cmap in zip(grids, ("terrain", "gist_earth", "bone")):
        t = (grid - grid.min()) / (np.ptp(grid) + 1e-6)
        images.append((colormaps[cmap](t)[..., :3] * 255).astype(np.uint8))
    return tuple(img for img in images if min(img.shape[:2]) >= 24)


def _fill_image(p: dict) -> np.ndarray:
    """(CANVAS, CANVAS, 3) float32: the head's fill before masking."""
    rng = np.random.default_rng(p["fill_seed"])
    base, other = np.float32(p["base"]), np.float32(p["other"])
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32) / CANVAS
    if p["fill"] == "gradient":
        ang = rng.uniform(0, 2 * np.pi)
        t = np.clip((np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5)) * rng.uniform(1.0, 2.5) + 0.5, 0, 1)
        return base * (1 - t[..., None]) + other * t[..., None]
    if p["fill"] == "textured":
        kind = int(rng.integers(4))
        if kind == 0:  # mottled noise
            noise = cv2.resize(rng.standard_normal((12, 12)).astype(np.float32), (CANVAS, CANVAS),
                               interpolation=cv2.INTER_CUBIC)
            t = np.clip(0.5 + 0.35 * noise, 0, 1)
        elif kind == 1:  # stripes
            ang, f = rng.uniform(0, np.pi), rng.uniform(6, 20)
            t = 0.5 + 0.5 * np.sin(2 * np.pi * f * (np.cos(ang) * xx + np.sin(ang) * yy))
        elif kind == 2:  # spots
            t = np.zeros((CANVAS, CANVAS), np.float32)
            for _ in range(int(rng.integers(8, 30))):
                cv2.circle(t, tuple(int(v) for v in rng.integers(0, CANVAS, 2)), int(rng.integers(3, 14)), 1.0, -1,
                           cv2.LINE_AA)
        else:  # checks / scales
            f = rng.uniform(8, 24)
            t = ((np.floor(xx * f) + np.floor(yy * f)) % 2).astype(np.float32)
        t = t * rng.uniform(0.3, 0.8)
        return base * (1 - t[..., None]) + other * t[..., None]
    if p["fill"] == "photo":
        bank = _photo_bank()
        if bank:
            img = bank[int(rng.integers(len(bank)))]
            h, w = img.shape[:2]
            side = int(min(h, w) * rng.uniform(0.4, 1.0))
            y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            patch = cv2.resize(img[y0:y0 + side, x0:x0 + side], (CANVAS, CANVAS), interpolation=cv2.INTER_LINEAR)
            mix = rng.uniform(0.0, 0.6)  # tint the photo towards the palette
            return patch.astype(np.float32) * (1 - mix) + base * mix
    return np.broadcast_to(base, (CANVAS, CANVAS, 3)).astype(np.float32)


# ----------------------------------------------------------------------------- drawing

def _mask_fill(img, alpha, pts, color_img) -> None:
    mask = np.zeros((CANVAS, CANVAS), np.uint8)
    _fill(mask, pts, (255,))
    m = mask.astype(np.float32)[..., None] / 255.0
    img[:] = np.clip(img * (1 - m) + color_img * m, 0, 255).astype(np.uint8)
    np.maximum(alpha, mask, out=alpha)


def _paint(img, alpha, pts, color) -> None:
    _fill(img, pts, color)
    _fill(alpha, pts, (255,))


def draw_procedural_static(ch: StyledCharacter) -> tuple[np.ndarray, np.ndarray]:
    p = ch.params
    img = np.zeros((CANVAS, CANVAS, 3), np.uint8)
    alpha = np.zeros((CANVAS, CANVAS), np.uint8)
    cx, cy, a, b = p["cx"], p["cy"], p["a"], p["b"]
    if p["body"]:
        _paint(img, alpha, _ellipse_pts(cx, cy + b + 60, a * 1.5, 70), p["body_color"])
    for k in range(p["ears"]):
        sx = -1 if k % 2 == 0 else 1
        if p["ears"] == 1:
            ear = _ellipse_pts(cx + sx * a * 0.9, cy - b * 0.1, a * 0.22, b * 0.3)
        elif k < 2:
            ear = np.array([[cx + sx * a * 0.85, cy - b * 0.3], [cx + sx * a * 0.8, cy - b * 1.3],
                            [cx + sx * a * 0.2, cy - b * 0.85]])
        else:
            ear = _ellipse_pts(cx + sx * a * 0.7, cy - b * 0.8, a * 0.3, a * 0.3)
        _paint(img, alpha, ear, _darker(p["base"], 0.8))
    if p["horns"]:
        for sx in (-1, 1):
            _paint(img, alpha, np.array([[cx + sx * a * 0.3, cy - b * 0.8], [cx + sx * a * 0.7, cy - b * 1.5],
                                         [cx + sx * a * 0.6, cy - b * 0.65]]), (235, 225, 200))
    if p["antenna"]:
        _line(img, np.array([[cx, cy - b], [cx, cy - b - 22]]), (60, 60, 60), 3)
        cv2.line(alpha, (int(cx), int(cy - b)), (int(cx), int(cy - b - 22)), 255, 3)
        _paint(img, alpha, _ellipse_pts(cx, cy - b - 24, 5, 5), _vivid(np.random.default_rng(p["fill_seed"])))
    _mask_fill(img, alpha, p["outline_pts"], _fill_image(p))
    if p["snout"] is not None:
        sx, sy, sa, sb = p["snout"]
        _paint(img, alpha, _ellipse_pts(sx, sy, sa, sb), p["snout_color"])
        _fill(img, _ellipse_pts(sx, sy - sb * 0.5, sa * 0.22, sb * 0.18), (40, 30, 30))
    if p["hair"] is not None:
        top = _ellipse_pts(cx, cy - b * 0.55, a * 1.02, b * 0.55, n=30, a0=np.pi, a1=2 * np.pi)
        _paint(img, alpha, np.concatenate([top, [[cx + a * 0.9, cy - b * 0.45], [cx - a * 0.9, cy - b * 0.45]]]),
               p["hair"])
    if p["hat"]:
        _paint(img, alpha, np.array([[cx - a * 0.9, cy - b * 0.8], [cx + a * 0.9, cy - b * 0.8],
                                     [cx + a * 0.9, cy - b * 0.95], [cx - a * 0.9, cy - b * 0.95]]), p["hat_color"])
        _paint(img, alpha, np.array([[cx - a * 0.5, cy - b * 0.9], [cx + a * 0.5, cy - b * 0.9],
                                     [cx + a * 0.45, cy - b * 1.6], [cx - a * 0.45, cy - b * 1.6]]), p["hat_color"])
    if p["line"] is not None:
        _line(img, p["outline_pts"], p["line"][0], p["line"][1], closed=True)
    return img, alpha


def draw_styled_mouth(img: np.ndarray, ch: StyledCharacter, shape: np.ndarray, dx: float = 0.0) -> None:
    kind = ch.params["mouth_params"]["type"]
    if kind in ("lips", "line", "grille", "fangs") or (ch.style.head == "classic" and ch.mouth is
                                                       ch.params["classic"].mouth):
        draw_mouth(img, ch, shape, dx)
    else:
        _draw_special_mouth(img, ch, kind, shape, dx)


def _draw_special_mouth(img, ch: StyledCharacter, kind: str, shape, dx: float) -> None:
    st, mp = ch.mouth, ch.params["mouth_params"]
    opening, width, rounding = float(shape[0]), float(shape[1]), float(shape[2])
    w = st.half_width * (1 + 0.5 * (width - 0.5)) * (1 - 0.35 * rounding)
    h = st.max_open * opening
    c, s = np.cos(np.radians(st.tilt_deg)), np.sin(np.radians(st.tilt_deg))
    mx, my = ch.mouth_xy[0] + dx, ch.mouth_xy[1]

    def place(xs, ys):
        xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
        return np.stack([mx + c * xs - s * ys, my + s * xs + c * ys], 1)

    if kind == "oval":  # a hole that grows with the opening; a short dash when closed
        ax = w * (0.55 + 0.45 * (1 - rounding))
        ay = max(1.2, 0.5 * h + 1.0)
        _fill(img, place(*_ellipse_pts(0, 0.2 * h, ax, ay).T), st.interior_color)
        if h > 3 and float(shape[4]) > 0.05:
            _fill(img, place(*_ellipse_pts(0, 0.2 * h + ay * 0.5, ax * 0.6, ay * 0.4).T), st.tongue_color)
        if st.outline_color is not None:
            _line(img, place(*_ellipse_pts(0, 0.2 * h, ax, ay).T), st.outline_color, 1.5, closed=True)
    elif kind == "beak":  # upper and lower mandible hinged at the back, the lower one swings down
        f = mp["facing"]
        length, depth = 1.8 * st.half_width, 0.35 * st.half_width
        angle = np.radians(35.0 * opening)
        hinge = np.array([-f * length * 0.45, 0.0])
        upper = np.array([hinge + [0, -depth], hinge + [f * length, 0.0], hinge + [0, 0.15 * depth]])
        lower0 = np.array([[0, 0.15 * depth], [f * length * 0.85, 0.0], [0, depth]])
        rot = np.array([[np.cos(angle), -f * np.sin(angle)], [f * np.sin(angle), np.cos(angle)]])
        lower = hinge + (lower0 @ rot.T)
        gap = np.array([upper[2], upper[1], lower[1], lower[0]])
        _fill(img, place(*gap.T), st.interior_color)
        _fill(img, place(*lower.T), _darker(st.lip_color, 0.85))
        _fill(img, place(*upper.T), st.lip_color)
        if st.outline_color is not None:
            _line(img, place(*upper.T), st.outline_color, 1.5, closed=True)
            _line(img, place(*lower.T), st.outline_color, 1.5, closed=True)
    elif kind == "jaw":  # a plate under a slot: the plate drops with the opening
        slot_h = 0.25 * st.max_open
        _fill(img, place([-w, w, w, -w], [-slot_h, -slot_h, 0, 0]), _darker(st.lip_color, 0.6))
        if h > 0.6:
            _fill(img, place([-w * 0.9, w * 0.9, w * 0.9, -w * 0.9], [0, 0, h, h]), st.interior_color)
            if mp["bars"] and float(shape[3]) > 0.05:
                for k in range(-3, 4):
                    _line(img, place([k * w / 4, k * w / 4], [0, 0.4 * h]), st.teeth_color, 1.5)
        plate = place([-w, w, w * 0.85, -w * 0.85], [h, h, h + 0.6 * st.max_open, h + 0.6 * st.max_open])
        _fill(img, plate, st.lip_color)
        if st.outline_color is not None:
            _line(img, plate, st.outline_color, 1.5, closed=True)
    elif kind == "stitched":  # a seam that spreads into a lens, stitches stretched across it
        xs = np.linspace(-w, w, 24)
        env = np.sqrt(np.clip(1 - (xs / w) ** 2, 0, 1))
        up, down = -0.35 * h * env, 0.65 * h * env
        if h > 0.8:
            _fill(img, place(np.concatenate([xs, xs[::-1]]), np.concatenate([up, down[::-1]])), st.interior_color)
        seam = st.outline_color or _darker(st.lip_color, 0.4)
        _line(img, place(xs, up), seam, mp["thickness"])
        _line(img, place(xs, down), seam, mp["thickness"])
        for k in range(mp["stitches"]):
            x = -w + (k + 0.5) * 2 * w / mp["stitches"]
            e = np.sqrt(max(0.0, 1 - (x / w) ** 2))
            _line(img, place([x - 1.5, x + 1.5], [-0.35 * h * e - 3, 0.65 * h * e + 3]), st.lip_color,
                  max(1.0, mp["thickness"] * 0.7))
    else:
        raise ValueError(kind)


class StyledSprite:
    """A corpus-v2 character with its static canvas drawn once; `render.Sprite`'s interface."""

    def __init__(self, character: StyledCharacter) -> None:
        self.character = character
        p = character.params
        classic = p.get("classic")
        self.rgb, self.alpha = draw_static(classic) if classic is not None else draw_procedural_static(character)
        self.eyes_of = classic if classic is not None else character
        self.texture = painted_texture(p["texture_seed"]) if p["render"] == "painterly" else None

    def canvas(self, mouth_shape: np.ndarray, blink: float, yaw: float) -> tuple[np.ndarray, np.ndarray]:
        ch, p = self.character, self.character.params
        dx = yaw * YAW_SHIFT * ch.face_width
        img = self.rgb.copy()
        draw_eyes(img, self.eyes_of, blink, dx)
        draw_styled_mouth(img, ch, mouth_shape, dx)
        if self.texture is not None:
            img = np.clip(img * self.texture, 0, 255).astype(np.uint8)
            img = cv2.GaussianBlur(img, (0, 0), p["blur"])
        elif p["render"] == "lineart":
            img = _line_art(img, self.alpha, p)
        return img, self.alpha

    def anchor(self, yaw: float) -> np.ndarray:
        ch = self.character
        return np.array([ch.mouth_xy[0] + yaw * YAW_SHIFT * ch.face_width, ch.mouth_xy[1]])


YAW_SHIFT = 0.12  # as render.YAW_SHIFT: features slide this many face widths at full yaw


def _line_art(img: np.ndarray, alpha: np.ndarray, p: dict) -> np.ndarray:
    """Ink lines where colours change, on paper lightly tinted by the original colours."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, 20, 60) | cv2.Canny(alpha, 50, 150)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    paper = np.float32(p["paper"])
    out = paper * (1 - p["tint"]) + img.astype(np.float32) * p["tint"]
    out[edges > 0] = p["ink"]
    return out.astype(np.uint8)


def _posterise(image: np.ndarray, levels: int) -> np.ndarray:
    """`levels` grey levels per channel, each the middle of its band."""
    step = 256 // levels
    band = np.minimum(image.astype(np.int16) // step, levels - 1)
    return (band * step + step // 2).astype(np.uint8)


def frame_effect(image: np.ndarray, params: dict, frame_seed: int) -> np.ndarray:
    """The frame-level part of a rendering style, applied after compositing (uint8 RGB in and out)."""
    render = params["render"]
    if render == "posterised":
        return _posterise(image, params["levels"])
    if render == "pixel":
        h, w = image.shape[:2]
        f = max(2, int(round(params["pixel"] * max(h, w) / 4)))  # pixel size in frame px
        small = cv2.resize(image, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
        return cv2.resize(_posterise(small, params["levels"]), (w, h), interpolation=cv2.INTER_NEAREST)
    if render == "grain":
        rng = np.random.default_rng(frame_seed)
        luma = rng.standard_normal(image.shape[:2] + (1,), dtype=np.float32)
        chroma = rng.standard_normal(image.shape, dtype=np.float32) * params["chroma"]
        return np.clip(image + params["grain"] * (luma + chroma), 0, 255).astype(np.uint8)
    if render == "compressed":
        ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, params["quality"]])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return image
