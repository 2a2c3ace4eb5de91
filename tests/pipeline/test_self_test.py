"""The model's own test on the character being dubbed (pipeline.self_test) and a dub that heeds it."""

from pathlib import Path

import numpy as np
import pytest

from omnisync_cli.data.mouth_swap import shifted
from omnisync_cli.errors import ConfigError
from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.media.video import VideoReader
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.dub import dub, trusted_share
from omnisync_cli.pipeline.editing import scaled_edit
from omnisync_cli.pipeline.options import DubOptions, check_options
from omnisync_cli.pipeline.mouth_bank import MouthBank
from omnisync_cli.pipeline.progress import SilentProgress
from omnisync_cli.pipeline.self_test import (edit_error_terms, gain_db, least_error_scale, own_test_segments,
                                             own_test_terms, pair_moments, segment_starts, trusted_scale)
from omnisync_cli.pipeline.tune import TuneGrid, tune
from tests.media.clips import write_audio, write_clip
from tests.pipeline.test_mouth_bank import LEVELS, MOUTHS, REGION, LoudnessEditor, blocks_audio

FPS = 25.0


def test_segment_starts_need_a_whole_run_of_speaking_frames_that_follow_each_other():
    speaking = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1], bool)
    follows = np.ones(10, bool)
    assert segment_starts(speaking, follows, 3).tolist() == [0, 1, 5, 6, 7]
    follows[7] = False  # bank frame 7 is not the one after frame 6 (a gap in the bank)
    assert segment_starts(speaking, follows, 3).tolist() == [0, 1, 7]
    assert segment_starts(speaking[:2], follows[:2], 3).tolist() == []


def test_pairs_take_their_picture_at_least_the_gap_away_from_their_sound():
    starts = np.arange(0, 100, 5)
    times = np.arange(120) / FPS
    pairs = pair_moments(starts, times, 6, 1.0)
    assert 1 <= len(pairs) <= 6
    assert all(abs(times[s] - times[u]) >= 1.0 for s, u in pairs)
    assert len({u for _, u in pairs}) == len(pairs)  # each sound once
    assert pair_moments(np.arange(0, 10, 5), times, 6, 1.0) == []  # 0.2 s apart: no pair far enough
    assert pair_moments(starts[:1], times, 6, 1.0) == []


def block_crops(n: int, mouth_of, drift: int = 0) -> np.ndarray:
    """n 16 px crops: a shut/half/wide mouth at the centre and a pattern outside it, all moved
    `drift` px to the right every 10 frames (the track's error between two moments)."""
    crops = np.full((n, 16, 16, 3), 90, np.uint8)
    for k in range(n):
        crops[k, 1:4, 4:7] = 10
        crops[k, 12:15, 9:12] = 200
        crops[k, 6:10, 5:11] = mouth_of(k)
        if drift:
            crops[k] = shifted(crops[k], drift * (k // 10), 0)
    return crops


def test_a_scaled_edit_keeps_that_share_of_the_change():
    shown = np.full((2, 4, 4, 3), 100, np.uint8)
    edited = np.full((2, 4, 4, 3), 200, np.uint8)
    assert (scaled_edit(shown, edited, 0.25) == 125).all()
    assert scaled_edit(shown, edited, 1.0) is edited


def made_error(terms: np.ndarray, scale: float = 1.0) -> float:
    a, b, c = terms
    return a + 2 * scale * b + scale ** 2 * c


def test_error_terms_compare_in_the_mouth_after_fitting_the_picture_onto_the_truth():
    crops = block_crops(30, lambda k: MOUTHS[(k // 10) % 3], drift=1)
    xy = np.full((10, 2), 0.5, np.float32)
    picture, truth = crops[0:10], crops[20:30]  # 2 px apart, mouths wide and shut
    terms = edit_error_terms(picture, truth.copy(), truth, xy, 0.3)
    assert terms[0] > 0  # the picture left as it was errs
    assert np.array_equal(edit_error_terms(truth, truth.copy(), truth, xy, 0.3), np.zeros(3))
    # an edit that drew the truth's mouth at the picture's place is exact once the two are fitted
    exact = picture.copy()
    exact[:, 6:10, 5:11] = MOUTHS[2]
    exact_terms = edit_error_terms(picture, exact, truth, xy, 0.3)
    assert made_error(exact_terms) < 0.05 * exact_terms[0]


def test_gain_db_is_the_ratio_of_the_errors_of_the_picture_and_of_the_scaled_edit():
    rng = np.random.default_rng(3)
    e, d = rng.normal(size=200), rng.normal(size=200)
    terms = np.array([(e * e).sum(), (e * d).sum(), (d * d).sum()])
    for scale in (0.0, 0.3, 1.0):
        direct = 10 * np.log10((e * e).sum() / ((e + scale * d) ** 2).sum())
        assert abs(gain_db(terms, scale) - direct) < 1e-6
    assert gain_db(terms, 0.0) == 0.0


def test_the_least_error_share_minimises_the_tests_error_over_zero_to_one():
    shares = np.linspace(0.0, 1.0, 10001)
    for terms in ([10.0, -3.0, 5.0], [10.0, -6.0, 5.0], [10.0, 1.0, 5.0], [4.0, -0.5, 8.0]):
        a, b, c = terms
        errors = a + 2 * shares * b + shares ** 2 * c
        assert abs(least_error_scale(np.array(terms)) - shares[errors.argmin()]) <= 1e-4
    assert least_error_scale(np.array([10.0, -3.0, 5.0])) < trusted_scale(np.array([10.0, -3.0, 5.0]))


def test_the_dub_takes_the_share_by_its_rule_and_refuses_an_unknown_rule():
    terms = np.array([10.0, -1.0, 5.0])  # the whole edit harms; no-harm bound 0.4, least error 0.2
    assert trusted_share(Path("v.mp4"), terms, False)[0] == 0.4
    assert trusted_share(Path("v.mp4"), terms, False, "least-error")[0] == 0.2
    with pytest.raises(ConfigError, match="share rule"):
        check_options(DubOptions(share_rule="least_error"))


def test_the_trusted_scale_is_the_largest_share_of_the_edit_that_does_no_harm():
    helps = np.array([10.0, -4.0, 5.0])  # 10 - 8 + 5 = 7 < 10: the whole edit helps
    assert trusted_scale(helps) == 1.0
    overshoots = np.array([10.0, -4.0, 20.0])  # the best share is 0.2, no harm up to 0.4
    assert trusted_scale(overshoots) == 0.4
    assert abs(gain_db(overshoots, 0.4)) < 1e-6
    assert gain_db(overshoots, 0.39) > 0 > gain_db(overshoots, 0.41)
    assert trusted_scale(np.array([10.0, 1.0, 5.0])) == 0.0  # any share of it harms
    assert trusted_scale(np.array([0.0, 0.0, 0.0])) == 1.0  # no edit, no error: nothing to hold back


class BlockEditor(LoudnessEditor):
    """Draws, over `rows` x `cols` of the crop, the mouth its sound calls for (`miss` 0), the
    next one (1: half open for loud, shut for soft, wide for silence), or a wrong one (2: shut for
    loud, wide for soft, half open for silence)."""

    def __init__(self, miss: int = 0, rows=slice(6, 10), cols=slice(5, 11)):
        super().__init__()
        self.miss, self.rows, self.cols = miss, rows, cols

    def edit(self, crops, frame_times, mouth_xy, audio):
        out = np.array(crops, copy=True)
        for i, t in enumerate(frame_times):
            level = LEVELS.index(min(LEVELS, key=lambda v: abs(v - loudness(audio, t))))
            out[i, self.rows, self.cols] = MOUTHS[(level + self.miss) % 3]
        return out


def loudness(audio: np.ndarray, t: float) -> float:
    """The blocks' tone amplitude at time t (their peak in that frame)."""
    i = int(round(t * SAMPLE_RATE))
    return float(np.abs(audio[i:i + int(SAMPLE_RATE / FPS)]).max())


def bank_of_blocks(n: int) -> tuple[MouthBank, np.ndarray]:
    audio = blocks_audio(n, FPS)
    crops = block_crops(n, lambda k: MOUTHS[(k // 10) % 3])
    return MouthBank(np.arange(n), crops, np.full((n, 2), 0.5, np.float32)), audio


def test_the_own_test_trusts_a_model_that_draws_the_right_mouth_and_not_a_wrong_one():
    n = 90
    bank, audio = bank_of_blocks(n)
    speaking = np.array([LEVELS[(k // 10) % 3] > 0 for k in range(n)])
    times = np.arange(n) / FPS
    right = own_test_terms(BlockEditor(0), bank, audio, speaking, times)
    assert gain_db(right) > 10.0 and trusted_scale(right) == 1.0
    wrong = own_test_terms(BlockEditor(2), bank, audio, speaking, times)
    assert gain_db(wrong) < -3.0 and trusted_scale(wrong) == 0.0
    unchanged = own_test_terms(LoudnessEditor(), bank, audio, speaking, times)
    assert gain_db(unchanged) == 0.0 and trusted_scale(unchanged) == 1.0  # no edit: no harm
    assert own_test_terms(BlockEditor(), bank, audio, np.zeros(n, bool), times) is None  # no speech: no test


def test_a_source_that_speaks_only_a_word_twice_is_tested_on_shorter_segments():
    n = 90
    bank, audio = bank_of_blocks(n)
    times = np.arange(n) / FPS
    words = np.zeros(n, bool)
    words[2:8] = words[42:48] = True  # 6 frames loud, 6 frames soft, 1.6 s apart: no 8-frame segment
    assert own_test_segments(bank, words, times, 8)[0] == 4
    assert own_test_segments(bank, np.arange(n) < 40, times, 8)[0] == 8  # the dub's own where they fit
    right = own_test_terms(BlockEditor(0), bank, audio, words, times)
    assert gain_db(right) > 10.0 and trusted_scale(right) == 1.0
    wrong = own_test_terms(BlockEditor(2), bank, audio, words, times)
    assert gain_db(wrong) < -3.0 and trusted_scale(wrong) == 0.0
    words[5:8] = words[45:48] = False  # 3 frames each: too little even for the shortest
    assert own_test_segments(bank, words, times, 8) is None
    assert own_test_terms(BlockEditor(2), bank, audio, words, times) is None


# The video's mouth, 4 x 8 px at (30, 28) of a 24 px region at (20, 20), is 2.7 x 5.3 px of the
# 16 px crop from (6.7, 5.3): its rows 7-8 and columns 6-9 are the mouth alone.
CORE = {"rows": slice(7, 9), "cols": slice(6, 10)}


def blocks_video(path, n: int) -> None:
    frames = []
    for k in range(n):
        frame = np.full((48, 64, 3), 90, np.uint8)
        frame[:, :8] = 40  # something outside the mouth to register on
        frame[30:34, 28:36] = MOUTHS[(k // 10) % 3]
        frames.append(frame)
    write_clip(path, frames=frames, width=64, height=48, fps=int(FPS), audio=blocks_audio(n, FPS))


def mouth_centres(path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.array([f.image[31:33, 30:34].mean() for f in reader.iter_frames()])


def test_a_dub_holds_the_edit_back_where_the_model_loses_its_own_test(tmp_path):
    n = 90
    blocks_video(tmp_path / "in.mp4", n)
    write_audio(tmp_path / "speech.wav", blocks_audio(n, FPS, offset=5), SAMPLE_RATE)
    options = DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off")
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "held.mp4", BlockEditor(2, **CORE), options)
    assert report.self_test_db < -3.0 and report.edit_scale == 0.0
    assert any("the network is left out" in w for w in report.warnings)
    source = mouth_centres(tmp_path / "in.mp4")
    held = np.abs(mouth_centres(tmp_path / "held.mp4") - source)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "forced.mp4", BlockEditor(2, **CORE),
                 DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off", self_test=False))
    assert report.self_test_db is None and report.edit_scale == 1.0
    forced = np.abs(mouth_centres(tmp_path / "forced.mp4") - source)
    assert forced.max() > 60  # --no-self-test: the whole edit
    assert held.max() < 8  # the test left the network out: the source's mouth as it was
    # a model half right (the next mouth): its edit is shown in part, the share that did no harm
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "part.mp4", BlockEditor(1, **CORE), options)
    assert 0.2 < report.edit_scale < 0.9 and any("% of its size" in w for w in report.warnings)
    whole = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "whole.mp4", BlockEditor(1, **CORE),
                DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off", self_test=False))
    part_change = np.abs(mouth_centres(tmp_path / "part.mp4") - source).mean()
    whole_change = np.abs(mouth_centres(tmp_path / "whole.mp4") - source).mean()
    assert whole.edit_scale == 1.0 and 0.1 * whole_change < part_change < 0.95 * whole_change


def test_a_dub_uses_the_network_where_it_passes_its_own_test(tmp_path):
    n = 90
    blocks_video(tmp_path / "in.mp4", n)
    write_audio(tmp_path / "speech.wav", blocks_audio(n, FPS, offset=5), SAMPLE_RATE)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", BlockEditor(0, **CORE),
                 DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off"))
    assert report.self_test_db > 3.0 and report.edit_scale == 1.0 and not report.warnings


class Warnings(SilentProgress):
    def __init__(self):
        self.lines = []

    def warn(self, message: str) -> None:
        self.lines.append(message)


def test_tune_holds_each_cells_edit_back_as_its_dub_would(tmp_path):
    """A preview must show what the dub will do: each cell's model takes its own test."""
    n = 90
    blocks_video(tmp_path / "in.mp4", n)
    write_audio(tmp_path / "speech.wav", blocks_audio(n, FPS, offset=5), SAMPLE_RATE)
    grid = TuneGrid(taus=(1.0,), cfg_peaks=(1.0, 2.0), seconds=n / FPS, tile_width=64)
    progress = Warnings()
    out = tune(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "grid.mp4",
               lambda sampler: BlockEditor(0 if sampler.guidance.w_peak == 1.0 else 2, **CORE), SamplerConfig(), grid,
               DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off"), progress)
    assert [line.split(":")[0] for line in progress.lines if "network is left out" in line] == ["[2/2] tau 1  cfg peak 2"]
    with VideoReader(out) as reader:
        tiles = np.array([f.image[31:33, [30, 31, 32, 33, 94, 95, 96, 97]].mean(axis=(0, 2)) for f in reader.iter_frames()])
    source = mouth_centres(tmp_path / "in.mp4")[:len(tiles)]
    right, wrong = tiles[:, :4].mean(axis=1), tiles[:, 4:].mean(axis=1)
    assert np.abs(wrong - source).max() < 10  # the wrong model's cell: the source's mouth, as its dub shows it
    assert np.abs(right - source).max() > 60  # the right one's: its whole edit
