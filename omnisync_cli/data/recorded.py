"""Recorded human speech with phoneme timings: the Asterisk prompts, force-aligned.

The synthetic corpus speaks through espeak-ng, so everything trained on it has only heard
synthesized voices. To measure how audio features carry over to real voices we need
recorded speech whose phoneme timings we know. Debian's `asterisk-core-sounds-en-wav`
(568 prompts, one female US voice, 8 kHz telephone audio, CC-BY-SA-3.0) holds the audio
and `asterisk-core-sounds-en` the transcripts; pocketsphinx (PyPI, ships the en-us
acoustic model and the CMU dictionary) aligns each transcript to its audio.

The result is the same `Utterance` that `speech.synthesize` returns: 16 kHz mono audio
and contiguous (IPA phoneme, start_s, end_s) segments, so `visemes.viseme_track` turns it
into mouth shapes exactly as for the synthetic corpus. ARPAbet phones become the IPA
symbols espeak uses (`ARPABET_TO_IPA`); pocketsphinx gives no stress, so AH is always /ʌ/
where espeak would often say /ə/.

    aligner = Aligner()
    for prompt in load_prompts():
        utt = aligner.utterance(prompt)      # raises InputError when it cannot align
"""

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ..errors import InputError
from .speech import SAMPLE_RATE, SILENCE, Utterance

SOUNDS_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
VOICE = "asterisk-en_US_f_Allison"

# CMU / pocketsphinx en-us phone set (39 phones, no stress) -> espeak-style IPA.
ARPABET_TO_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɚ",
    "EY": "eɪ", "IH": "ɪ", "IY": "i", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "u",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s",
    "SH": "ʃ", "T": "t", "TH": "θ", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
# Silence and pocketsphinx's filler phones (+NSN+, +SPN+, ...) have no mouth shape.
_SILENT_PHONES = {"SIL"}

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen " \
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOL_WORDS = {"#": "pound", "*": "star", "&": "and", "%": "percent"}


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt: its name ("digits/7"), spoken words (lower case), and WAV file."""

    name: str
    text: str
    path: Path


def _number_words(n: int) -> list[str] | None:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    return None  # "323" may be said digit by digit or not: leave such prompts out


def spoken_text(transcript: str) -> str | None:
    """The words a transcript line says, lower case, for the CMU dictionary; None when the
    line describes a sound instead of words ("[ascending tones]") or holds a number that
    cannot be spelt unambiguously."""
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", transcript)  # stage directions, symbols
    words: list[str] = []
    for token in re.findall(r"[A-Za-z][A-Za-z.']*|\d+|[#*&%]", text):
        if token.isdigit():
            spelt = _number_words(int(token))
            if spelt is None:
                return None
            words += spelt
        elif token in _SYMBOL_WORDS:
            words.append(_SYMBOL_WORDS[token])
        elif re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]?\.?", token) and len(token) > 2:
            words += [c for c in token.lower() if c.isalpha()]  # "A.M." -> a m
        else:
            words.append(token.lower().strip(".'"))
    words = [w for w in words if w]
    return " ".join(words) or None


def read_transcripts(path: Path = TRANSCRIPTS) -> dict[str, str]:
    """{prompt name: transcript} from `core-sounds-en.txt(.gz)` ("name: text" lines)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            out[name.strip()] = text.strip()
    return out


def load_prompts(sounds_dir: Path = SOUNDS_DIR, transcripts: Path = TRANSCRIPTS) -> list[Prompt]:
    """Every prompt that has both a WAV file and a transcript of spoken words, by name."""
    if not sounds_dir.is_dir() or not transcripts.is_file():
        raise InputError(f"Recorded prompts not found ({sounds_dir}, {transcripts}): run "
                         "`apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en`")
    prompts = []
    for name, line in sorted(read_transcripts(transcripts).items()):
        path = sounds_dir / f"{name}.wav"
        text = spoken_text(line)
        if text is not None and path.is_file():
            prompts.append(Prompt(name, text, path))
    return prompts


def load_waveform(path: Path) -> np.ndarray:
    """(N,) float32 mono at the project's 16 kHz, whatever the file's own rate."""
    wave, rate = sf.read(path, dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = np.gcd(SAMPLE_RATE, rate)
        wave = resample_poly(wave, SAMPLE_RATE // g, rate // g)
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


class Aligner:
    """pocketsphinx forced alignment of known words to 16 kHz audio, at 10 ms resolution.

    The beams are opened all the way (1e-80): with the defaults the aligner prunes the only
    path through the transcript and returns nothing. No dither: with it, the same audio
    aligns differently depending on what the decoder aligned before.
    """

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise InputError("pocketsphinx is not installed: `pip install pocketsphinx`") from exc
        self.decoder = Decoder(samprate=SAMPLE_RATE, beam=1e-80, wbeam=1e-80, pbeam=1e-80,
                               bestpath=False, loglevel="FATAL")
        self.frame_s = 1.0 / self.decoder.config["frate"]

    def align(self, waveform: np.ndarray, text: str) -> tuple[tuple[str, float, float], ...]:
        """Contiguous (IPA phoneme, start_s, end_s) covering the whole waveform; SILENCE
        for pauses and for any audio before or after the aligned words."""
        missing = [w for w in text.split() if self.decoder.lookup_word(w) is None]
        if missing:
            raise InputError(f"Words not in the pronunciation dictionary: {', '.join(missing)}")
        pcm = (np.clip(waveform, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        d = self.decoder
        d.set_align_text(text)  # pass 1: word alignment
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            raise InputError(f"pocketsphinx could not align {text!r}")
        d.set_alignment()  # pass 2: phone alignment inside the words
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        alignment = d.get_alignment()
        if alignment is None:
            raise InputError(f"pocketsphinx could not align the phones of {text!r}")
        seconds = len(waveform) / SAMPLE_RATE
        out: list[tuple[str, float, float]] = []
        for word in alignment:
            for phone in word:
                start = phone.start * self.frame_s
                end = min((phone.start + phone.duration) * self.frame_s, seconds)
                name = SILENCE if phone.name in _SILENT_PHONES or phone.name.startswith("+") \
                    else ARPABET_TO_IPA[phone.name]
                _append(out, name, start, end)
        if not out:
            raise InputError(f"pocketsphinx aligned no phones for {text!r}")
        if out[0][1] > 0:
            out.insert(0, (SILENCE, 0.0, out[0][1]))
        _append(out, SILENCE, out[-1][2], seconds)
        return tuple(out)

    def utterance(self, prompt: Prompt, pad_s: float = 0.3) -> Utterance:
        """The prompt's audio with `pad_s` of silence either side (the files are trimmed to
        the speech, the corpus clips are not), aligned."""
        pad = np.zeros(int(round(pad_s * SAMPLE_RATE)), np.float32)
        wave = np.concatenate([pad, load_waveform(prompt.path), pad])
        return Utterance(prompt.text, "en", VOICE, 0, 0, wave, self.align(wave, prompt.text))


# Each process aligns with its own pocketsphinx decoder, made on first use (corpus workers).
_PROCESS: dict = {}


def recorded_utterance(rng: np.random.Generator, seconds: float, lead_s: tuple[float, float] = (0.2, 0.6),
                       tail_s: float = 0.3, min_share: float = 0.35) -> Utterance:
    """A random prompt that fits in `seconds` and speaks for at least `min_share` of it (not
    a lone "india"), started after a random lead and padded with silence to exactly
    `seconds`, aligned: a benchmark's new speech spoken by a person."""
    if "aligner" not in _PROCESS:
        _PROCESS["prompts"], _PROCESS["aligner"] = load_prompts(), Aligner()
    prompts, aligner = _PROCESS["prompts"], _PROCESS["aligner"]
    total = int(round(seconds * SAMPLE_RATE))
    for _ in range(200):  # prompts too short or too long for the clip, or that pocketsphinx cannot align, are passed over
        prompt = prompts[int(rng.integers(len(prompts)))]
        lead = int(round(rng.uniform(*lead_s) * SAMPLE_RATE))
        speech = load_waveform(prompt.path)
        if not min_share * total <= len(speech) <= total - lead - tail_s * SAMPLE_RATE:
            continue
        wave = np.zeros(total, np.float32)
        wave[lead:lead + len(speech)] = speech
        try:
            return Utterance(prompt.text, "en", VOICE, 0, 0, wave, aligner.align(wave, prompt.text))
        except InputError:
            continue
    raise InputError(f"no recorded prompt of at most {seconds:g} s could be aligned in 200 draws")


def _append(out: list, name: str, start: float, end: float) -> None:
    """Add a segment, closing any gap with the previous one and merging repeated silence."""
    if out and start > out[-1][2]:  # a gap: the previous segment lasts until this one
        out[-1] = (out[-1][0], out[-1][1], start)
    start = out[-1][2] if out else start
    if end <= start:
        return
    if out and name == SILENCE and out[-1][0] == SILENCE:
        out[-1] = (SILENCE, out[-1][1], end)
    else:
        out.append((name, start, end))
