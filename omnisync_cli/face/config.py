"""Settings of the face stage: which face, which landmarker, overrides and smoothing."""

from dataclasses import dataclass
from pathlib import Path

from omnisync_cli.errors import ConfigError

# Fallback region side as a fraction of the frame's shorter side, used when nothing
# face-like is found (and for a bare `--mouth X,Y`): a speaking head framed as a medium
# close-up fills roughly a third of the frame height, so its mouth area fits in 0.35.
FALLBACK_SIZE = 0.35


@dataclass(frozen=True)
class FaceConfig:
    face_index: int = 0                   # which face to follow: 0 = largest, 1 = next, ...
    landmarker: Path | None = None        # optional MediaPipe Tasks `face_landmarker.task` file
    mouth: tuple[float, float] | None = None  # `--mouth X,Y` in frame pixels: constant mouth centre
    region: tuple[float, float, float, float] | None = None  # `--region X,Y,W,H` in frame pixels
    smooth_position_s: float = 0.1        # Gaussian sigma (seconds) of the box-centre smoothing
    smooth_size_s: float = 0.4            # Gaussian sigma (seconds) of the box-side smoothing (steadier)
    fallback_size: float = FALLBACK_SIZE  # fallback region side / shorter frame side
    max_faces: int = 4                    # faces MediaPipe looks for per frame
    # Seconds between landmark looks (the frames between are interpolated, like gaps, and never
    # converted to RGB): every 3rd frame at 24-30 fps, every 7th at 60; the track is smoothed
    # over smooth_position_s anyway, and a fast face gets more looks (face.track.LOOK_MAX_MOVE).
    # 0: every frame. (Between full looks for max_faces faces a one-face mesh follows the face:
    # face.track.FULL_LOOK_EVERY_S.) Every 2nd frame (0.08 s) tracked shaken and zooming faces
    # as well and cost a third more MediaPipe time; every 4th lost a running camera at 30 fps
    # (bench/moving_faces.py, bench/results/look-every/).
    landmarks_every_s: float = 0.11
    # Frames are looked at shrunk to at most this many pixels on their longer side (one swscale
    # pass: 1.7 ms for a 1080p frame instead of 17 ms for the exact planes and RGB). MediaPipe's
    # detector sees 128 px and its landmark model 192 px around the face, so 720p loses nothing.
    look_max_side: int = 1280
    min_confidence: float = 0.5           # MediaPipe detection and tracking confidence
    use_mediapipe: bool = True            # False: skip MediaPipe even where installed
    use_localiser: bool = True            # False: never run the learned mouth localiser
    localiser: Path | None = None         # mouth-localiser weights directory (None: the bundled one)
    localiser_every_s: float = 0.2        # seconds between localiser looks where landmarks miss
    max_gap_s: float = 1.0                # longer stretches without a mouth pass through unedited
    centre_fallback: bool = False         # no mouth anywhere: edit the frame centre instead of failing

    def __post_init__(self) -> None:
        if self.face_index < 0:
            raise ConfigError(f"face index must be 0 or more (0 = largest face), got {self.face_index}")
        if self.smooth_position_s < 0 or self.smooth_size_s < 0:
            raise ConfigError("smoothing strengths must be 0 (off) or a positive number of seconds")
        if not 0 < self.fallback_size <= 1:
            raise ConfigError(f"fallback size must be in (0, 1] of the shorter frame side, got {self.fallback_size}")
        if self.max_faces < 1 or self.max_faces <= self.face_index:
            raise ConfigError(f"max faces ({self.max_faces}) must exceed the face index ({self.face_index})")
        if not 0 < self.min_confidence < 1:
            raise ConfigError(f"min confidence must be in (0, 1), got {self.min_confidence}")
        if not 0 <= self.landmarks_every_s <= 1:
            raise ConfigError(f"the landmark interval must be in [0, 1] seconds, got {self.landmarks_every_s}")
        if self.look_max_side < 64:
            raise ConfigError(f"frames must be looked at with at least 64 pixels a side, got {self.look_max_side}")
        if not 0 < self.localiser_every_s <= 10:
            raise ConfigError(f"the localiser interval must be in (0, 10] seconds, got {self.localiser_every_s}")
        if not 0 <= self.max_gap_s <= 3600:
            raise ConfigError(f"the longest filled gap must be in [0, 3600] seconds, got {self.max_gap_s}")
        if self.region is not None and (self.region[2] <= 0 or self.region[3] <= 0):
            raise ConfigError(f"--region needs a positive width and height, got {self.region}")
        if self.centre_fallback and (self.mouth is not None or self.region is not None):
            given = "--region" if self.region is not None else "--mouth"
            raise ConfigError(f"--centre-fallback guesses a place where no mouth is found, but {given} gives it and "
                              "nothing is looked for; drop one of them")
        if self.landmarker is not None and not isinstance(self.landmarker, Path):
            object.__setattr__(self, "landmarker", Path(self.landmarker))
        if self.localiser is not None and not isinstance(self.localiser, Path):
            object.__setattr__(self, "localiser", Path(self.localiser))


def _numbers(text: str, count: int, flag: str, form: str) -> tuple[float, ...]:
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != count:
        example = ",".join(["100"] * count)
        raise ConfigError(f"{flag} takes {form} in pixels (for example {flag} {example}), got {text!r}")
    return values


def parse_mouth(text: str) -> tuple[float, float]:
    """Parse `--mouth X,Y` (frame pixels); raises ConfigError naming the expected form."""
    return _numbers(text, 2, "--mouth", "X,Y")  # type: ignore[return-value]


def parse_region(text: str) -> tuple[float, float, float, float]:
    """Parse `--region X,Y,W,H` (left, top, width, height in frame pixels)."""
    values = _numbers(text, 4, "--region", "X,Y,W,H")
    if values[2] <= 0 or values[3] <= 0:
        raise ConfigError(f"--region needs a positive width and height, got {text!r}")
    return values  # type: ignore[return-value]
