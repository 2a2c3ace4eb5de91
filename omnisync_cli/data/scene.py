"""A scene: one character, its head motion, blinks, background, light and occluders over time.

Nothing in a scene depends on what is said. Rendering the same scene with two utterances
gives two clips that differ only in the mouth: a pseudo-pair for training, or a source
and its ground-truth dubbed target for the benchmark.
"""

from dataclasses import dataclass

import numpy as np

from .characters import SKIN_TONES, Character
from .render import BACKGROUND_KINDS, Figure, FrameSpec, HeadPose, Occluder, Sprite, make_background, render_frame
from .styles import StyledCharacter, StyledSprite, frame_effect
from .speech import Utterance
from .visemes import viseme_track


_NOISE_PAD = (17, 23)  # rows, cols of slack around the frame in the noise bank


@dataclass(frozen=True)
class HandEvent:
    """A hand that slides in front of the lower face during [start_s, end_s]."""

    start_s: float
    end_s: float
    occluder: Occluder


@dataclass(frozen=True)
class Framing:
    """The frame and where the speaker sits in it."""

    height: int
    width: int
    face_fraction: float         # the speaker's face width / frame width at the clip's start
    anywhere: bool = False       # False: near the centre (v1); True: the mouth anywhere in the frame
    zoom: float = 0.0            # relative change of the face size over the clip (a camera zoom)


@dataclass(frozen=True)
class Extra:
    """A silent (or mumbling) character behind the speaker, with its own motion."""

    sprite: object
    poses: np.ndarray            # (F, 5) like Scene.poses
    shapes: np.ndarray           # (F, 5) mouth shapes
    blinks: np.ndarray           # (F,)


def sprite_for(character) -> Sprite | StyledSprite:
    return StyledSprite(character) if isinstance(character, StyledCharacter) else Sprite(character)


@dataclass
class Scene:
    character: Character | StyledCharacter
    fps: float
    n_frames: int
    height: int
    width: int
    seed: int
    poses: np.ndarray          # (F, 5): x, y, angle, scale, yaw
    blinks: np.ndarray         # (F,) lid closure 0..1
    pan: np.ndarray            # (F, 2) int: background window offset
    background: np.ndarray     # (B, B, 3) uint8, B >= the frame's longer side
    gain: np.ndarray           # (F,) overall light level
    light_map: np.ndarray      # (H, W, 3) float32: tint and light direction
    hands: tuple               # HandEvent, ...
    mic: Occluder | None
    noise_bank: np.ndarray | None  # (K, H + pad, W + pad, 3) float32 camera noise to cut frames' noise from
    extras: tuple = ()             # Extra, ...
    effect: dict | None = None     # frame-level rendering style (styles.frame_effect), None: none

    @property
    def frame_times(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    def frame_spec(self, j: int) -> FrameSpec:
        t = j / self.fps
        h, w = self.height, self.width
        ox, oy = self.pan[j]
        occluders = []
        for hand in self.hands:
            # slide in from below over 0.3 s, hold, slide out
            k = float(np.clip(min(t - hand.start_s, hand.end_s - t) / 0.3, 0.0, 1.0))
            if k > 0:
                o = hand.occluder
                occluders.append(Occluder(o.kind, o.dx, o.dy + 1.6 * (1 - k) ** 2, o.size, o.angle, o.color))
        if self.mic is not None:
            occluders.append(self.mic)
        return FrameSpec(
            pose=HeadPose(*(float(v) for v in self.poses[j])),
            blink=float(self.blinks[j]),
            background=self.background[oy:oy + h, ox:ox + w],
            light=self.light_map * np.float32(self.gain[j]),
            occluders=occluders,
            noise=self._noise(j),
            others=[Figure(e.sprite, HeadPose(*(float(v) for v in e.poses[j])), e.shapes[j], float(e.blinks[j]))
                    for e in self.extras],
        )

    def _noise(self, j: int) -> np.ndarray | None:
        """Frame j's sensor noise: a random window of a small bank (fresh normals cost 4 ms a frame)."""
        if self.noise_bank is None:
            return None
        k, oy, ox = np.random.default_rng([self.seed, 99, j]).integers(0, [len(self.noise_bank), *_NOISE_PAD])
        return self.noise_bank[k, oy:oy + self.height, ox:ox + self.width]


@dataclass(frozen=True)
class RenderedClip:
    frames: np.ndarray         # (F, H, W, 3) uint8
    mouth_xy: np.ndarray       # (F, 2) float32 frame px
    face_width: np.ndarray     # (F,) float32 frame px
    mouth_shapes: np.ndarray   # (F, 5) float32 viseme parameters that drove the mouth
    others: np.ndarray | None = None  # (F, K, 3) float32: the extras' mouth x, y and face width, frame px


def _wander(rng: np.random.Generator, t: np.ndarray, amplitude: float, max_hz: float = 0.6) -> np.ndarray:
    """Smooth random motion: three sinusoids plus a slow linear drift, peak about `amplitude`."""
    out = rng.uniform(-0.3, 0.3) * amplitude * t / max(t[-1], 1e-6)
    for _ in range(3):
        out = out + rng.uniform(0.2, 0.5) * amplitude * np.sin(2 * np.pi * rng.uniform(0.05, max_hz) * t
                                                               + rng.uniform(0, 2 * np.pi))
    return out


def _poses(rng, t: np.ndarray, x0: float, y0: float, scale0: float, size: float, lively: float,
           zoom: float = 0.0) -> np.ndarray:
    """(F, 5) head poses wandering around (x0, y0) at scale0; `size` sets the motion's reach."""
    ramp = np.clip(t / max(t[-1], 1e-6), 0, 1)
    return np.stack([
        x0 + _wander(rng, t, 0.035 * size * lively),
        y0 + _wander(rng, t, 0.025 * size * lively),
        rng.uniform(-4, 4) + _wander(rng, t, 5.0 * lively),
        scale0 * (1 + _wander(rng, t, 0.04 * lively, 0.3)) * (1 + zoom * (3 * ramp ** 2 - 2 * ramp ** 3)),
        np.clip(rng.uniform(-0.3, 0.3) + _wander(rng, t, 0.3 * lively, 0.4), -0.8, 0.8),
    ], axis=1).astype(np.float32)


def _blinks(rng, t: np.ndarray, has_eyes: bool) -> np.ndarray:
    blinks = np.zeros(len(t), np.float32)
    if has_eyes:
        blink_t = rng.uniform(-1.0, 1.0)
        while blink_t < t[-1] + 0.3:
            d = np.abs(t - blink_t)
            blinks = np.maximum(blinks, np.clip(1 - d / 0.1, 0, 1))  # 0.2 s close-open
            blink_t += rng.uniform(1.5, 5.0)
    return blinks


def make_scene(character, seed: int, fps: float, n_frames: int, frame_size: int,
               framing: Framing | None = None, extras: tuple = ()) -> Scene:
    """Draw a scene for `character` from `seed`; see the module docstring.

    Without `framing` the frame is a `frame_size` square with the face at 30-44 % of its width
    near the centre (corpus v1). `extras` are (character, mouth shapes (F, 5)) pairs placed
    beside the speaker.
    """
    rng = np.random.default_rng([seed, 11])
    framing = framing or Framing(frame_size, frame_size, float(rng.uniform(0.3, 0.44)))
    h, w = framing.height, framing.width
    t = np.arange(n_frames) / fps
    lively = rng.choice([0.3, 1.0, 1.6], p=[0.25, 0.5, 0.25])  # still, normal, animated heads
    face_px = w * framing.face_fraction
    scale0 = face_px / character.face_width
    if framing.anywhere:  # put the mouth anywhere in the frame, then the canvas centre above it
        mouth_canvas = np.asarray(character.mouth_xy) - 128.0
        mx, my = rng.uniform(0.12, 0.88) * w, rng.uniform(0.15, 0.85) * h
        x0, y0 = mx - mouth_canvas[0] * scale0, my - mouth_canvas[1] * scale0
    else:
        x0 = w / 2 + rng.uniform(-0.1, 0.1) * w
        y0 = h / 2 + rng.uniform(-0.04, 0.1) * h
    size = min(h, w) if not framing.anywhere else min(min(h, w), 2.5 * face_px)
    poses = _poses(rng, t, x0, y0, scale0, size, lively, framing.zoom)
    blinks = _blinks(rng, t, character.eyes.kind != "none")

    margin = max(h, w) // 3
    side = max(h, w) + margin
    background = make_background(rng, BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))], side)
    if rng.random() < 0.35:  # moving background (camera pan or scrolling backdrop), ping-pong
        v = rng.uniform(-1.5, 1.5, 2)
        travel = np.abs((np.arange(n_frames)[:, None] * v + rng.uniform(0, margin, 2)) % (2 * margin) - margin)
        pan = np.minimum(travel, margin).astype(np.int64)
    else:
        pan = np.tile(rng.integers(0, margin + 1, 2), (n_frames, 1)).astype(np.int64)

    gain = 1 + rng.uniform(0.0, 0.12) * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3))
    if rng.random() < 0.3:  # a light switched or a cloud passing: a smoothed step
        step_t = rng.uniform(0, t[-1] + 1e-6)
        gain = gain + rng.uniform(-0.25, 0.2) / (1 + np.exp(-(t - step_t) / 0.12))
    gain = gain * rng.uniform(0.8, 1.15)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h, w) - 0.5, xx / max(h, w) - 0.5
    ang = rng.uniform(0, 2 * np.pi)
    direction = np.cos(ang) * xx + np.sin(ang) * yy
    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    light_map = (tint * (1 + rng.uniform(0, 0.5) * direction)[..., None]).astype(np.float32)

    hands = []
    if rng.random() < 0.3 and t[-1] > 0.8:
        start = rng.uniform(-0.5, t[-1] - 0.5)
        skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
        hand_side = rng.choice([-1, 1])
        hands.append(HandEvent(start, start + rng.uniform(0.8, 3.0),
                               Occluder("hand", hand_side * rng.uniform(0.3, 0.65), rng.uniform(0.45, 0.75),
                                        rng.uniform(0.7, 1.0), hand_side * rng.uniform(5, 30), skin)))
    mic = None
    if rng.random() < 0.2:
        mic_side = rng.choice([-1, 1])
        mic = Occluder("mic", mic_side * rng.uniform(0.15, 0.4), rng.uniform(0.55, 0.8), rng.uniform(0.35, 0.5),
                       mic_side * rng.uniform(0, 20), tuple(int(v) for v in rng.integers(15, 60, 3)))
    noise_bank = None
    if rng.random() < 0.7:
        noise_bank = (rng.standard_normal((4, h + _NOISE_PAD[0], w + _NOISE_PAD[1], 3), dtype=np.float32)
                      * np.float32(rng.uniform(0.5, 4.0)))

    placed = []
    for k, (other, shapes) in enumerate(extras):  # beside the speaker, left or right, at a similar size
        o_scale = scale0 * rng.uniform(0.6, 1.2) * character.face_width / other.face_width
        direction = -1 if (x0 > w / 2) == (k % 2 == 0) else 1
        ox = x0 + direction * rng.uniform(1.1, 1.8) * face_px
        oy = y0 + rng.uniform(-0.3, 0.3) * face_px
        placed.append(Extra(sprite_for(other), _poses(rng, t, ox, oy, o_scale, size, rng.uniform(0.3, 1.2)),
                            np.asarray(shapes, np.float32), _blinks(rng, t, other.eyes.kind != "none")))
    effect = character.params if isinstance(character, StyledCharacter) else None
    return Scene(character, float(fps), int(n_frames), int(h), int(w), int(seed), poses, blinks, pan,
                 background, gain.astype(np.float32), light_map, tuple(hands), mic, noise_bank,
                 tuple(placed), effect)


def render_scene(scene: Scene, mouth_shapes: np.ndarray, sprite=None) -> RenderedClip:
    """Render every frame with the given mouth shapes (F, 5)."""
    sprite = sprite or sprite_for(scene.character)
    frames = np.empty((scene.n_frames, scene.height, scene.width, 3), np.uint8)
    mouth = np.empty((scene.n_frames, 2), np.float32)
    width = np.empty(scene.n_frames, np.float32)
    others = np.empty((scene.n_frames, len(scene.extras), 3), np.float32)
    for j in range(scene.n_frames):
        out = render_frame(sprite, scene.frame_spec(j), mouth_shapes[j])
        image = out.image if scene.effect is None else frame_effect(out.image, scene.effect, scene.seed * 7919 + j)
        frames[j], mouth[j], width[j] = image, out.mouth_xy, out.face_width
        if scene.extras:
            others[j] = out.others
    return RenderedClip(frames, mouth, width, np.asarray(mouth_shapes, np.float32),
                        others if scene.extras else None)


def render_utterance(scene: Scene, utterance: Utterance, amplitude: float, sprite=None) -> RenderedClip:
    """Render the scene speaking `utterance` with articulation `amplitude`."""
    return render_scene(scene, viseme_track(utterance.phonemes, scene.frame_times, amplitude), sprite)
