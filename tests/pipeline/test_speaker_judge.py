"""The sync expert as the tracker's speaker judge: a mouth showing the speech in sync scores
high, wherever in the video its glimpses start; one showing other sounds does not."""

import numpy as np
import pytest

from omnisync_cli.bench.sync import SyncScorer
from omnisync_cli.pipeline.speaker_judge import SyncSpeakerJudge
from tests.bench.test_sync import TINY, _FrameFrontend, _Planted

FPS, RATE = 25.0, 16_000


def glimpses_of(values, size=48):
    return (np.broadcast_to(np.asarray(values, np.float32)[:, None, None, None], (len(values), size, size, 3))
            * 255).round().astype(np.uint8)


@pytest.fixture
def sound_and_judge():
    sound = np.random.default_rng(0).uniform(0.2, 1.0, 80).astype(np.float32)  # one value per frame
    return sound, np.repeat(sound, RATE // int(FPS)), SyncSpeakerJudge(SyncScorer(_Planted(TINY, 4), _FrameFrontend()))


def test_the_mouth_in_sync_scores_high_wherever_its_run_starts(sound_and_judge):
    sound, speech, judge = sound_and_judge
    speaker = judge.confidence([(0, glimpses_of(sound[:30])), (40, glimpses_of(sound[40:70]))], speech, RATE, FPS)
    other = judge.confidence([(0, glimpses_of(sound[::-1][:30])), (40, glimpses_of(sound[::-1][40:70]))],
                             speech, RATE, FPS)
    misplaced = judge.confidence([(0, glimpses_of(sound[40:70]))], speech, RATE, FPS)  # the right run, wrong frames
    assert speaker > 0.3 and speaker > other + 0.2 and speaker > misplaced + 0.2


def test_glimpses_of_another_size_are_resized_and_too_few_say_nothing(sound_and_judge):
    sound, speech, judge = sound_and_judge
    assert judge.confidence([(0, glimpses_of(sound[:30], size=32))], speech, RATE, FPS) > 0.3
    assert judge.confidence([(0, glimpses_of(sound[:TINY.frames - 1]))], speech, RATE, FPS) is None
    assert judge.confidence([], speech, RATE, FPS) is None
    with pytest.raises(ValueError, match="Hz"):
        judge.confidence([(0, glimpses_of(sound[:30]))], speech, 8000, FPS)
