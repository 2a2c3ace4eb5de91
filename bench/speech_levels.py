"""Speech at uneven levels: which frames of a new speech track the dub reads as speech, and
which as pauses (the speech gate, then the quiet rule), on recorded speech.

A person's track is not one level: a whispered aside 30-40 dB under the loud lines, a music
sting louder than the words after it. The dub keeps the source and closes the mouth where it
reads a pause (pipeline.quiet, the mouth bank), so quiet speech read as a pause is not dubbed.
Each case is built from Debian's `asterisk-core-sounds-en-wav` prompts (one recorded voice),
seeded, 25 frames a second:

- `aside -N dB`: a loud phrase, 1.2 s of pause, a phrase N dB quieter, 1.2 s, a loud phrase;
- `after a sting`: a 0.8 s music hit at full scale, then phrases 24 dB under it;
- `all 46 dB down`: phrases and pauses, the whole track 46 dB under the others (a voice far
  from the microphone), over a 1e-5 noise floor;
- guards: `clean` (phrases and 0.6-3 s pauses over a 1e-4 noise floor), `music bed` (a bed of
  chords 18 dB and hiss 35 dB under the voice), `room tone` (noise 40 dB under the voice,
  pauses of 4-6 s), where pauses must stay pauses.

Reported per case: the share of the quieter phrases' voiced frames read as speech (the clean
phrase's own 40 ms level within 20 dB of its loud level), the share of all voiced frames read
as speech, and the share of pause frames (inserted pauses, 0.1 s in from their edges) read as
pauses.

    python bench/speech_levels.py [--tracks 6] [--seed 0] [--write F]
"""

import argparse
import inspect
from pathlib import Path

import numpy as np

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.data.recorded import load_prompts, load_waveform
from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.media.loudness import quiet_at, window_rms
from omnisync_cli.media.speech_gate import speech_only

FPS = 25.0
SPAN = 1.0 / FPS
VOICE_PEAK = 0.5


def db(x: float) -> float:
    return 10 ** (x / 20)


def chord(seconds: float, rng: np.random.Generator, decay: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    root = rng.uniform(110, 220)
    wave = sum(np.sin(2 * np.pi * root * r * t + rng.uniform(0, 6.3)) for r in (1, 1.26, 1.5, 2))
    wave = wave * (np.exp(-decay * t) if decay else 1.0)
    return (wave / np.abs(wave).max()).astype(np.float32)


class Track:
    """A track built piece by piece, with the frames that are voiced and those that are pauses."""

    def __init__(self) -> None:
        self.pieces: list[np.ndarray] = []
        self.voiced: list[tuple[int, np.ndarray, bool]] = []  # (start sample, voiced mask per sample, quieter)
        self.pauses: list[tuple[int, int]] = []

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.pieces)

    def phrase(self, wave: np.ndarray, gain_db: float, quieter: bool = False) -> None:
        wave = wave * (VOICE_PEAK / max(np.abs(wave).max(), 1e-9))
        rms = window_rms(wave, SAMPLE_RATE, np.arange(len(wave)) / SAMPLE_RATE, 0.04)
        self.voiced.append((self.length, rms >= np.percentile(rms, 95) * db(-20), quieter))
        self.pieces.append((wave * db(gain_db)).astype(np.float32))

    def pause(self, seconds: float) -> None:
        self.pauses.append((self.length, self.length + int(seconds * SAMPLE_RATE)))
        self.pieces.append(np.zeros(int(seconds * SAMPLE_RATE), np.float32))

    def add(self, wave: np.ndarray) -> None:
        self.pieces.append(wave.astype(np.float32))

    def frames(self, under: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The track (with `under` added beneath it) and per frame: voiced, voiced and quieter, pause."""
        wave = np.concatenate(self.pieces)
        if under is not None:
            wave = wave + under[:len(wave)]
        n = int(len(wave) / SAMPLE_RATE * FPS)
        centre = ((np.arange(n) + 0.5) / FPS * SAMPLE_RATE).astype(int)
        masks = {k: np.zeros(n, bool) for k in ("voiced", "quieter", "pause")}
        for start, voiced, quieter in self.voiced:
            inside = (centre >= start) & (centre < start + len(voiced))
            hit = voiced[np.clip(centre - start, 0, len(voiced) - 1)] & inside
            masks["voiced"] |= hit
            masks["quieter"] |= hit & quieter
        margin = int(0.1 * SAMPLE_RATE)
        for start, end in self.pauses:
            masks["pause"] |= (centre >= start + margin) & (centre < end - margin)
        return wave.astype(np.float32), masks


def phrases(prompts, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    out = []
    while len(out) < count:
        wave = load_waveform(prompts[int(rng.integers(len(prompts)))].path)
        if 0.8 * SAMPLE_RATE <= len(wave) <= 3.5 * SAMPLE_RATE:
            out.append(wave)
    return out


def build(case: str, prompts, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    track = Track()
    noise = rng.normal(0, 1e-4, 40 * SAMPLE_RATE).astype(np.float32)
    if case.startswith("aside"):
        quieter = float(case.split()[1])
        a, b, c = phrases(prompts, rng, 3)
        track.pause(0.5)
        track.phrase(a, 0.0)
        track.pause(1.2)
        track.phrase(b, quieter, quieter=True)
        track.pause(1.2)
        track.phrase(c, 0.0)
        track.pause(0.5)
        return track.frames(noise)
    if case == "after a sting":
        track.add(chord(0.8, rng, decay=3.0) * 0.95)
        track.pause(0.3)
        for wave in phrases(prompts, rng, 2):
            track.phrase(wave, 20 * np.log10(0.95 / VOICE_PEAK) - 24.0, quieter=True)
            track.pause(1.0)
        return track.frames(noise)
    pause_s = {"room tone": (4.0, 6.0), "noise 26 dB under": (1.0, 3.0)}.get(case, (0.6, 3.0))
    gain = -46.0 if case == "all 46 dB down" else 0.0
    track.pause(rng.uniform(*pause_s))
    for wave in phrases(prompts, rng, 3):
        track.phrase(wave, gain, quieter=gain < 0)
        track.pause(rng.uniform(*pause_s))
    length = track.length
    if case == "clean":
        return track.frames(noise)
    if case == "all 46 dB down":
        return track.frames(noise / 10)
    if case == "music bed":
        bed = np.concatenate([chord(1.0, rng) for _ in range(int(length / SAMPLE_RATE) + 2)])
        bed = bed / np.sqrt(np.mean(bed ** 2)) * 0.1 * db(-18) + rng.normal(0, 0.1 * db(-35), len(bed))
        return track.frames(bed.astype(np.float32))
    if case in ("room tone", "noise 26 dB under"):
        width, level = (400, -40) if case == "room tone" else (60, -26)
        tone = np.cumsum(rng.normal(0, 1, length + SAMPLE_RATE))  # brown-ish noise, high-passed
        tone = tone - np.convolve(tone, np.ones(width) / width, mode="same")
        tone = tone / np.sqrt(np.mean(tone ** 2)) * 0.1 * db(level)
        return track.frames(tone.astype(np.float32))
    raise ValueError(case)


def read_as_pause(wave: np.ndarray, frames: int) -> np.ndarray:
    """Per frame: the dub reads a pause there (the speech gate, then the quiet rule)."""
    heard = speech_only(wave)
    times = np.arange(frames) / FPS
    if "gated" in inspect.signature(quiet_at).parameters:  # trees before the rule (before/after runs) lack it
        return quiet_at(heard, SAMPLE_RATE, times, SPAN, gated=True)
    return quiet_at(heard, SAMPLE_RATE, times, SPAN)


CASES = ("aside -20 dB", "aside -30 dB", "aside -36 dB", "aside -42 dB", "after a sting",
         "clean", "music bed", "room tone", "all 46 dB down", "noise 26 dB under")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=6, help="tracks per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    prompts = load_prompts()
    rows = []
    for case in CASES:
        rng = np.random.default_rng([args.seed, CASES.index(case)])
        counts = dict(quieter=[0, 0], voiced=[0, 0], pause=[0, 0])
        for _ in range(args.tracks):
            wave, masks = build(case, prompts, rng)
            pause = read_as_pause(wave, len(masks["voiced"]))
            for key, mask in masks.items():
                hits = (~pause if key != "pause" else pause)[mask]
                counts[key][0] += int(hits.sum())
                counts[key][1] += int(mask.sum())
        share = {k: (f"{100 * a / b:.1f} % of {b}" if b else "-") for k, (a, b) in counts.items()}
        rows.append(f"| {case} | {share['quieter']} | {share['voiced']} | {share['pause']} |")
    emit(["| case | quieter phrases' voiced frames read as speech | all voiced frames read as speech "
          "| pause frames read as pauses |", "|---|---|---|---|", *rows], args.write)


if __name__ == "__main__":
    main()
