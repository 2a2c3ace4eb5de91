"""A scene: one character, its head motion, blinks, background, light and occluders over time.

Nothing in a scene depends on what is said. Rendering the same scene with two utterances
gives two clips that differ only in the mouth: a pseudo-pair for training, or a source
and its ground-truth dubbed target for the benchmark.
"""

from dataclasses import dataclass

import numpy as np

from .characters import SKIN_TONES, Character
from .render import BACKGROUND_KINDS, FrameSpec, HeadPose, Occluder, Sprite, make_background, render_frame
from .speech import Utterance
from .visemes import viseme_track


_NOISE_PAD = (17, 23)  # rows, cols of slack around the frame in the noise bank


@dataclass(frozen=True)
class HandEvent:
    """A hand that slides in front of the lower face during [start_s, end_s]."""

    start_s: float
    end_s: float
    occluder: Occluder


@dataclass
class Scene:
    character: Character
    fps: float
    n_frames: int
    frame_size: int
    seed: int
    poses: np.ndarray          # (F, 5): x, y, angle, scale, yaw
    blinks: np.ndarray         # (F,) lid closure 0..1
    pan: np.ndarray            # (F, 2) int: background window offset
    background: np.ndarray     # (B, B, 3) uint8, B >= frame_size
    gain: np.ndarray           # (F,) overall light level
    light_map: np.ndarray      # (H, W, 3) float32: tint and light direction
    hands: tuple               # HandEvent, ...
    mic: Occluder | None
    noise_bank: np.ndarray | None  # (K, H + pad, W + pad, 3) float32 camera noise to cut frames' noise from

    @property
    def frame_times(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    def frame_spec(self, j: int) -> FrameSpec:
        t = j / self.fps
        s = self.frame_size
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
            background=self.background[oy:oy + s, ox:ox + s],
            light=self.light_map * np.float32(self.gain[j]),
            occluders=occluders,
            noise=self._noise(j),
        )

    def _noise(self, j: int) -> np.ndarray | None:
        """Frame j's sensor noise: a random window of a small bank (fresh normals cost 4 ms a frame)."""
        if self.noise_bank is None:
            return None
        k, oy, ox = np.random.default_rng([self.seed, 99, j]).integers(0, [len(self.noise_bank), *_NOISE_PAD])
        s = self.frame_size
        return self.noise_bank[k, oy:oy + s, ox:ox + s]


@dataclass(frozen=True)
class RenderedClip:
    frames: np.ndarray         # (F, H, W, 3) uint8
    mouth_xy: np.ndarray       # (F, 2) float32 frame px
    face_width: np.ndarray     # (F,) float32 frame px
    mouth_shapes: np.ndarray   # (F, 5) float32 viseme parameters that drove the mouth


def _wander(rng: np.random.Generator, t: np.ndarray, amplitude: float, max_hz: float = 0.6) -> np.ndarray:
    """Smooth random motion: three sinusoids plus a slow linear drift, peak about `amplitude`."""
    out = rng.uniform(-0.3, 0.3) * amplitude * t / max(t[-1], 1e-6)
    for _ in range(3):
        out = out + rng.uniform(0.2, 0.5) * amplitude * np.sin(2 * np.pi * rng.uniform(0.05, max_hz) * t
                                                               + rng.uniform(0, 2 * np.pi))
    return out


def make_scene(character: Character, seed: int, fps: float, n_frames: int, frame_size: int) -> Scene:
    """Draw a scene for `character` from `seed`; see the module docstring."""
    rng = np.random.default_rng([seed, 11])
    s = frame_size
    t = np.arange(n_frames) / fps
    lively = rng.choice([0.3, 1.0, 1.6], p=[0.25, 0.5, 0.25])  # still, normal, animated heads
    face_px = s * rng.uniform(0.3, 0.44)
    scale0 = face_px / character.face_width
    x0 = s / 2 + rng.uniform(-0.1, 0.1) * s
    y0 = s / 2 + rng.uniform(-0.04, 0.1) * s
    poses = np.stack([
        x0 + _wander(rng, t, 0.035 * s * lively),
        y0 + _wander(rng, t, 0.025 * s * lively),
        rng.uniform(-4, 4) + _wander(rng, t, 5.0 * lively),
        scale0 * (1 + _wander(rng, t, 0.04 * lively, 0.3)),
        np.clip(rng.uniform(-0.3, 0.3) + _wander(rng, t, 0.3 * lively, 0.4), -0.8, 0.8),
    ], axis=1).astype(np.float32)

    blinks = np.zeros(n_frames, np.float32)
    if character.eyes.kind != "none":
        blink_t = rng.uniform(-1.0, 1.0)
        while blink_t < t[-1] + 0.3:
            d = np.abs(t - blink_t)
            blinks = np.maximum(blinks, np.clip(1 - d / 0.1, 0, 1))  # 0.2 s close-open
            blink_t += rng.uniform(1.5, 5.0)

    margin = s // 3
    background = make_background(rng, BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))], s + margin)
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
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s - 0.5
    ang = rng.uniform(0, 2 * np.pi)
    direction = np.cos(ang) * xx + np.sin(ang) * yy
    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    light_map = (tint * (1 + rng.uniform(0, 0.5) * direction)[..., None]).astype(np.float32)

    hands = []
    if rng.random() < 0.3 and t[-1] > 0.8:
        start = rng.uniform(-0.5, t[-1] - 0.5)
        skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
        side = rng.choice([-1, 1])
        hands.append(HandEvent(start, start + rng.uniform(0.8, 3.0),
                               Occluder("hand", side * rng.uniform(0.3, 0.65), rng.uniform(0.45, 0.75),
                                        rng.uniform(0.7, 1.0), side * rng.uniform(5, 30), skin)))
    mic = None
    if rng.random() < 0.2:
        side = rng.choice([-1, 1])
        mic = Occluder("mic", side * rng.uniform(0.15, 0.4), rng.uniform(0.55, 0.8), rng.uniform(0.35, 0.5),
                       side * rng.uniform(0, 20), tuple(int(v) for v in rng.integers(15, 60, 3)))
    noise_bank = None
    if rng.random() < 0.7:
        noise_bank = (rng.standard_normal((4, s + _NOISE_PAD[0], s + _NOISE_PAD[1], 3), dtype=np.float32)
                      * np.float32(rng.uniform(0.5, 4.0)))
    return Scene(character, float(fps), int(n_frames), int(frame_size), int(seed), poses, blinks, pan,
                 background, gain.astype(np.float32), light_map, tuple(hands), mic, noise_bank)


def render_scene(scene: Scene, mouth_shapes: np.ndarray, sprite: Sprite | None = None) -> RenderedClip:
    """Render every frame with the given mouth shapes (F, 5)."""
    sprite = sprite or Sprite(scene.character)
    frames = np.empty((scene.n_frames, scene.frame_size, scene.frame_size, 3), np.uint8)
    mouth = np.empty((scene.n_frames, 2), np.float32)
    width = np.empty(scene.n_frames, np.float32)
    for j in range(scene.n_frames):
        out = render_frame(sprite, scene.frame_spec(j), mouth_shapes[j])
        frames[j], mouth[j], width[j] = out.image, out.mouth_xy, out.face_width
    return RenderedClip(frames, mouth, width, np.asarray(mouth_shapes, np.float32))


def render_utterance(scene: Scene, utterance: Utterance, amplitude: float,
                     sprite: Sprite | None = None) -> RenderedClip:
    """Render the scene speaking `utterance` with articulation `amplitude`."""
    return render_scene(scene, viseme_track(utterance.phonemes, scene.frame_times, amplitude), sprite)
