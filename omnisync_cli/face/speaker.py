"""Which of the localiser's mouths to follow: the best-supported one, or the one that speaks.

The localiser finds every mouth in a frame. Its looks (every 0.2 s) are linked into
per-character tracks. By default the track found most often and most surely is followed
(`best_supported`), so that one look's false alarm cannot capture the whole video. Where
looks hold several mouths, each track's change between consecutive looks (a small grey patch
around the mouth) is correlated with the loudness of the source's audio over the same
interval: a mouth that moves when there is sound and rests in the pauses is the speaker.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.region import RegionBox, crop_region

PATCH = 12               # descriptor side, px
PATCH_FACES = 0.6        # descriptor crop side, in face widths (the mouth and its corners)
MAX_JUMP_FACES = 0.75    # a look continues a track when its mouth moved less than this
MIN_LOOKS = 5            # tracks shorter than this are not judged
MIN_CORRELATION = 0.3    # the speaker's motion must follow the speech at least this well
MARGIN = 0.15            # ... and better than the default pick's by this much


def mouth_descriptor(image: np.ndarray, obs: FaceObservation) -> np.ndarray:
    """(PATCH, PATCH) float32 grey patch around the mouth, mean-removed (cut first, so only
    the patch is converted, not the whole frame)."""
    box = RegionBox(obs.mouth_x, obs.mouth_y, max(4.0, PATCH_FACES * obs.face_width))
    patch = cv2.cvtColor(crop_region(image, box, PATCH), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return patch - patch.mean()


@dataclass
class CandidateTrack:
    looks: list = field(default_factory=list)  # (frame index, FaceObservation, descriptor)

    @property
    def last(self) -> FaceObservation:
        return self.looks[-1][1]


def link_tracks(looks: list[tuple[int, list[tuple[FaceObservation, np.ndarray]]]],
                max_gap: int) -> list[CandidateTrack]:
    """Greedy linking of every look's candidates into tracks (nearest continuing mouth)."""
    tracks: list[CandidateTrack] = []
    for index, candidates in looks:
        taken = set()
        for obs, desc in sorted(candidates, key=lambda c: -c[0].score):
            best, best_d = None, None
            for t, track in enumerate(tracks):
                if t in taken or index - track.looks[-1][0] > max_gap:
                    continue
                d = np.hypot(obs.mouth_x - track.last.mouth_x, obs.mouth_y - track.last.mouth_y)
                if d <= MAX_JUMP_FACES * max(obs.face_width, track.last.face_width) and (best_d is None or d < best_d):
                    best, best_d = t, d
            if best is None:
                tracks.append(CandidateTrack())
                best = len(tracks) - 1
            tracks[best].looks.append((index, obs, desc))
            taken.add(best)
    return tracks


def support(track: CandidateTrack) -> float:
    """The evidence for a track: the sum of its looks' confidences."""
    return float(sum(obs.score for _, obs, _ in track.looks))


def best_supported(tracks: list[CandidateTrack]) -> list[CandidateTrack]:
    """The best-supported track and, strongest first, every other track of at least MIN_LOOKS
    looks that overlaps none of those chosen in time (the character leaving and coming back);
    [] without tracks."""
    chosen: list[CandidateTrack] = []
    for track in sorted(tracks, key=support, reverse=True):
        first, last = track.looks[0][0], track.looks[-1][0]
        if chosen and (len(track.looks) < MIN_LOOKS or any(
                first <= t.looks[-1][0] and t.looks[0][0] <= last for t in chosen)):
            continue
        chosen.append(track)
    return chosen


def speech_following(track: CandidateTrack, speech: np.ndarray, rate: int, fps: float) -> float:
    """Pearson r between the mouth's change from look to look and the speech's loudness then."""
    motion, loud = [], []
    for (i0, _, d0), (i1, _, d1) in zip(track.looks, track.looks[1:]):
        a, b = int(i0 / fps * rate), int(i1 / fps * rate)
        if b <= a or a >= len(speech):
            continue
        motion.append(float(np.abs(d1 - d0).mean()))
        loud.append(float(np.sqrt(np.mean(speech[a:b] ** 2))))
    if len(motion) < MIN_LOOKS - 1 or np.std(motion) == 0 or np.std(loud) == 0:
        return 0.0
    return float(np.corrcoef(motion, loud)[0, 1])


def choose_speaker(tracks: list[CandidateTrack], default: CandidateTrack | None, speech: np.ndarray, rate: int,
                   fps: float) -> CandidateTrack | None:
    """The track whose mouth follows the speech clearly better than `default`'s, else None."""
    judged = [t for t in tracks if len(t.looks) >= MIN_LOOKS]
    if len(judged) < 2:
        return None
    scores = {id(t): speech_following(t, speech, rate, fps) for t in judged}
    best = max(judged, key=lambda t: scores[id(t)])
    base = scores.get(id(default), 0.0) if default is not None else 0.0
    if best is default or scores[id(best)] < MIN_CORRELATION or scores[id(best)] < base + MARGIN:
        return None
    return best
