"""The allowed range of every numeric command-line flag, checked before any work starts.

typer parses "inf" and "nan" as floats, and the library configs check only what would crash
them; a NaN guidance scale, for one, passes every comparison and turns the face black. So
each numeric flag gets a closed range here, NaN and infinities are refused everywhere, and
the error names the flag, the range and the value.
"""

import math
from dataclasses import dataclass

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.config import FaceConfig


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    low_open: bool = False  # the low end itself is not allowed (0 < tau)
    why: str = ""  # appended to the error: what the flag does or costs

    def check(self, flag: str, value: float | None) -> None:
        if value is None:
            return
        below = value <= self.low if self.low_open else value < self.low
        if not math.isfinite(value) or below or value > self.high:
            span = (f"above {shown(self.low)} and at most {shown(self.high)}" if self.low_open
                    else f"between {shown(self.low)} and {shown(self.high)}")
            why = f" ({self.why})" if self.why else ""
            raise ConfigError(f"{flag} must be {span}, got {shown(value)}{why}")


def shown(value: float) -> str:
    """A number as a user reads it: whole numbers in full (a seed's bound is 4294967295, not
    4.29497e+09), others in `g` form."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


# At most this many faces are looked for (FaceConfig.max_faces), so a higher index can never
# be found.
_FACES = FaceConfig().max_faces

RANGES: dict[str, Range] = {
    "--tau": Range(0, 1, low_open=True, why="noise level of the progressive init; 1 = from pure noise"),
    "--steps": Range(1, 100, why="sampler steps per segment; each costs two model passes, 2 is the default"),
    "--cfg-peak": Range(0, 20, why="guidance scale at the mouth; 2 is the default"),
    "--cfg-silence-peak": Range(0, 20, why="guidance scale at the mouth in silent frames"),
    "--cfg-base": Range(0, 20, why="guidance scale far from the mouth; 1 is the default"),
    "--cfg-sigma": Range(0.01, 2, why="spread of the mouth Gaussian as a fraction of the region"),
    "--cfg-gamma": Range(0, 10, why="decay of guidance over the noise level; the paper uses 1.5"),
    "--seed": Range(0, 2**32 - 1),
    "--face-index": Range(0, _FACES - 1, why=f"0 = largest face; at most {_FACES} faces are looked for"),
    "--feather": Range(0, 0.5, why="width of the soft paste edge as a fraction of the region"),
    "--crf": Range(0, 51, why="H.264 quality, lower is better"),
    "--seconds": Range(0, 600, low_open=True, why="length of the preview"),
    "--clip-seconds": Range(0, 600, low_open=True, why="length of each training clip"),
    "--identities": Range(1, 10_000),
    "--workers": Range(1, 256),
    "--batch-size": Range(1, 4096),
    "--lr": Range(0, 1, low_open=True),
    "--pair-threshold": Range(0, 1),
    "--mouth-loss-weight": Range(0, 1000),
    "--change-loss-weight": Range(0, 1000),
    "--viseme-loss-weight": Range(0, 1000),
    "--sync-loss-weight": Range(0, 1000),
    "--max-minutes": Range(0, 10 ** 6, why="0 = no limit"),
    "--adapt-seconds": Range(1, 24 * 3600),
    "--adapt-steps": Range(0, 10 ** 6, why="0 = the time budget decides"),
    "--threads": Range(0, 1024, why="0 = the library default"),
    "--max-drop": Range(0, 100),
    "--jobs": Range(1, 64, why="processes, each with its own model"),
    "--samples": Range(1, 10_000_000, why="corpus-v2 frames rendered for the localiser"),
}

# The --cfg-mode values: guidance.dscfg.GUIDANCE_MODES, repeated here because that module
# imports torch and a pass-through dub checks its flags without it (a test keeps them equal).
CFG_MODES = ("ds", "static", "none")

# `omnisync train --steps` counts optimizer steps, not sampler steps.
TRAIN_STEPS = Range(1, 10_000_000)


def check_flags(**values: float | None) -> None:
    """Check keyword-named flag values (cfg_peak=... checks --cfg-peak) against RANGES."""
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        RANGES[flag].check(flag, value)


def check_cfg_mode(mode: str) -> None:
    if mode not in CFG_MODES:
        raise ConfigError(f"--cfg-mode: the guidance mode must be one of {', '.join(CFG_MODES)}, got {mode!r}")


def check_finite(flag: str, values: tuple[float, ...]) -> None:
    """Coordinates such as --mouth X,Y and --region X,Y,W,H: every number must be finite."""
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{flag} takes finite pixel numbers, got {','.join(f'{v:g}' for v in values)}")
