"""Eq. 3 (timestep-dependent pair sampling) and condition dropout."""

import numpy as np
import pytest

from omnisync_cli.data.pairs import (ARBITRARY, PSEUDO, ClipInfo, PairIndex, Segment, check_no_leak,
                                     draw_dropout, sample_pair)

F = 4


def index(clips=None):
    clips = clips or [ClipInfo("a", 3, 12), ClipInfo("a", 2, 9), ClipInfo("b", 2, 20),
                      ClipInfo("c", 1, 30)]  # c: a real video (one utterance per scene)
    return PairIndex(clips, F)


def draws(idx, sigma, n=300, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        clip, rendering = idx.targets[rng.integers(len(idx.targets))]
        target = Segment(clip, rendering, int(rng.integers(idx.max_start(clip) + 1)))
        yield (target, *sample_pair(target, idx, rng, lambda: sigma() if callable(sigma) else sigma))


def test_high_sigma_gives_pseudo_pair_same_frames_other_utterance():
    idx = index([ClipInfo("a", 3, 12), ClipInfo("a", 2, 9), ClipInfo("b", 2, 20)])
    for target, sigma, cond, branch in draws(idx, 0.9):
        assert branch == PSEUDO and sigma == 0.9
        assert cond.clip == target.clip and cond.start == target.start
        assert cond.rendering != target.rendering


def test_low_sigma_gives_arbitrary_pair_of_same_character_without_shared_frames():
    idx = index()
    seen_other_clip = seen_same_clip = False
    for target, sigma, cond, branch in draws(idx, 0.85):  # the threshold itself is "low"
        assert branch == ARBITRARY
        assert idx.clips[cond.clip].character == idx.clips[target.clip].character
        assert 0 <= cond.start <= idx.max_start(cond.clip)
        if cond.clip == target.clip:  # another time window: no frame in common, any rendering
            assert abs(cond.start - target.start) >= F
            seen_same_clip = True
        else:
            seen_other_clip = True
    assert seen_other_clip and seen_same_clip


def test_condition_is_never_the_target_at_any_sigma():
    idx = index()
    rng = np.random.default_rng(1)
    for target, sigma, cond, _ in draws(idx, lambda: rng.random(), n=2000):
        assert not (cond.clip == target.clip and cond.rendering == target.rendering
                    and abs(cond.start - target.start) < F), (target, cond)


def test_check_no_leak_refuses_the_target_and_overlapping_windows():
    t = Segment(0, 1, 4)
    for bad in (Segment(0, 1, 4), Segment(0, 1, 5), Segment(0, 1, 1)):
        with pytest.raises(AssertionError, match="leakage"):
            check_no_leak(t, bad, F)
    check_no_leak(t, Segment(0, 0, 4), F)  # pseudo-pair: other lips on the same pose
    check_no_leak(t, Segment(0, 1, 8), F)  # another window of the same rendering


def test_target_without_pseudo_pair_only_trains_the_arbitrary_branch():
    idx = index()
    real = [k for k, (clip, _) in enumerate(idx.targets) if clip == 3]
    rng = np.random.default_rng(2)
    for _ in range(200):
        target = Segment(3, 0, int(rng.integers(idx.max_start(3) + 1)))
        sigma, cond, branch = sample_pair(target, idx, rng, lambda: rng.random())
        assert sigma <= 0.85 and branch == ARBITRARY
    assert real  # the 30-frame lone clip is a valid target: every start has a free window


def test_stand_in_renderings_are_pseudo_pair_conditions_only():
    """A real video's pieces carry a stand-in (data.mouth_swap) as their last rendering: it
    serves the pseudo-pair branch and is never a target nor an arbitrary condition."""
    idx = PairIndex([ClipInfo("v", 2, 12, stand_ins=1), ClipInfo("v", 2, 12, stand_ins=1)], F)
    assert sorted(idx.targets) == [(0, 0), (1, 0)]
    rng = np.random.default_rng(0)
    branches = set()
    for target, sigma, cond, branch in draws(idx, lambda: rng.random(), n=400):
        branches.add(branch)
        assert target.rendering == 0
        if branch == PSEUDO:
            assert (cond.clip, cond.rendering, cond.start) == (target.clip, 1, target.start)
        else:
            assert cond.rendering == 0
    assert branches == {PSEUDO, ARBITRARY}


def test_index_drops_targets_that_cannot_get_an_arbitrary_pair():
    idx = PairIndex([ClipInfo("lone", 2, 10), ClipInfo("short", 1, 3), ClipInfo("x", 1, 11),
                     ClipInfo("x", 1, 4)], F)
    # "lone": 10 < 3F - 1 frames and no other clip; "short": shorter than a segment.
    assert {c for c, _ in idx.targets} == {2, 3}


def test_dropout_rates_match_the_configured_probabilities():
    rng = np.random.default_rng(0)
    n = 20000
    out = np.array([draw_dropout(rng, 0.1, 0.2, 0.05) for _ in range(n)])
    audio_only = np.mean(out[:, 0] & ~out[:, 1])
    text_only = np.mean(~out[:, 0] & out[:, 1])
    both = np.mean(out[:, 0] & out[:, 1])
    assert abs(audio_only - 0.1) < 0.01 and abs(text_only - 0.2) < 0.01 and abs(both - 0.05) < 0.01
    with pytest.raises(ValueError):
        draw_dropout(rng, 0.5, 0.4, 0.2)
