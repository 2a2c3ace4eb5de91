"""Real synthesized speech with phoneme timings, from libespeak-ng through ctypes.

The espeak-ng command line gives phonemes without times; the library gives both: in
synchronous mode it hands every block of 16-bit samples to a callback together with its
events, and with `espeakINITIALIZE_PHONEME_EVENTS` one event per phoneme carries the
sample index where that phoneme starts. A phoneme ends where the next event starts.

Sentences come from small per-language word lists, drawn from a numpy Generator, so a
seed fixes the text, the voice, the rate and the pitch. `is_heldout_text` splits sentence
texts into a training and a benchmark set by hash, so the two never share a sentence.
"""

import ctypes
import os
import pickle
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

from ..errors import InputError

SAMPLE_RATE = 16000  # the project's audio rate (ARCHITECTURE.md)

# speak_lib.h constants (espeak-ng 1.51)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7

SILENCE = ""  # phoneme name used for pauses (espeak reports them as empty names too)


class _Event(ctypes.Structure):
    """`espeak_EVENT`; the id union is read as its 8-byte phoneme-name member."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class _Engine:
    """The process's one libespeak-ng instance (the library keeps global state)."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError as exc:
            raise InputError("libespeak-ng is not installed: run `apt-get install espeak-ng` "
                             "(Debian/Ubuntu) to synthesize the corpus speech") from exc
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
        if self.rate <= 0:
            raise InputError("libespeak-ng failed to initialise (espeak-ng-data missing?)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _Callback(self._collect)  # kept referenced: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_PHONEME:
                name = bytes(events[i].id).split(b"\0")[0].decode("utf-8", "replace")
                self._events.append((name, events[i].sample))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int,
              word_gap: int) -> tuple[np.ndarray, list[tuple[str, int]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"espeak-ng has no voice {voice!r}; list them with `espeak-ng --voices`")
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch),
                             (_PARAM_RANGE, pitch_range), (_PARAM_WORDGAP, word_gap),
                             (_PARAM_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        wav = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return wav, self._events


def _synth_fresh(text: str, voice: str, rate: int, pitch: int, pitch_range: int,
                 word_gap: int) -> tuple[int, np.ndarray, list[tuple[str, int]]]:
    """Synthesize in a forked child that initialises libespeak-ng from scratch.

    espeak-ng keeps synthesis state between calls (pitch-flutter phase, glottal wave
    phase), so the same text comes out a few samples different depending on what the
    process said before. A fresh instance per utterance makes the corpus depend on its
    seed only, whatever the worker count or clip order. fork + init costs a few ms.
    """
    if not hasattr(os, "fork"):  # no fork (Windows): same text, history-dependent samples
        engine = _Engine()
        return (engine.rate, *engine.synth(text, voice, rate, pitch, pitch_range, word_gap))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        status = 0
        try:
            os.close(read_fd)
            engine = _Engine()
            wav, events = engine.synth(text, voice, rate, pitch, pitch_range, word_gap)
            payload = pickle.dumps((engine.rate, wav, events, None))
        except BaseException as exc:  # reported to the parent, which raises it
            payload, status = pickle.dumps((0, None, None, str(exc) or type(exc).__name__)), 1
        with os.fdopen(write_fd, "wb") as out:
            out.write(payload)
        os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        payload = inp.read()
    os.waitpid(pid, 0)
    if not payload:
        raise InputError("the espeak-ng synthesis process died without output")
    sample_rate, wav, events, error = pickle.loads(payload)
    if error is not None:
        raise InputError(error)
    return sample_rate, wav, events


@dataclass(frozen=True)
class Utterance:
    """One synthesized sentence: 16 kHz mono audio and its phoneme segments.

    `phonemes` holds (IPA phoneme, start_s, end_s) with no gaps; pauses are SILENCE ("").
    """

    text: str
    language: str  # ISO 639-1 code of the voice ("en" for en-us, en-gb-scotland, ...)
    voice: str
    rate: int
    pitch: int
    waveform: np.ndarray  # (N,) float32 at SAMPLE_RATE
    phonemes: tuple[tuple[str, float, float], ...]

    @property
    def seconds(self) -> float:
        return len(self.waveform) / SAMPLE_RATE


def synthesize(text: str, voice: str = "en", rate: int = 175, pitch: int = 50,
               pitch_range: int = 50, word_gap: int = 0) -> Utterance:
    """Speak `text` with an espeak-ng voice ("en", "de+f2", ...), rate in words per minute."""
    espeak_rate, raw, events = _synth_fresh(text, voice, rate, pitch, pitch_range, word_gap)
    # espeak-ng speaks at 22050 Hz: 16000 / 22050 = 320 / 441 exactly.
    g = np.gcd(SAMPLE_RATE, espeak_rate)
    wave = resample_poly(raw.astype(np.float32) / 32768.0, SAMPLE_RATE // g, espeak_rate // g)
    wave = np.clip(wave, -1.0, 1.0).astype(np.float32)
    seconds = len(wave) / SAMPLE_RATE
    phonemes: list[tuple[str, float, float]] = []
    if events:
        first = events[0][1] / espeak_rate
        if first > 0:
            phonemes.append((SILENCE, 0.0, first))
        for k, (name, sample) in enumerate(events):
            start = sample / espeak_rate
            end = events[k + 1][1] / espeak_rate if k + 1 < len(events) else seconds
            if end > start:
                phonemes.append((name, start, min(end, seconds)))
    language = voice.split("+")[0].split("-")[0]  # "en-gb-scotland+f2" -> "en"
    return Utterance(text, language, voice, int(rate), int(pitch), wave, tuple(phonemes))


def pad_to(utt: Utterance, seconds: float, lead_s: float = 0.0) -> Utterance:
    """Place the speech `lead_s` into a silent track of exactly `seconds` (cut if longer)."""
    n = int(round(seconds * SAMPLE_RATE))
    lead = int(round(lead_s * SAMPLE_RATE))
    wave = np.zeros(n, np.float32)
    body = utt.waveform[: max(0, n - lead)]
    wave[lead: lead + len(body)] = body
    shift = lead / SAMPLE_RATE
    phonemes = [(SILENCE, 0.0, shift)] if shift > 0 else []
    for name, s, e in utt.phonemes:
        s, e = s + shift, min(e + shift, seconds)
        if s < seconds and e > s:
            phonemes.append((name, s, e))
    end = phonemes[-1][2] if phonemes else 0.0
    if end < seconds:
        phonemes.append((SILENCE, end, seconds))
    return Utterance(utt.text, utt.language, utt.voice, utt.rate, utt.pitch, wave, tuple(phonemes))


# Everyday words per language; sentences are random word strings (the mouth only needs
# realistic phoneme sequences, not meaning).
WORDS = {
    "en": "the a house river morning people little water yellow window garden before always "
          "never number people market simple table summer winter mother father brother "
          "over under quickly bright music paper office money story picture kitchen "
          "village forest mountain beautiful open close speak listen follow remember "
          "happy moving travel bottle yesterday tomorrow together children evening "
          "question answer purple orange machine family coffee weather".split(),
    "de": "das haus der wasser morgen leute klein gelb fenster garten immer niemals "
          "zahl markt einfach tisch sommer winter mutter vater bruder ueber unter schnell "
          "hell musik papier buero geld geschichte bild kueche dorf wald berg schoen "
          "offen sprechen hoeren folgen erinnern gluecklich reise flasche gestern morgen "
          "zusammen kinder abend frage antwort maschine familie kaffee wetter".split(),
    "fr": "la maison rivière matin gens petit eau jaune fenêtre jardin toujours jamais "
          "nombre marché simple table été hiver mère père frère sur sous vite clair "
          "musique papier bureau argent histoire image cuisine village forêt montagne "
          "beau ouvrir fermer parler écouter suivre heureux voyage bouteille hier demain "
          "ensemble enfants soir question réponse machine famille café temps".split(),
    "es": "la casa río mañana gente pequeño agua amarillo ventana jardín siempre nunca "
          "número mercado simple mesa verano invierno madre padre hermano sobre bajo "
          "rápido claro música papel oficina dinero historia imagen cocina pueblo bosque "
          "montaña bonito abrir cerrar hablar escuchar seguir feliz viaje botella ayer "
          "juntos niños tarde pregunta respuesta máquina familia café tiempo".split(),
    "it": "la casa fiume mattina gente piccolo acqua giallo finestra giardino sempre mai "
          "numero mercato semplice tavolo estate inverno madre padre fratello sopra sotto "
          "veloce chiaro musica carta ufficio soldi storia immagine cucina paese bosco "
          "montagna bello aprire chiudere parlare ascoltare seguire felice viaggio "
          "bottiglia ieri domani insieme bambini sera domanda risposta macchina".split(),
    "pt": "a casa rio manhã gente pequeno água amarelo janela jardim sempre nunca "
          "número mercado simples mesa verão inverno mãe pai irmão sobre sob rápido "
          "claro música papel escritório dinheiro história imagem cozinha aldeia "
          "floresta montanha bonito abrir fechar falar ouvir seguir feliz viagem "
          "garrafa ontem amanhã juntos crianças noite pergunta resposta máquina".split(),
    "nl": "het huis rivier morgen mensen klein water geel raam tuin altijd nooit nummer "
          "markt eenvoudig tafel zomer winter moeder vader broer over onder snel helder "
          "muziek papier kantoor geld verhaal beeld keuken dorp bos berg mooi open "
          "sluiten spreken luisteren volgen blij reis fles gisteren samen kinderen "
          "avond vraag antwoord machine familie koffie weer".split(),
}

# espeak-ng voice names per language, combined with a voice variant below.
VOICES = {
    "en": ["en", "en-us", "en-gb-scotland", "en-029"],
    "de": ["de"], "fr": ["fr", "fr-be"], "es": ["es", "es-419"], "it": ["it"],
    "pt": ["pt", "pt-br"], "nl": ["nl"],
}
VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m7", "+f1", "+f2", "+f3", "+f4", "+klatt"]
# English first and most often: most users dub English; the other languages add variety.
LANGUAGE_WEIGHTS = {"en": 0.4, "de": 0.1, "fr": 0.1, "es": 0.1, "it": 0.1, "pt": 0.1, "nl": 0.1}


def is_heldout_text(text: str) -> bool:
    """True for the ~10 % of sentence texts reserved for the benchmark (by CRC32)."""
    return zlib.crc32(text.encode("utf-8")) % 10 == 0


def random_sentence(rng: np.random.Generator, language: str, n_words: int,
                    heldout: bool = False) -> str:
    """A random sentence of `n_words`, from the benchmark (`heldout`) or the training texts."""
    words = WORDS[language]
    while True:
        picks = [words[i] for i in rng.integers(0, len(words), n_words)]
        if n_words >= 6 and rng.random() < 0.6:  # a comma gives a short pause mid-sentence
            picks[int(rng.integers(2, n_words - 2))] += ","
        text = " ".join(picks).capitalize() + "."
        if is_heldout_text(text) == heldout:
            return text


def join(first: Utterance, second: Utterance, gap_s: float) -> Utterance:
    """`first`, `gap_s` seconds of silence, then `second` (text, voice and rate from `first`)."""
    gap = np.zeros(int(round(gap_s * SAMPLE_RATE)), np.float32)
    shift = (len(first.waveform) + len(gap)) / SAMPLE_RATE
    phonemes = list(first.phonemes)
    end = phonemes[-1][2] if phonemes else 0.0
    if shift > end:
        phonemes.append((SILENCE, end, shift))
    phonemes += [(name, s + shift, e + shift) for name, s, e in second.phonemes]
    return Utterance(f"{first.text} ... {second.text}", first.language, first.voice, first.rate, first.pitch,
                     np.concatenate([first.waveform, gap, second.waveform]), tuple(phonemes))


def random_utterance_with_pause(rng: np.random.Generator, seconds: float, pause_s: tuple[float, float],
                                heldout: bool = False) -> Utterance:
    """Two random sentences of one voice with a silence of `pause_s` (min, max) seconds between them.

    The silence is what teaches a closed, still mouth inside speech; the track is padded or cut
    to exactly `seconds` like `random_utterance`'s.
    """
    gap = float(rng.uniform(*pause_s))
    lead = float(rng.uniform(0.05, 0.3))
    budget = max(0.4, (seconds - gap - lead - 0.1) / 2)
    voice = random_voice(rng)
    first = _trim_silence(_sentence_within(rng, voice, budget, heldout))
    second = _trim_silence(_sentence_within(rng, voice, budget, heldout))
    return pad_to(join(first, second, gap), seconds, lead)


def _trim_silence(utt: Utterance) -> Utterance:
    """Cut the leading and trailing silence phonemes (and their audio) off an utterance."""
    spoken = [p for p in utt.phonemes if p[0] != SILENCE]
    if not spoken:
        return utt
    start, end = spoken[0][1], spoken[-1][2]
    a, b = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
    phonemes = tuple((n, max(s, start) - start, min(e, end) - start) for n, s, e in utt.phonemes
                     if e > start and s < end)
    return Utterance(utt.text, utt.language, utt.voice, utt.rate, utt.pitch, utt.waveform[a:b], phonemes)


@dataclass(frozen=True)
class Voice:
    language: str
    name: str        # espeak-ng voice with variant, e.g. "en-us+f2"
    rate: int        # words per minute
    pitch: int
    pitch_range: int


def random_voice(rng: np.random.Generator) -> Voice:
    langs = list(LANGUAGE_WEIGHTS)
    language = langs[int(rng.choice(len(langs), p=list(LANGUAGE_WEIGHTS.values())))]
    name = VOICES[language][int(rng.integers(len(VOICES[language])))]
    name += VARIANTS[int(rng.integers(len(VARIANTS)))]
    return Voice(language, name, int(rng.integers(130, 230)), int(rng.integers(25, 80)), int(rng.integers(30, 90)))


def _sentence_within(rng: np.random.Generator, voice: Voice, budget_s: float, heldout: bool) -> Utterance:
    """One sentence of `voice` that lasts at most `budget_s` (down to one word)."""
    n_words = max(1, int(round(budget_s * voice.rate / 60.0 * 0.9)))
    for _ in range(6):
        utt = synthesize(random_sentence(rng, voice.language, n_words, heldout), voice.name, voice.rate,
                         voice.pitch, voice.pitch_range)
        if utt.seconds <= budget_s or n_words == 1:
            break
        n_words = max(1, int(n_words * budget_s / utt.seconds))
    return utt


def random_utterance(rng: np.random.Generator, seconds: float, heldout: bool = False) -> Utterance:
    """A random voice speaking a random sentence, padded with silence to exactly `seconds`.

    The speech fills roughly 45-85 % of the track after a short lead-in, so every clip holds
    both talking and a closed, still mouth. Too-long sentences are re-drawn shorter.
    """
    voice = random_voice(rng)
    lead = float(rng.uniform(0.1, 0.35)) * min(seconds, 3.0)
    target = float(rng.uniform(0.45, 0.85)) * seconds
    utt = _sentence_within(rng, voice, min(target / 0.9, seconds - lead - 0.1), heldout)
    return pad_to(utt, seconds, lead)
