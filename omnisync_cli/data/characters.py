"""Talking characters for the synthetic corpus: three categories, identities drawn from a seed.

A character is drawn on a square canonical canvas (`CANVAS` px, RGBA) in two parts: a
static part (head, hair, ears, nose, body shapes) drawn once per identity, and the moving
parts (eyes with blinks, the mouth) drawn per frame. `render.py` warps the canvas into
the frame with the head pose. Every character knows its mouth anchor (the centre of the
closed mouth) and its face width on the canvas; the working-region rule
(`face.region.RegionBox.around_mouth`) uses both.

Categories and kinds:
    human:     drawn faces with skin tones, hair styles, eyes, nose, lips, beards, glasses
    stylized:  flat (outlined, solid colours), painted (textured, soft), anime (big eyes)
    nonhuman:  animal (muzzle mouth below a snout), robot (LED-grille mouth, some without
               eyes), creature (blob with 0-3 eyes and the mouth off-centre or high up)
No installed package ships real face photographs, so there is no photo kind.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

CANVAS = 256          # canonical canvas side, px
_SHIFT = 4            # cv2 sub-pixel bits for polygon drawing
_ONE = 1 << _SHIFT

CATEGORIES = ("human", "stylized", "nonhuman")
KINDS = {"human": ("drawn",), "stylized": ("flat", "painted", "anime"),
         "nonhuman": ("animal", "robot", "creature")}

SKIN_TONES = [(255, 224, 196), (244, 200, 170), (234, 186, 146), (214, 160, 112),
              (190, 130, 90), (160, 102, 66), (120, 76, 48), (88, 56, 38)]
HAIR_COLORS = [(20, 18, 18), (60, 40, 28), (105, 70, 40), (200, 160, 90), (150, 60, 30),
               (150, 150, 150), (235, 230, 220)]
FANTASY_HAIR = [(60, 90, 220), (230, 90, 160), (60, 180, 120), (250, 200, 60), (140, 80, 200),
                (240, 240, 250)]


@dataclass(frozen=True)
class MouthStyle:
    """How a character's mouth looks; sizes in canvas px."""

    half_width: float                # at rest
    max_open: float                  # interior height at opening 1
    lip_color: tuple | None          # None: no lips (outline or seam only)
    lip_thickness: float
    outline_color: tuple | None      # drawn around the lips/interior (cartoon styles)
    interior_color: tuple
    teeth_color: tuple
    teeth_style: str                 # "band" | "fangs" | "bars"
    tongue_color: tuple
    squareness: float = 0.0          # 0 round contour .. 1 rectangular (robot grille)
    tilt_deg: float = 0.0            # mouth rotated on the face (creatures)


@dataclass(frozen=True)
class EyeStyle:
    kind: str                        # "human" | "anime" | "dot" | "led" | "slit" | "none"
    centers: tuple                   # ((x, y), ...) canvas px
    radius: float
    iris_color: tuple
    lid_color: tuple


@dataclass(frozen=True)
class Character:
    """One identity. `mouth_xy` and `face_width` are in canvas px (see module doc)."""

    char_id: str
    category: str
    kind: str
    seed: int
    mouth_xy: tuple[float, float]
    face_width: float
    mouth: MouthStyle
    eyes: EyeStyle
    params: dict = field(compare=False, repr=False)  # kind-specific drawing parameters


def _pts(xy: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(xy) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(img, xy, color) -> None:
    cv2.fillPoly(img, [_pts(xy)], tuple(int(c) for c in color), cv2.LINE_AA, _SHIFT)


def _line(img, xy, color, thickness, closed=False) -> None:
    cv2.polylines(img, [_pts(xy)], closed, tuple(int(c) for c in color), max(1, int(round(thickness))),
                  cv2.LINE_AA, _SHIFT)


def _ellipse_pts(cx, cy, ax, ay, angle=0.0, n=48, a0=0.0, a1=2 * np.pi) -> np.ndarray:
    t = np.linspace(a0, a1, n)
    x, y = ax * np.cos(t), ay * np.sin(t)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _disc(img, cx, cy, ax, ay, color) -> None:
    """Filled axis-aligned ellipse, sub-pixel, in C (the per-frame eyes use this)."""
    if ax > 0 and ay > 0:
        cv2.ellipse(img, (int(round(cx * _ONE)), int(round(cy * _ONE))), (int(round(ax * _ONE)), int(round(ay * _ONE))),
                    0, 0, 360, tuple(int(c) for c in color), -1, cv2.LINE_AA, _SHIFT)


def _color(rng, base, spread=20) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def _darker(color, f=0.7) -> tuple:
    return tuple(int(c * f) for c in color)


# ----------------------------------------------------------------------------- sampling

def make_character(category: str, index: int, seed: int, prefix: str = "c") -> Character:
    """Draw identity `index` of `category` from `seed` (same arguments, same character)."""
    rng = np.random.default_rng([seed, CATEGORIES.index(category), index, 7])
    kind = KINDS[category][int(rng.integers(len(KINDS[category])))]
    char_id = f"{prefix}-{category}-{index:04d}"
    return _MAKERS[kind](rng, char_id, category, kind, seed)


def _make_face(rng, char_id, category, kind, seed) -> Character:
    """Human-like faces: drawn, flat, painted and anime share one face layout."""
    anime = kind == "anime"
    cx, cy = CANVAS / 2 + rng.uniform(-3, 3), 118 + rng.uniform(-4, 4)
    a = rng.uniform(50, 60)
    b = a * (rng.uniform(1.15, 1.3) if not anime else rng.uniform(1.1, 1.2))
    skin = _color(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 10)
    if kind in ("flat", "anime") and rng.random() < 0.3:
        skin = _color(rng, [(250, 230, 215), (180, 220, 250), (200, 240, 200), (255, 210, 225)]
                      [int(rng.integers(4))], 10)
    hair_pool = FANTASY_HAIR if (anime or (kind == "flat" and rng.random() < 0.5)) else HAIR_COLORS
    hair = _color(rng, hair_pool[int(rng.integers(len(hair_pool)))], 15)
    mouth_y = cy + b * rng.uniform(0.52, 0.6)
    w = a * (rng.uniform(0.3, 0.4) if not anime else rng.uniform(0.2, 0.28))
    lips = _color(rng, (int(skin[0] * 0.8 + 40), int(skin[1] * 0.55), int(skin[2] * 0.6)), 12)
    outline = (25, 20, 20) if kind in ("flat", "anime") else None
    mouth = MouthStyle(
        half_width=w, max_open=w * rng.uniform(0.9, 1.2),
        lip_color=None if anime else lips, lip_thickness=w * rng.uniform(0.18, 0.3),
        outline_color=outline, interior_color=_color(rng, (70, 20, 25), 15),
        teeth_color=_color(rng, (245, 242, 235), 8), teeth_style="band",
        tongue_color=_color(rng, (205, 90, 100), 15))
    eye_y = cy - b * rng.uniform(0.0, 0.1)
    eye_dx = a * rng.uniform(0.38, 0.46)
    eye_r = a * (rng.uniform(0.11, 0.15) if not anime else rng.uniform(0.2, 0.26))
    iris = [(70, 110, 160), (90, 60, 30), (60, 120, 70), (40, 30, 25), (120, 90, 180),
            (200, 60, 80)][int(rng.integers(6))]
    eyes = EyeStyle("anime" if anime else "human", ((cx - eye_dx, eye_y), (cx + eye_dx, eye_y)),
                    eye_r, iris, _darker(skin, 0.85))
    params = dict(cx=cx, cy=cy, a=a, b=b, skin=skin, hair=hair,
                  hair_style=int(rng.choice(5, p=[0.3, 0.2, 0.2, 0.2, 0.1])), neck=_darker(skin, 0.85),
                  shirt=_color(rng, tuple(int(v) for v in rng.integers(30, 230, 3)), 0),
                  beard=(kind == "drawn" and rng.random() < 0.2),
                  glasses=(kind != "anime" and rng.random() < 0.2),
                  brow=_darker(hair, 0.8), nose=int(rng.integers(3)), blush=anime or rng.random() < 0.2,
                  texture_seed=int(rng.integers(1 << 30)))
    return Character(char_id, category, kind, seed, (float(cx), float(mouth_y)), float(2 * a),
                     mouth, eyes, params)


def _make_animal(rng, char_id, category, kind, seed) -> Character:
    cx, cy = CANVAS / 2 + rng.uniform(-3, 3), 120 + rng.uniform(-4, 4)
    r = rng.uniform(54, 64)
    fur = _color(rng, [(200, 130, 60), (120, 90, 60), (230, 230, 225), (90, 90, 95), (240, 180, 90),
                       (60, 45, 35)][int(rng.integers(6))], 15)
    muzzle = _color(rng, (235, 225, 210), 15) if rng.random() < 0.7 else _darker(fur, 1.15)
    ears = int(rng.integers(3))  # pointy (cat/fox), round (bear), floppy (dog)
    # The muzzle (and the mouth in it) sits low and can lean to one side of the head.
    side = rng.uniform(-0.25, 0.25) * r
    mcx, mcy = cx + side, cy + r * rng.uniform(0.35, 0.5)
    mouth_y = mcy + r * 0.22
    w = r * rng.uniform(0.24, 0.32)
    mouth = MouthStyle(half_width=w, max_open=w * rng.uniform(1.0, 1.4),
                       lip_color=_darker(fur, 0.45), lip_thickness=w * 0.12,
                       outline_color=None, interior_color=_color(rng, (110, 30, 40), 15),
                       teeth_color=(248, 248, 240), teeth_style="fangs",
                       tongue_color=_color(rng, (230, 110, 130), 15), tilt_deg=rng.uniform(-8, 8))
    eye_dx = r * rng.uniform(0.35, 0.45)
    eyes = EyeStyle("dot", ((cx - eye_dx, cy - r * 0.15), (cx + eye_dx, cy - r * 0.15)),
                    r * rng.uniform(0.08, 0.12), (30, 25, 20), _darker(fur, 0.8))
    params = dict(cx=cx, cy=cy, r=r, fur=fur, muzzle=muzzle, mcx=mcx, mcy=mcy, ears=ears,
                  nose=_color(rng, (40, 30, 30), 10), spots=rng.random() < 0.4,
                  texture_seed=int(rng.integers(1 << 30)))
    return Character(char_id, category, kind, seed, (float(mcx), float(mouth_y)),
                     float(2 * r * 0.9), mouth, eyes, params)


def _make_robot(rng, char_id, category, kind, seed) -> Character:
    cx, cy = CANVAS / 2 + rng.uniform(-3, 3), 118 + rng.uniform(-4, 4)
    hw, hh = rng.uniform(50, 62), rng.uniform(52, 70)
    metal = _color(rng, [(170, 175, 185), (90, 100, 120), (200, 160, 60), (60, 120, 170),
                         (180, 60, 50), (235, 235, 235)][int(rng.integers(6))], 15)
    led = [(80, 240, 255), (90, 255, 120), (255, 80, 60), (255, 200, 60), (200, 120, 255)][int(rng.integers(5))]
    mouth_dx = rng.uniform(-0.3, 0.3) * hw if rng.random() < 0.4 else 0.0
    mouth_y = cy + hh * rng.uniform(0.35, 0.6)
    w = hw * rng.uniform(0.35, 0.5)
    mouth = MouthStyle(half_width=w, max_open=w * rng.uniform(0.6, 0.9), lip_color=(30, 32, 38),
                       lip_thickness=w * 0.15, outline_color=None, interior_color=_darker(led, 0.35),
                       teeth_color=led, teeth_style="bars", tongue_color=_darker(led, 0.7),
                       squareness=rng.uniform(0.7, 1.0))
    eye_kind = ["led", "led", "none"][int(rng.integers(3))]  # a third have no eyes at all
    eye_dx = hw * rng.uniform(0.35, 0.5)
    eyes = EyeStyle(eye_kind, ((cx - eye_dx, cy - hh * 0.25), (cx + eye_dx, cy - hh * 0.25)),
                    hw * rng.uniform(0.1, 0.16), led, _darker(metal, 0.6))
    params = dict(cx=cx, cy=cy, hw=hw, hh=hh, metal=metal, led=led, visor=eye_kind == "none",
                  antenna=rng.random() < 0.6, bolts=rng.random() < 0.5, radius=rng.uniform(4, 22),
                  texture_seed=int(rng.integers(1 << 30)))
    return Character(char_id, category, kind, seed, (float(cx + mouth_dx), float(mouth_y)),
                     float(2 * hw), mouth, eyes, params)


def _make_creature(rng, char_id, category, kind, seed) -> Character:
    cx, cy = CANVAS / 2 + rng.uniform(-4, 4), 122 + rng.uniform(-4, 4)
    r = rng.uniform(55, 68)
    n = 40
    # A blob: radius modulated by a few random harmonics.
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = r * (1 + sum(rng.uniform(-0.08, 0.08) * np.cos(k * theta + rng.uniform(0, 6.3))
                          for k in (2, 3, 5)))
    body = _color(rng, [(120, 200, 90), (170, 90, 200), (90, 160, 220), (240, 140, 60), (230, 80, 110),
                        (80, 200, 190)][int(rng.integers(6))], 20)
    # The mouth is anywhere but where a human's is: high, to a side, or big in the middle.
    place = int(rng.integers(3))
    mx, my = [(cx + rng.uniform(-0.15, 0.15) * r, cy - r * rng.uniform(0.1, 0.3)),
              (cx + r * rng.choice([-1, 1]) * rng.uniform(0.3, 0.45), cy + r * rng.uniform(0.0, 0.3)),
              (cx, cy + r * rng.uniform(0.05, 0.2))][place]
    w = r * rng.uniform(0.28, 0.4)
    mouth = MouthStyle(half_width=w, max_open=w * rng.uniform(1.0, 1.5),
                       lip_color=_darker(body, 0.6), lip_thickness=w * rng.uniform(0.1, 0.25),
                       outline_color=(20, 20, 20) if rng.random() < 0.5 else None,
                       interior_color=_color(rng, (50, 10, 30), 15), teeth_color=(250, 250, 230),
                       teeth_style="fangs" if rng.random() < 0.6 else "band",
                       tongue_color=_color(rng, (240, 90, 140), 20), tilt_deg=rng.uniform(-20, 20))
    n_eyes = int(rng.choice([0, 1, 1, 2, 3]))
    eye_r = r * rng.uniform(0.1, 0.2)
    # Eyes in a row away from the mouth: above it, or below it when the mouth sits high.
    ey = cy - r * 0.45 if place != 0 else cy + r * 0.35
    centers = [(cx + (k - (n_eyes - 1) / 2) * eye_r * 2.6, ey) for k in range(n_eyes)]
    eyes = EyeStyle("human" if n_eyes else "none", tuple(centers), eye_r,
                    _color(rng, (230, 200, 40), 30), _darker(body, 0.75))
    params = dict(cx=cx, cy=cy, r=r, radius=radius, theta=theta, body=body,
                  belly=_color(rng, (240, 230, 200), 20) if rng.random() < 0.5 else None,
                  horns=rng.random() < 0.4, texture_seed=int(rng.integers(1 << 30)))
    return Character(char_id, category, kind, seed, (float(mx), float(my)), float(2 * r * 0.9),
                     mouth, eyes, params)


_MAKERS = {"drawn": _make_face, "flat": _make_face, "painted": _make_face, "anime": _make_face,
           "animal": _make_animal, "robot": _make_robot, "creature": _make_creature}


# ----------------------------------------------------------------------------- drawing

def draw_static(ch: Character) -> tuple[np.ndarray, np.ndarray]:
    """The parts that never move on the canvas: (CANVAS, CANVAS, 3) uint8 RGB and uint8 alpha."""
    img = np.zeros((CANVAS, CANVAS, 3), np.uint8)
    alpha = np.zeros((CANVAS, CANVAS), np.uint8)
    _STATIC[ch.kind](ch, img, alpha)
    return img, alpha


def _paint(img, alpha, xy, color) -> None:
    _fill(img, xy, color)
    _fill(alpha, xy, (255,))


def _static_face(ch, img, alpha) -> None:
    p = ch.params
    cx, cy, a, b = p["cx"], p["cy"], p["a"], p["b"]
    outline = ch.kind in ("flat", "anime")
    ol = (25, 20, 20)
    hair, style = p["hair"], p["hair_style"]
    if style in (1, 3):  # long hair behind the head, falling to the shoulders at the sides
        back = np.concatenate([_ellipse_pts(cx, cy - b * 0.1, a * 1.2, b * 1.0, n=30, a0=np.pi, a1=2 * np.pi),
                               [[cx + a * 1.25, cy + b * 1.1], [cx - a * 1.25, cy + b * 1.1]]])
        _paint(img, alpha, back, _darker(hair, 0.9))
    # shoulders and neck, in front of the hair
    _paint(img, alpha, _ellipse_pts(cx, cy + b + 70, a * 2.0, 60), p["shirt"])
    _paint(img, alpha, np.array([[cx - a * 0.45, cy + b * 0.6], [cx + a * 0.45, cy + b * 0.6],
                                 [cx + a * 0.5, cy + b + 25], [cx - a * 0.5, cy + b + 25]]), p["neck"])
    # ears
    for sx in (-1, 1):
        _paint(img, alpha, _ellipse_pts(cx + sx * a * 0.98, cy + b * 0.05, a * 0.16, b * 0.2), _darker(p["skin"], 0.92))
    if ch.kind == "anime":  # pointed chin
        t = np.linspace(np.pi, 2 * np.pi, 30)
        top = np.stack([cx + a * np.cos(t), cy + b * 0.2 * np.sin(t) - b * 0.2], 1)
        face = np.concatenate([top, [[cx + a, cy + b * 0.2], [cx + a * 0.45, cy + b * 0.85], [cx, cy + b],
                                     [cx - a * 0.45, cy + b * 0.85], [cx - a, cy + b * 0.2]]])
        face = np.concatenate([_ellipse_pts(cx, cy - b * 0.1, a, b * 0.9, n=40, a0=np.pi, a1=2 * np.pi),
                               face[31:]])
    else:
        face = _ellipse_pts(cx, cy, a, b, n=64)
    _paint(img, alpha, face, p["skin"])
    if outline:
        _line(img, face, ol, 2.5, closed=True)
    if p["blush"]:
        for sx in (-1, 1):
            c = tuple(int(0.75 * s + 0.25 * t) for s, t in zip(p["skin"], (240, 110, 120)))
            _fill(img, _ellipse_pts(cx + sx * a * 0.55, cy + b * 0.3, a * 0.16, a * 0.08), c)
    # hair on top
    if style != 4:  # 4: bald
        top = _ellipse_pts(cx, cy - b * 0.35, a * 1.08, b * 0.75, n=40, a0=np.pi, a1=2 * np.pi)
        fringe_y = cy - b * (0.45 if style != 2 else 0.25)
        xs = np.linspace(cx + a * 1.05, cx - a * 1.05, 9)
        ys = fringe_y + (np.arange(9) % 2) * (b * 0.12 if ch.kind == "anime" else b * 0.04)
        hair_poly = np.concatenate([top, np.stack([xs, ys], 1)])
        _paint(img, alpha, hair_poly, hair)
        if outline:
            _line(img, hair_poly, ol, 2, closed=True)
    else:
        _fill(img, _ellipse_pts(cx - a * 0.3, cy - b * 0.6, a * 0.25, b * 0.12), tuple(min(255, c + 25) for c in p["skin"]))
    # brows
    ey = ch.eyes.centers[0][1]
    for ex, _ in ch.eyes.centers:
        bx = np.array([ex - ch.eyes.radius * 1.4, ex, ex + ch.eyes.radius * 1.4])
        by = ey - ch.eyes.radius * (2.0 if ch.kind == "anime" else 1.9) - np.array([0, ch.eyes.radius * 0.4, 0])
        _line(img, np.stack([bx, by], 1), p["brow"], 3 if ch.kind != "anime" else 2)
    # nose
    ny = cy + b * 0.3
    if ch.kind == "anime":
        _line(img, np.array([[cx, ny - 3], [cx + 2, ny]]), _darker(p["skin"], 0.6), 1.5)
    elif p["nose"] == 0:
        _line(img, np.array([[cx + 2, cy], [cx + 6, ny], [cx - 4, ny + 2]]), _darker(p["skin"], 0.7), 2)
    else:
        _fill(img, _ellipse_pts(cx, ny, a * 0.14, a * 0.09), _darker(p["skin"], 0.88))
        for sx in (-1, 1):
            _fill(img, _ellipse_pts(cx + sx * a * 0.07, ny + 2, 2.2, 1.4), _darker(p["skin"], 0.5))
    if p["beard"]:
        mx, my = ch.mouth_xy
        beard = np.concatenate([_ellipse_pts(cx, cy, a, b, n=40, a0=0.15 * np.pi, a1=0.85 * np.pi),
                                _ellipse_pts(mx, my, ch.mouth.half_width * 1.5, ch.mouth.half_width, n=20,
                                             a0=np.pi, a1=0)])
        _fill(img, beard, _darker(hair, 0.95))
    if p["glasses"]:
        for ex, eyy in ch.eyes.centers:
            _line(img, _ellipse_pts(ex, eyy, ch.eyes.radius * 2.2, ch.eyes.radius * 1.7), (30, 30, 30), 2, True)
        (x0, y0), (x1, _) = ch.eyes.centers
        _line(img, np.array([[x0 + ch.eyes.radius * 2.2, y0], [x1 - ch.eyes.radius * 2.2, y0]]), (30, 30, 30), 2)


def _static_animal(ch, img, alpha) -> None:
    p = ch.params
    cx, cy, r, fur = p["cx"], p["cy"], p["r"], p["fur"]
    _paint(img, alpha, _ellipse_pts(cx, cy + r + 60, r * 1.6, 70), _darker(fur, 0.85))
    for sx in (-1, 1):
        if p["ears"] == 0:
            ear = np.array([[cx + sx * r * 0.85, cy - r * 0.35], [cx + sx * r * 0.75, cy - r * 1.35],
                            [cx + sx * r * 0.2, cy - r * 0.8]])
        elif p["ears"] == 1:
            ear = _ellipse_pts(cx + sx * r * 0.7, cy - r * 0.75, r * 0.3, r * 0.3)
        else:
            ear = _ellipse_pts(cx + sx * r * 1.0, cy + r * 0.05, r * 0.22, r * 0.55, angle=sx * 15)
        _paint(img, alpha, ear, _darker(fur, 0.8))
    _paint(img, alpha, _ellipse_pts(cx, cy, r, r * 0.95), fur)
    if p["spots"]:
        rng = np.random.default_rng(p["texture_seed"])
        for _ in range(4):
            ang, d = rng.uniform(0, 6.3), rng.uniform(0.3, 0.75) * r
            _fill(img, _ellipse_pts(cx + np.cos(ang) * d, cy + np.sin(ang) * d * 0.6 - r * 0.2,
                                    r * 0.15, r * 0.11), _darker(fur, 0.7))
    _fill(img, _ellipse_pts(p["mcx"], p["mcy"] + r * 0.08, r * 0.46, r * 0.36), p["muzzle"])
    _fill(img, np.array([[p["mcx"] - r * 0.12, p["mcy"] - r * 0.08], [p["mcx"] + r * 0.12, p["mcy"] - r * 0.08],
                         [p["mcx"], p["mcy"] + r * 0.05]]), p["nose"])
    _line(img, np.array([[p["mcx"], p["mcy"] + r * 0.05], ch.mouth_xy]), p["nose"], 2)


def _static_robot(ch, img, alpha) -> None:
    p = ch.params
    cx, cy, hw, hh, metal = p["cx"], p["cy"], p["hw"], p["hh"], p["metal"]
    _paint(img, alpha, np.array([[cx - hw * 1.6, CANVAS], [cx - hw * 1.3, cy + hh + 20],
                                 [cx + hw * 1.3, cy + hh + 20], [cx + hw * 1.6, CANVAS]]), _darker(metal, 0.75))
    _paint(img, alpha, np.array([[cx - hw * 0.3, cy + hh - 5], [cx + hw * 0.3, cy + hh - 5],
                                 [cx + hw * 0.3, cy + hh + 25], [cx - hw * 0.3, cy + hh + 25]]), _darker(metal, 0.5))
    if p["antenna"]:
        _line(img, np.array([[cx, cy - hh], [cx, cy - hh - 25]]), _darker(metal, 0.5), 3)
        cv2.line(alpha, (int(cx), int(cy - hh)), (int(cx), int(cy - hh - 25)), 255, 3)
        _paint(img, alpha, _ellipse_pts(cx, cy - hh - 27, 5, 5), p["led"])
    x0, y0, x1, y1, rad = cx - hw, cy - hh, cx + hw, cy + hh, p["radius"]
    box = np.concatenate([_ellipse_pts(x1 - rad, y0 + rad, rad, rad, n=8, a0=-np.pi / 2, a1=0),
                          _ellipse_pts(x1 - rad, y1 - rad, rad, rad, n=8, a0=0, a1=np.pi / 2),
                          _ellipse_pts(x0 + rad, y1 - rad, rad, rad, n=8, a0=np.pi / 2, a1=np.pi),
                          _ellipse_pts(x0 + rad, y0 + rad, rad, rad, n=8, a0=np.pi, a1=1.5 * np.pi)])
    _paint(img, alpha, box, metal)
    # a shading band makes the head read as a volume
    _fill(img, np.array([[x0 + 4, y0 + hh * 0.1], [x0 + 10, y0 + hh * 0.1], [x0 + 10, y1 - hh * 0.1],
                         [x0 + 4, y1 - hh * 0.1]]), tuple(min(255, c + 40) for c in metal))
    _line(img, box, _darker(metal, 0.5), 2, closed=True)
    if p["visor"]:
        _fill(img, np.array([[x0 + 8, cy - hh * 0.45], [x1 - 8, cy - hh * 0.45], [x1 - 8, cy - hh * 0.1],
                             [x0 + 8, cy - hh * 0.1]]), (25, 28, 35))
    if p["bolts"]:
        for sx in (-1, 1):
            for sy in (-1, 1):
                _fill(img, _ellipse_pts(cx + sx * (hw - 9), cy + sy * (hh - 9), 3, 3), _darker(metal, 0.55))
    mx, my = ch.mouth_xy
    w, h = ch.mouth.half_width, ch.mouth.max_open
    _fill(img, np.array([[mx - w - 6, my - h / 2 - 6], [mx + w + 6, my - h / 2 - 6], [mx + w + 6, my + h / 2 + 6],
                         [mx - w - 6, my + h / 2 + 6]]), _darker(metal, 0.65))


def _static_creature(ch, img, alpha) -> None:
    p = ch.params
    cx, cy = p["cx"], p["cy"]
    xy = np.stack([cx + p["radius"] * np.cos(p["theta"]), cy + p["radius"] * np.sin(p["theta"]) * 0.95], 1)
    if p["horns"]:
        for sx in (-1, 1):
            _paint(img, alpha, np.array([[cx + sx * p["r"] * 0.35, cy - p["r"] * 0.7],
                                         [cx + sx * p["r"] * 0.75, cy - p["r"] * 1.4],
                                         [cx + sx * p["r"] * 0.65, cy - p["r"] * 0.6]]), (240, 230, 200))
    _paint(img, alpha, xy, p["body"])
    if p["belly"] is not None:
        _fill(img, _ellipse_pts(cx, cy + p["r"] * 0.45, p["r"] * 0.55, p["r"] * 0.4), p["belly"])
    _line(img, xy, _darker(p["body"], 0.55), 2, closed=True)


_STATIC = {"drawn": _static_face, "flat": _static_face, "painted": _static_face, "anime": _static_face,
           "animal": _static_animal, "robot": _static_robot, "creature": _static_creature}


def draw_eyes(img: np.ndarray, ch: Character, blink: float, dx: float = 0.0) -> None:
    """Eyes at closure `blink` (0 open .. 1 closed), shifted by `dx` px (head yaw)."""
    e = ch.eyes
    r = e.radius
    for ex, ey in e.centers:
        ex += dx
        if e.kind == "none":
            continue
        if e.kind == "led":
            h = max(1.0, r * 0.8 * (1 - blink))
            _fill(img, np.array([[ex - r, ey - h], [ex + r, ey - h], [ex + r, ey + h], [ex - r, ey + h]]), e.iris_color)
            continue
        if e.kind == "slit":  # a frog's or a goat's: a coloured ball with a dark bar, much like a closed mouth
            open_y = r * 0.8 * (1 - blink)
            if open_y > 0.8:
                _disc(img, ex, ey, r, open_y, e.iris_color)
                _fill(img, np.array([[ex - 0.6 * r, ey - 0.12 * r], [ex + 0.6 * r, ey - 0.12 * r],
                                     [ex + 0.6 * r, ey + 0.12 * r], [ex - 0.6 * r, ey + 0.12 * r]]), (15, 15, 20))
                _line(img, _ellipse_pts(ex, ey, r, open_y, n=16), e.lid_color, 1.5, closed=True)
            else:
                _line(img, np.array([[ex - r, ey], [ex + r, ey]]), e.lid_color, 2)
            continue
        if e.kind == "dot":
            if blink > 0.6:
                _line(img, np.array([[ex - r, ey], [ex + r, ey]]), e.iris_color, 2)
            else:
                _disc(img, ex, ey, r, r * (1 - blink), e.iris_color)
                _disc(img, ex + r * 0.3, ey - r * 0.3, r * 0.3, r * 0.3, (250, 250, 250))
            continue
        ay = r * (0.75 if e.kind == "human" else 1.2)
        ax = r * (1.5 if e.kind == "human" else 1.0)
        open_y = ay * (1 - blink)
        if open_y > 0.8:
            _disc(img, ex, ey, ax, open_y, (250, 250, 250))
            ir = r * (0.75 if e.kind == "human" else 0.85)
            _disc(img, ex, ey, ir, min(ir, open_y), e.iris_color)
            _disc(img, ex, ey, ir * 0.45, min(ir * 0.45, open_y), (15, 15, 20))
            if e.kind == "anime":
                _disc(img, ex - ir * 0.35, ey - ir * 0.35, ir * 0.3, ir * 0.3, (255, 255, 255))
            _line(img, _ellipse_pts(ex, ey, ax, open_y, n=12, a0=np.pi, a1=2 * np.pi), (30, 25, 25),
                  2 if e.kind == "anime" else 1.5)
        else:
            _line(img, np.array([[ex - ax, ey], [ex + ax, ey]]), (40, 30, 30), 2)


def draw_mouth(img: np.ndarray, ch: Character, shape: np.ndarray, dx: float = 0.0) -> None:
    """Draw the mouth for shape (open, width, round, teeth, tongue) at its anchor + `dx`."""
    st = ch.mouth
    opening, width, rounding, teeth, tongue = (float(v) for v in shape)
    w = st.half_width * (1 + 0.5 * (width - 0.5)) * (1 - 0.35 * rounding)
    h = st.max_open * opening
    up, down = 0.3 * h, 0.7 * h  # the jaw moves the lower lip most
    n = 24
    t = np.linspace(0, np.pi, n)
    # Superellipse-like contour: exponent -> 0 gives a rectangle (robot grilles).
    ex = 0.9 * (1 - st.squareness) + 0.08
    s = np.sin(t) ** ex
    x = -w * np.cos(t) * (1 - 0.15 * rounding * s)
    upper_in, lower_in = -up * s, down * s
    c, sn = np.cos(np.radians(st.tilt_deg)), np.sin(np.radians(st.tilt_deg))
    mx, my = ch.mouth_xy[0] + dx, ch.mouth_xy[1]

    def place(xs, ys):
        return np.stack([mx + c * xs - sn * ys, my + sn * xs + c * ys], 1)

    lt = st.lip_thickness * (1 + 0.6 * rounding)
    if st.lip_color is not None:
        bow = 1 - 0.25 * np.exp(-((x / (w + 1e-6)) ** 2) / 0.02) * (st.squareness < 0.5)
        upper_out = upper_in - lt * np.sin(t) ** 0.5 * bow
        lower_out = lower_in + 1.25 * lt * np.sin(t) ** 0.5
        lips = np.concatenate([place(x, upper_out), place(x[::-1], lower_out[::-1])])
        _fill(img, lips, st.lip_color)
    if h < 0.6:  # closed: the seam between the lips
        seam_y = np.zeros_like(x) + (0 if st.squareness > 0.5 else 1.2 * np.sin(t) ** 2 * (0.5 - width))
        color = st.teeth_color if st.teeth_style == "bars" else (st.outline_color or _darker(st.interior_color, 0.6))
        _line(img, place(x, seam_y), color, 2)
        return
    interior = np.concatenate([place(x, upper_in), place(x[::-1], lower_in[::-1])])
    _fill(img, interior, st.interior_color)
    span = lower_in - upper_in
    if tongue > 0.05:  # the tongue rises from the floor of the mouth
        tz = np.minimum(span, tongue * 0.45 * h + 0.15 * h)
        keep = np.abs(x) < 0.75 * w
        if keep.sum() > 2:
            tx = x[keep]
            _fill(img, np.concatenate([place(tx, lower_in[keep] - tz[keep] * np.sin(t[keep]) ** 0.5),
                                       place(tx[::-1], lower_in[keep][::-1])]), st.tongue_color)
    if teeth > 0.05:
        if st.teeth_style == "bars":  # LED columns across the grille
            for k in range(-4, 5):
                xs = np.array([k * w / 5.0])
                ys0, ys1 = np.interp(xs, x, upper_in), np.interp(xs, x, lower_in)
                _line(img, place(np.array([xs[0], xs[0]]), np.array([ys0[0], ys1[0]])), st.teeth_color,
                      max(1.0, 2.5 * teeth))
        elif st.teeth_style == "fangs":
            for sx in (-1, 1):
                fx = sx * 0.55 * w
                fy = np.interp(fx, x, upper_in)
                fl = min(0.5 * h + 2, st.half_width * 0.5) * (0.5 + 0.5 * teeth)
                _fill(img, place(np.array([fx - 0.14 * w, fx + 0.14 * w, fx]),
                                 np.array([fy - 1, fy - 1, fy + fl])), st.teeth_color)
        else:  # upper teeth band, lower band when wide open
            tz = np.minimum(span, teeth * min(0.35 * st.max_open, 0.5 * h + 1))
            keep = np.abs(x) < 0.85 * w
            tx = x[keep]
            _fill(img, np.concatenate([place(tx, upper_in[keep] - 0.5), place(tx[::-1], (upper_in + tz)[keep][::-1])]),
                  st.teeth_color)
            if opening > 0.5:
                bz = np.minimum(span, teeth * 0.18 * st.max_open)
                _fill(img, np.concatenate([place(tx, (lower_in - bz)[keep]), place(tx[::-1], lower_in[keep][::-1])]),
                      _darker(st.teeth_color, 0.92))
    if st.outline_color is not None:
        _line(img, interior, st.outline_color, 2, closed=True)


def painted_texture(seed: int) -> np.ndarray:
    """A (CANVAS, CANVAS, 3) float32 multiplier around 1 that gives painted faces brush grain."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((CANVAS // 8, CANVAS // 8, 3)).astype(np.float32)
    low = cv2.resize(noise, (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    streaks = cv2.GaussianBlur(rng.standard_normal((CANVAS, CANVAS, 1)).astype(np.float32), (0, 0), 1.0,
                               sigmaY=5.0)
    return 1 + 0.07 * low + 0.12 * streaks[..., None].reshape(CANVAS, CANVAS, 1)
