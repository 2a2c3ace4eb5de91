"""Burned-in text over a frame: subtitles, captions, titles, timecodes.

Real video often carries text near the speaker: a subtitle just under the mouth, a name caption,
a channel's timecode in a corner. None of it is a mouth. The mouth localiser trains with text on
some of its frames so that it does not take letters for a mouth (a user tour: on a drawn cat the
localiser was sure of a subtitle's leading digit and the dub edited the digit, never the beak).
The text is drawn with OpenCV's own Hershey fonts, in the places and looks text takes in video,
and never over a mouth (the frame's mouths stay what the localiser must find).
"""

import string

import cv2
import numpy as np

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL)
LETTERS = string.ascii_letters + string.digits
CLEAR_FACES = 0.6  # text keeps this many face widths from every mouth centre
PLACES_TRIED = 8


def random_caption(rng: np.random.Generator) -> str:
    """A line of text: words of letters and digits with punctuation, or a timecode."""
    if rng.random() < 0.2:
        return ":".join(f"{int(v):02d}" for v in rng.integers(0, 60, int(rng.integers(2, 4))))
    words = ["".join(rng.choice(list(LETTERS), int(rng.integers(1, 9)))) for _ in range(int(rng.integers(1, 6)))]
    return " ".join(words) + str(rng.choice(["", "", ".", ",", "!", "?", "..."]))


def draw_caption(rng: np.random.Generator, frame: np.ndarray, mouths: np.ndarray) -> np.ndarray:
    """`frame` (H, W, 3) uint8 with a line of text drawn where it covers no mouth of `mouths`
    (K, 3: x, y, face width), as a subtitle (low and centred) or anywhere; unchanged where no
    place tried leaves the mouths clear."""
    height, width = frame.shape[:2]
    text, font = random_caption(rng), int(rng.choice(FONTS))
    scale = height * rng.uniform(0.03, 0.12) / cv2.getTextSize("Ag", font, 1.0, 1)[0][1]
    thickness = max(1, int(round(scale * rng.uniform(0.8, 2.5))))
    (text_w, text_h), base = cv2.getTextSize(text, font, scale, thickness)
    if text_w > 0.95 * width:  # a long line is set smaller, as subtitles are
        scale *= 0.95 * width / text_w
        thickness = max(1, min(thickness, int(round(scale * 2.5))))
        (text_w, text_h), base = cv2.getTextSize(text, font, scale, thickness)
    if text_w >= width or text_h + base >= height:
        return frame
    for _ in range(PLACES_TRIED):
        if rng.random() < 0.6:  # a subtitle band
            x = (width - text_w) // 2 + int(rng.integers(-width // 10, width // 10 + 1))
            y = int(height * rng.uniform(0.65, 0.95))
        else:
            x, y = int(rng.integers(0, width - text_w)), int(rng.integers(text_h, height - base))
        x = int(np.clip(x, 0, width - text_w))
        box = (x, y - text_h, x + text_w, y + base)
        if clear_of(box, mouths):
            return _drawn(rng, frame, text, font, scale, thickness, (x, y), box)
    return frame


def clear_of(box: tuple[int, int, int, int], mouths: np.ndarray) -> bool:
    """Whether the box (left, top, right, bottom) keeps CLEAR_FACES face widths from every mouth."""
    left, top, right, bottom = box
    for x, y, face in np.asarray(mouths, np.float64).reshape(-1, 3):
        margin = CLEAR_FACES * face
        if left - margin < x < right + margin and top - margin < y < bottom + margin:
            return False
    return True


def _drawn(rng, frame, text, font, scale, thickness, origin, box) -> np.ndarray:
    out = frame.copy()
    colour = tuple(int(c) for c in (rng.choice([[255, 255, 255], [255, 230, 40]]) if rng.random() < 0.7
                                    else rng.integers(0, 256, 3)))
    if rng.random() < 0.25:  # a dark box behind it
        left, top, right, bottom = box
        pad = max(2, thickness * 2)
        region = out[max(0, top - pad):bottom + pad, max(0, left - pad):right + pad]
        region[:] = (region * rng.uniform(0.0, 0.5)).astype(np.uint8)
    elif rng.random() < 0.6:  # an outline
        cv2.putText(out, text, origin, font, scale, (0, 0, 0), thickness + max(2, thickness), cv2.LINE_AA)
    cv2.putText(out, text, origin, font, scale, colour, thickness, cv2.LINE_AA)
    return out
