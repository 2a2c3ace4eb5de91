"""The sync expert as the tracker's judge of which mouth speaks (face.speaker.SpeakerJudge).

Where several characters are in view, the tracker keeps a glimpse of each one's mouth on
every frame; this judge embeds them with the bundled sync expert (`bench.sync`) and asks how
much closer they lie to the source's own speech in sync (offset 0) than at other offsets:
the median over offsets of the mean distance minus the distance at offset 0, LSE-C's
confidence taken at the offset a source video has. A mouth mouthing other words, or none,
gets about 0; the speaker clearly more (bench/results/speaker.md). The expert and the
speech's features are loaded on the first call, so a video with one character never pays.
"""

import cv2
import numpy as np

from omnisync_cli.media.audio import SAMPLE_RATE


class SyncSpeakerJudge:
    """Scores tracks' glimpses against the speech with a sync scorer (default: the bundled expert)."""

    def __init__(self, scorer=None):
        self._scorer = scorer
        self._features = None  # (speech id, features): every track of a video hears the same speech

    @property
    def scorer(self):
        if self._scorer is None:
            from omnisync_cli.bench.sync import open_sync_scorer
            self._scorer = open_sync_scorer()
        return self._scorer

    def confidence(self, runs: list[tuple[int, np.ndarray]], speech: np.ndarray, rate: int,
                   fps: float) -> float | None:
        """Frame-weighted distances of every run, per offset: their median minus offset 0's."""
        from omnisync_cli.bench.sync import offset_distances
        if rate != SAMPLE_RATE:
            raise ValueError(f"the judge hears {SAMPLE_RATE} Hz speech, got {rate} Hz")
        scorer = self.scorer
        size = scorer.config.mouth_px
        total, frames = None, 0
        for start, glimpses in runs:
            if len(glimpses) < scorer.config.frames:
                continue
            if glimpses.shape[1] != size:
                glimpses = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in glimpses])
            distances = offset_distances(scorer.expert, glimpses, self._heard(speech), fps, start) * len(glimpses)
            total = distances if total is None else total + distances
            frames += len(glimpses)
        if total is None:
            return None
        distances = total / frames
        return float(np.median(distances) - distances[scorer.config.max_offset])

    def _heard(self, speech: np.ndarray):
        if self._features is None or self._features[0] is not speech:
            self._features = (speech, self.scorer.features(np.ascontiguousarray(speech, dtype=np.float32)))
        return self._features[1]
