"""Phonemes -> mouth shapes (visemes) over time, with co-articulation and articulation amplitude.

A mouth shape is five numbers in `MOUTH_FIELDS`: opening (0 closed .. 1 wide open), width
(0 narrow .. 1 wide, 0.5 at rest), rounding (0 .. 1 pursed), teeth and tongue visibility
(0 .. 1). Every IPA phoneme maps to a target shape and a dominance (how strongly it
imposes its shape on its neighbours, after Cohen & Massaro 1993: lips must close for
/p b m/ whatever surrounds them, while /t k/ borrow the shape of the next vowel).

The track is built at 200 Hz: targets held over each phoneme, blended with a Gaussian
weighted by dominance and shifted a little ahead in time, because lips move towards the
next sound before it is heard (anticipatory co-articulation). Silence has a high
dominance and the rest shape as target, so a pause longer than the kernel gives a mouth
that is exactly closed and still. The track is then sampled at any frame times.
"""

import numpy as np

from .speech import SILENCE

MOUTH_FIELDS = ("open", "width", "round", "teeth", "tongue")
REST = np.array([0.0, 0.5, 0.0, 0.0, 0.0], np.float32)  # closed, relaxed, nothing visible

_RATE = 200.0          # Hz of the internal track
_BLEND_S = 0.035       # Gaussian std of the co-articulation blend
_ANTICIPATE_S = 0.03   # lips lead the sound by this much

# (open, width, round, teeth, tongue), dominance
_CLASSES = {
    "silence":     ((0.00, 0.50, 0.00, 0.00, 0.00), 2.0),
    "bilabial":    ((0.00, 0.45, 0.05, 0.00, 0.00), 4.0),
    "labiodental": ((0.12, 0.50, 0.00, 1.00, 0.00), 2.5),
    "dental":      ((0.22, 0.55, 0.00, 0.80, 1.00), 1.5),
    "alveolar":    ((0.25, 0.55, 0.00, 0.75, 0.35), 0.6),
    "lateral":     ((0.35, 0.55, 0.00, 0.60, 0.80), 0.7),
    "postalveolar": ((0.25, 0.35, 0.60, 0.85, 0.10), 1.5),
    "velar":       ((0.35, 0.50, 0.00, 0.30, 0.10), 0.4),
    "glottal":     ((0.40, 0.50, 0.00, 0.20, 0.00), 0.2),
    "approx_w":    ((0.15, 0.20, 1.00, 0.00, 0.00), 2.0),
    "approx_j":    ((0.20, 0.75, 0.00, 0.60, 0.20), 1.0),
    "rhotic":      ((0.25, 0.40, 0.40, 0.40, 0.20), 0.8),
    "open":        ((1.00, 0.60, 0.00, 0.45, 0.35), 1.0),
    "mid":         ((0.55, 0.65, 0.00, 0.50, 0.20), 1.0),
    "schwa":       ((0.40, 0.50, 0.00, 0.35, 0.10), 0.6),
    "close_front": ((0.25, 0.90, 0.00, 0.85, 0.10), 1.0),
    "close_round": ((0.25, 0.25, 0.90, 0.10, 0.00), 1.2),
    "mid_round":   ((0.60, 0.35, 0.70, 0.20, 0.05), 1.0),
    "close_back":  ((0.25, 0.20, 1.00, 0.05, 0.00), 1.3),
}

# IPA symbol -> class. Multi-letter symbols are matched before single letters.
_SYMBOLS = {
    "tʃ": "postalveolar", "dʒ": "postalveolar",
    "p": "bilabial", "b": "bilabial", "m": "bilabial", "β": "bilabial", "ɸ": "bilabial",
    "f": "labiodental", "v": "labiodental", "ʋ": "labiodental",
    "θ": "dental", "ð": "dental",
    "t": "alveolar", "d": "alveolar", "n": "alveolar", "s": "alveolar", "z": "alveolar",
    "ɾ": "alveolar", "r": "alveolar", "ɲ": "alveolar", "c": "alveolar",
    "l": "lateral", "ɫ": "lateral", "ʎ": "lateral",
    "ʃ": "postalveolar", "ʒ": "postalveolar", "ç": "postalveolar", "ɕ": "postalveolar",
    "ʑ": "postalveolar",
    "k": "velar", "g": "velar", "ɡ": "velar", "ŋ": "velar", "x": "velar", "ɣ": "velar",
    "q": "velar", "ʝ": "approx_j",
    "h": "glottal", "ɦ": "glottal", "ʔ": "glottal", "χ": "glottal", "ʁ": "glottal",
    "w": "approx_w", "ɥ": "approx_w",
    "j": "approx_j",
    "ɹ": "rhotic", "ɻ": "rhotic", "ɚ": "rhotic", "ɝ": "rhotic",
    "a": "open", "ɑ": "open", "æ": "open", "ɐ": "open", "ä": "open", "ɶ": "open",
    "e": "mid", "ɛ": "mid", "ʌ": "mid", "ɜ": "mid", "ɞ": "mid",
    "ə": "schwa", "ɘ": "schwa", "ɵ": "schwa", "ɨ": "schwa",
    "i": "close_front", "ɪ": "close_front", "ɯ": "close_front",
    "y": "close_round", "ʏ": "close_round", "ø": "mid_round", "œ": "mid_round",
    "o": "mid_round", "ɔ": "mid_round", "ɒ": "mid_round",
    "u": "close_back", "ʊ": "close_back", "ʉ": "close_back",
}
_VOWEL_CLASSES = {"open", "mid", "schwa", "close_front", "close_round", "mid_round",
                  "close_back", "rhotic"}


def phoneme_classes(phoneme: str) -> list[str]:
    """The viseme classes of one espeak IPA phoneme name; diphthongs give two ("aɪ")."""
    if phoneme == SILENCE:
        return ["silence"]
    out, i = [], 0
    while i < len(phoneme):
        two = phoneme[i:i + 2]
        if two in _SYMBOLS:
            out.append(_SYMBOLS[two])
            i += 2
        else:
            if phoneme[i] in _SYMBOLS:
                out.append(_SYMBOLS[phoneme[i]])
            i += 1  # length marks, stress, nasal tildes, tie bars: no shape of their own
    if len(out) > 1 and out[0] not in _VOWEL_CLASSES:  # affricate-like clusters: first wins
        out = out[:1]
    return out[:2] or ["schwa"]


def _segments(phonemes) -> list[tuple[str, float, float]]:
    """(class, start, end), diphthongs split in two halves."""
    segs = []
    for name, start, end in phonemes:
        classes = phoneme_classes(name)
        step = (end - start) / len(classes)
        for k, cls in enumerate(classes):
            segs.append((cls, start + k * step, start + (k + 1) * step))
    return segs


def viseme_track(phonemes, frame_times: np.ndarray, amplitude: float = 1.0) -> np.ndarray:
    """Mouth shapes (F, 5) float32 at `frame_times` (seconds) for (phoneme, start_s, end_s).

    `amplitude` scales how far every field moves away from the rest shape (0.3: mumbling,
    1.2: loud and clear); values are clipped to [0, 1]. Times outside the phonemes are silence.
    """
    frame_times = np.asarray(frame_times, np.float64)
    end = max([e for _, _, e in phonemes] + [float(frame_times.max(initial=0.0))]) + 0.5
    n = int(np.ceil(end * _RATE)) + 1
    t = np.arange(n) / _RATE
    targets = np.tile(REST, (n, 1)).astype(np.float64)
    dominance = np.full(n, _CLASSES["silence"][1])
    for cls, s, e in _segments(phonemes):
        i0, i1 = int(round(s * _RATE)), max(int(round(e * _RATE)), int(round(s * _RATE)) + 1)
        targets[i0:i1] = _CLASSES[cls][0]
        dominance[i0:i1] = _CLASSES[cls][1]
    # Dominance-weighted Gaussian blend, truncated at 3 std so long pauses stay exactly at rest.
    half = int(np.ceil(3 * _BLEND_S * _RATE))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / (_BLEND_S * _RATE)) ** 2)
    weight = np.convolve(dominance, kernel, mode="same")
    blended = np.stack([np.convolve(targets[:, k] * dominance, kernel, mode="same")
                        for k in range(targets.shape[1])], axis=1) / weight[:, None]
    speaking = np.any(targets != REST, axis=1).astype(np.float64)
    blended[np.convolve(speaking, np.ones(2 * half + 1), mode="same") < 0.5] = REST  # exact rest
    # Sample ahead of the frame time: the mouth shows now what is heard a little later.
    shape = np.stack([np.interp(frame_times + _ANTICIPATE_S, t, blended[:, k])
                      for k in range(blended.shape[1])], axis=1)
    shape = REST + amplitude * (shape - REST)
    return np.clip(shape, 0.0, 1.0).astype(np.float32)


# Articulation levels: amplitude and several phrasings of the prompt that describes it.
ARTICULATION_LEVELS = (
    (0.35, ("a person speaking softly, barely moving the lips",
            "mumbling with almost closed lips",
            "whispering with very small mouth movements",
            "speaking under the breath, lips nearly still")),
    (0.6, ("a person speaking quietly with small lip movements",
           "talking calmly with a relaxed mouth",
           "speaking in a low voice with subtle mouth movements")),
    (0.85, ("a person speaking normally",
            "talking with natural lip movements",
            "a character speaking at a normal volume",
            "speaking in a conversational tone")),
    (1.05, ("a person speaking clearly with visible teeth",
            "articulating each word clearly",
            "speaking distinctly with open mouth shapes")),
    (1.25, ("a person speaking loudly with clear facial and tooth movements",
            "shouting with a wide open mouth and clear teeth",
            "speaking loudly, exaggerating every mouth movement",
            "projecting the voice with big, clear lip and teeth movements")),
)


def articulation_prompt(rng: np.random.Generator, level: int | None = None,
                        lowest: int = 0) -> tuple[int, float, str]:
    """Draw (level, amplitude, prompt text); a random level from `lowest` up when `level` is None."""
    if level is None:
        level = int(rng.integers(lowest, len(ARTICULATION_LEVELS)))
    amplitude, phrasings = ARTICULATION_LEVELS[level]
    # A little jitter inside a level, so the amplitude is not one of five values.
    jitter = float(rng.uniform(-0.06, 0.06))
    return level, amplitude + jitter, phrasings[int(rng.integers(len(phrasings)))]
