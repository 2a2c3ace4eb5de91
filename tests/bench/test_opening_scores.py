"""The benchmark's opening figures: correlation with the truth's opening, silence vs speech."""

import numpy as np
import pytest

from omnisync_cli.bench import scores
from omnisync_cli.bench.opening import pause_frames, true_opening
from omnisync_cli.bench.scores import ScoredClip, opening_scores
from omnisync_cli.face.region import RegionBox

FPS = 25.0
UTTERANCE = {"amplitude": 1.0, "phonemes": [["", 0.0, 0.6], ["a", 0.6, 0.8], ["p", 0.8, 0.9], ["o", 0.9, 1.2],
                                            ["", 1.2, 2.0], ["e", 2.0, 2.4]]}


class FakeMeter:
    def __init__(self, reading):
        self.reading = reading

    def measure(self, crops, mouth_xy=None):
        return self.reading[:len(crops)]


def clip(n=60, utterance=UTTERANCE):
    frames = np.zeros((n, 32, 32, 3), np.uint8)
    boxes = [RegionBox(16, 16, 16)] * n
    return ScoredClip(frames, frames, frames, boxes, boxes, np.zeros(16000, np.float32), FPS, utterance=utterance)


def test_a_mouth_that_follows_the_truth_and_closes_in_pauses(monkeypatch):
    truth = true_opening(UTTERANCE, FPS, 60)
    monkeypatch.setattr(scores, "open_opening_meter", lambda directory="": FakeMeter(0.05 + 0.8 * truth))
    got = opening_scores(clip())
    quiet = pause_frames(UTTERANCE, FPS, 60)
    assert got["open_r"] == pytest.approx(1.0)
    assert got["silence_open"] == pytest.approx(np.mean(0.05 + 0.8 * truth[quiet]))
    assert got["silence_ratio"] == pytest.approx(got["silence_open"] / got["speech_open"])
    assert got["silence_ratio"] < 0.5


def test_a_mouth_that_keeps_talking_through_the_pauses(monkeypatch):
    talking = 0.3 + 0.2 * np.sin(np.arange(60))  # moves the same in speech and silence
    monkeypatch.setattr(scores, "open_opening_meter", lambda directory="": FakeMeter(talking))
    got = opening_scores(clip())
    assert got["silence_ratio"] > 0.7 and abs(got["open_r"]) < 0.5


def test_no_figures_without_a_synthetic_utterance(monkeypatch):
    monkeypatch.setattr(scores, "open_opening_meter", lambda directory="": FakeMeter(np.zeros(60)))
    assert opening_scores(clip(utterance=None)) == {}


def test_the_mouth_where_only_the_new_speech_speaks(monkeypatch):
    truth = true_opening(UTTERANCE, FPS, 60)
    monkeypatch.setattr(scores, "open_opening_meter", lambda directory="": FakeMeter(0.05 + 0.8 * truth))
    source_quiet = np.zeros(60, bool)
    source_quiet[15:30] = True  # the old speech paused over 0.6-1.2 s, where the new one speaks
    scored = clip()
    scored.source_quiet = source_quiet
    got = opening_scores(scored)
    woken = source_quiet & ~pause_frames(UTTERANCE, FPS, 60)
    assert got["woken_open"] == pytest.approx(np.mean(0.05 + 0.8 * truth[woken]))
    assert "woken_open" not in opening_scores(clip())


def test_the_mouth_where_only_the_old_speech_speaks(monkeypatch):
    truth = true_opening(UTTERANCE, FPS, 60)
    monkeypatch.setattr(scores, "open_opening_meter", lambda directory="": FakeMeter(0.05 + 0.8 * truth))
    source_quiet = np.zeros(60, bool)
    source_quiet[:15] = True  # the old speech paused over 0-0.6 s, as the new one does; it spoke over 1.2-2.0 s
    scored = clip()
    scored.source_quiet = source_quiet
    got = opening_scores(scored)
    hushed = ~source_quiet & pause_frames(UTTERANCE, FPS, 60)
    assert hushed.sum() >= 3 and not hushed[:15].any()
    assert got["hushed_open"] == pytest.approx(np.mean(0.05 + 0.8 * truth[hushed]))
    assert "hushed_open" not in opening_scores(clip())
