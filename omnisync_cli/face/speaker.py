"""Which of the localiser's mouths to follow: the best-supported one, or the one that speaks.

The localiser finds every mouth in a frame. Its looks (every 0.2 s) are linked into
per-character tracks. By default the track found most often and most surely is followed
(`best_supported`), so that one look's false alarm cannot capture the whole video. Where
looks hold several mouths, each mouth's change from frame to frame (a small grey patch
around it, followed on every frame until the next look) is correlated with the loudness of
the source's audio in the same frames: a mouth that moves when there is sound and rests in
the pauses is the speaker. (Sampling the change only from look to look, every 0.2 s, aliases
the mouth's motion: on multi-character benchmark clips it chose the wrong one as often as
the right one, bench/results/speaker.md.)

Where a `SpeakerJudge` is given (the dub gives the sync expert), it decides instead: each
followed mouth also keeps a small colour glimpse per frame (GLIMPSE_PX, PATCH_FACES wide), and
the judge says how surely each track's glimpses speak the source's speech in sync. Loudness
alone cannot tell the speaker from a character mouthing other words through the same
stretches of speech; the expert hears which sounds the mouth makes.
"""

import dataclasses
from array import array
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from omnisync_cli.face.landmarks import FaceObservation
from omnisync_cli.face.motion import hann_window
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.media.loudness import window_rms

PATCH_FACES = 0.6        # side of the patch around a mouth, in face widths (the mouth and its corners)
VIEW = 32                # ... px, as registered from frame to frame
PATCH = 12               # ... px, as compared (the descriptor)
MAX_JUMP_FACES = 0.75    # a look continues a track when its mouth moved less than this
# ... and its face width is within this factor of the track's last one: a face does not double
# or halve in one look's time, while a false alarm beside a mouth (a whisker's end, an eye)
# is read as a face a third of the size (a user tour's drawn cat: the track took its whiskers
# on the looks where the localiser missed the closed mouth, 20 px off a 120 px face)
MAX_SIZE_RATIO = 2.0
MIN_LOOKS = 5            # tracks shorter than this are not judged
MIN_FRAMES = 20          # ... nor tracks followed on fewer frames
MIN_CORRELATION = 0.1    # the speaker's motion must follow the speech at least this well (frame by frame)
MARGIN = 0.1             # ... and better than the default pick's by this much
GLIMPSE_PX = 48          # side of the colour glimpse a judge sees per frame (the sync expert's input)
MIN_GLIMPSE_RUN = 12     # consecutive glimpses a judge needs to say anything
# The judge's verdict (chosen on speaker_choice.py's seed 3): it decides where its best track's
# sync confidence reaches MIN_SYNC (else the loudness does), and that track replaces the
# default pick when it beats the default's confidence by SYNC_MARGIN.
MIN_SYNC = 0.03
SYNC_MARGIN = 0.02
# A localiser track is a mouth only where the localiser was sure of it now and then: the
# track spans MIN_LOOKS looks (or every look of a shorter video), and at least CONFIDENT_SHARE
# of its looks, and two, score CONFIDENT_SCORE or more. Measured (stop 29,
# bench/results/no-character/): videos without any character (noise, test patterns, a fractal
# zoom, cellular automata, a gift box, relief maps) gave no such track; 44 of the 48 benchmark
# characters the localiser tracks did, and the four that did not were among the clips the dub
# harmed most (-2 to -7 dB against leaving them alone).
CONFIDENT_SCORE = 0.6
CONFIDENT_SHARE = 0.1


class SpeakerJudge(Protocol):
    def confidence(self, runs: list[tuple[int, np.ndarray]], speech: np.ndarray, rate: int,
                   fps: float) -> float | None:
        """How surely the mouth in `runs` speaks `speech` in sync (higher: surer); None when it
        cannot tell. Each run: (first frame index, (F, GLIMPSE_PX, GLIMPSE_PX, 3) uint8 glimpses
        of consecutive frames)."""


@dataclass(eq=False)
class MouthCandidate:
    """One mouth of one look, followed on the frames after the look: the patch around it is
    registered to the previous frame's (phase correlation, sub-pixel), so that it moves with
    the head, and the change that the head's motion does not explain is recorded."""

    obs: FaceObservation   # frame pixels
    seen: FaceObservation  # the same mouth in the pixels of the pictures looked at (moved as followed)
    view: np.ndarray | None  # grey (VIEW, VIEW) patch around it on the latest frame followed,
                             # mean-removed; None once no longer followed (`done`)
    motion: array = field(default_factory=lambda: array("f"))  # per frame look+1, look+2, ...
    glimpses: list | None = None  # colour glimpses of the look's frame and each frame followed (None: not kept)

    @classmethod
    def at(cls, image: np.ndarray, obs: FaceObservation, seen: FaceObservation,
           glimpse: bool = False) -> "MouthCandidate":
        """The candidate `seen` in `image` (the picture looked at); `obs` is it in frame pixels.
        With `glimpse`, it keeps a glimpse of its mouth on every frame (for a SpeakerJudge)."""
        candidate = cls(obs, seen, _view(image, seen.mouth_x, seen.mouth_y, seen.face_width))
        if glimpse:
            candidate.glimpses = [_glimpse(image, seen)]
        return candidate

    def done(self) -> None:
        """Following is over (the next look came): drop the patch, keep the motion (a video
        of any length then holds a few floats per look, not a patch)."""
        self.view = None

    def follow(self, image: np.ndarray) -> None:
        """Record the mouth's own change on the next frame, and follow it there."""
        x, y, face = self.seen.mouth_x, self.seen.mouth_y, self.seen.face_width
        # phaseCorrelate windows its inputs in place: it gets a copy of the kept patch, whose
        # descriptor is compared below
        (dx, dy), _ = cv2.phaseCorrelate(self.view.copy(), _view(image, x, y, face), hann_window(VIEW, VIEW))
        step = _side(face) / VIEW
        x, y = x + dx * step, y + dy * step
        view = _view(image, x, y, face)
        self.motion.append(float(np.abs(_descriptor(view) - _descriptor(self.view)).mean()))
        self.view, self.seen = view, dataclasses.replace(self.seen, mouth_x=x, mouth_y=y)
        if self.glimpses is not None:
            self.glimpses.append(_glimpse(image, self.seen))


def _side(face_width: float) -> float:
    return max(4.0, PATCH_FACES * face_width)


def _view(image: np.ndarray, x: float, y: float, face_width: float) -> np.ndarray:
    """Grey (VIEW, VIEW) float32 patch around (x, y), mean-removed (cut first, so only the
    patch is converted, not the whole frame)."""
    patch = cv2.cvtColor(crop_region(image, RegionBox(x, y, _side(face_width)), VIEW),
                         cv2.COLOR_RGB2GRAY).astype(np.float32)
    return patch - patch.mean()


def _glimpse(image: np.ndarray, seen: FaceObservation) -> np.ndarray:
    return crop_region(image, RegionBox(seen.mouth_x, seen.mouth_y, _side(seen.face_width)), GLIMPSE_PX)


def _descriptor(view: np.ndarray) -> np.ndarray:
    """The (PATCH, PATCH) descriptor whose change is the mouth's motion: coarse, so that
    noise and sub-pixel residue of the registration average out."""
    return cv2.resize(view, (PATCH, PATCH), interpolation=cv2.INTER_AREA)


@dataclass
class CandidateTrack:
    looks: list = field(default_factory=list)  # (frame index, FaceObservation, MouthCandidate)

    @property
    def last(self) -> FaceObservation:
        return self.looks[-1][1]


def link_tracks(looks: list[tuple[int, list[MouthCandidate]]], max_gap: int,
                camera: tuple[np.ndarray, np.ndarray] | None = None) -> list[CandidateTrack]:
    """Greedy linking of every look's candidates into tracks (nearest continuing mouth).
    `camera` (face.motion.moving_camera_path, per frame): positions are compared after taking
    out how far the camera moved between the two looks, so a shaking or panning shot does not
    break a mouth's track into pieces the sure-track rule then refuses."""
    def moved(index: int) -> tuple[float, float]:
        if camera is None:
            return 0.0, 0.0
        k = min(index, len(camera[0]) - 1)
        return float(camera[0][k]), float(camera[1][k])

    tracks: list[CandidateTrack] = []
    for index, candidates in looks:
        taken = set()
        here = moved(index)
        for candidate in sorted(candidates, key=lambda c: -c.obs.score):
            obs = candidate.obs
            best, best_d = None, None
            for t, track in enumerate(tracks):
                if t in taken or index - track.looks[-1][0] > max_gap:
                    continue
                there = moved(track.looks[-1][0])
                d = np.hypot(obs.mouth_x - here[0] - (track.last.mouth_x - there[0]),
                             obs.mouth_y - here[1] - (track.last.mouth_y - there[1]))
                small, large = sorted((obs.face_width, track.last.face_width))
                if d <= MAX_JUMP_FACES * large and large <= MAX_SIZE_RATIO * small and (best_d is None or d < best_d):
                    best, best_d = t, d
            if best is None:
                tracks.append(CandidateTrack())
                best = len(tracks) - 1
            tracks[best].looks.append((index, obs, candidate))
            taken.add(best)
    return tracks


def support(track: CandidateTrack) -> float:
    """The evidence for a track: the sum of its looks' confidences."""
    return float(sum(obs.score for _, obs, _ in track.looks))


def confident(track: CandidateTrack, looks: int) -> bool:
    """Whether the localiser was sure of this track's mouth long and often enough to follow it,
    in a video of `looks` localiser looks."""
    n = len(track.looks)
    sure = sum(obs.score >= CONFIDENT_SCORE for _, obs, _ in track.looks)
    return n >= min(MIN_LOOKS, looks) and sure >= max(min(2, n), CONFIDENT_SHARE * n)


def best_supported(tracks: list[CandidateTrack]) -> list[CandidateTrack]:
    """The best-supported track and, strongest first, every other track of at least MIN_LOOKS
    looks that overlaps none of those chosen in time (the character leaving and coming back);
    [] without tracks."""
    chosen: list[CandidateTrack] = []
    for track in sorted(tracks, key=support, reverse=True):
        if chosen and (len(track.looks) < MIN_LOOKS or any(overlap(track, t) for t in chosen)):
            continue
        chosen.append(track)
    return chosen


def with_speaker(chosen: list[CandidateTrack], speaker: CandidateTrack) -> list[CandidateTrack]:
    """The tracks to follow once `speaker` is chosen: it replaces the tracks `best_supported`
    chose where they overlap it in time; those chosen for other stretches (another shot, the
    character back after leaving) stay (a user tour: with a cut between two characters, the
    speaker of the second shot left the first undubbed)."""
    return [speaker, *(t for t in chosen if t is not speaker and not overlap(t, speaker))]


def overlap(a: CandidateTrack, b: CandidateTrack) -> bool:
    """Whether two tracks' looks span overlapping stretches of the video."""
    return a.looks[0][0] <= b.looks[-1][0] and b.looks[0][0] <= a.looks[-1][0]


def frame_loudness(speech: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) RMS of the speech from the previous frame's time to each frame's (0 past its end)."""
    return window_rms(speech, rate, (np.arange(n_frames) - 1) / fps, 1.0 / fps)


def speech_following(track: CandidateTrack, loudness: np.ndarray) -> float:
    """Pearson r between the mouth's change on each frame followed and the speech's loudness
    (`frame_loudness`) on the same frames."""
    frames, motion = [], []
    for index, _, candidate in track.looks:
        steps = np.arange(index + 1, index + 1 + len(candidate.motion))
        frames.append(steps)
        motion.append(np.frombuffer(candidate.motion, np.float32))
    frames, motion = np.concatenate(frames), np.concatenate(motion).astype(np.float64)
    inside = frames < len(loudness)
    frames, motion = frames[inside], motion[inside]
    if len(motion) < MIN_FRAMES or np.std(motion) == 0 or np.std(loudness[frames]) == 0:
        return 0.0
    return float(np.corrcoef(motion, loudness[frames])[0, 1])


def glimpse_runs(track: CandidateTrack) -> list[tuple[int, np.ndarray]]:
    """The track's glimpses as runs of consecutive frames: [(first frame, (F, P, P, 3))], runs of
    at least MIN_GLIMPSE_RUN frames only."""
    frames: dict[int, np.ndarray] = {}
    for index, _, candidate in track.looks:
        for k, glimpse in enumerate(candidate.glimpses or ()):
            frames.setdefault(index + k, glimpse)
    order = np.array(sorted(frames), dtype=np.int64)
    runs = np.split(order, np.flatnonzero(np.diff(order) != 1) + 1) if len(order) else []
    return [(int(run[0]), np.stack([frames[i] for i in run])) for run in runs if len(run) >= MIN_GLIMPSE_RUN]


def choose_speaker(tracks: list[CandidateTrack], default: CandidateTrack | None, speech: np.ndarray, rate: int,
                   fps: float, judge: SpeakerJudge | None = None) -> CandidateTrack | None:
    """The track that speaks `speech` clearly better than `default`, else None: by the judge's
    sync confidence where it scores at least two tracks and one reaches MIN_SYNC, else by
    `speech_following`."""
    judged = [t for t in tracks if len(t.looks) >= MIN_LOOKS]
    if len(judged) < 2:
        return None
    if judge is not None:
        sync = {id(t): judge.confidence(glimpse_runs(t), speech, rate, fps) for t in judged}
        scored = [t for t in judged if sync[id(t)] is not None]
        best = max(scored, key=lambda t: sync[id(t)]) if len(scored) >= 2 else None
        if best is not None and sync[id(best)] >= MIN_SYNC:  # the judge hears a speaker
            base = sync.get(id(default)) if default is not None else None
            return None if best is default or sync[id(best)] < (base or 0.0) + SYNC_MARGIN else best
    n_frames = max(i + 1 + len(c.motion) for t in judged for i, _, c in t.looks)
    loudness = frame_loudness(speech, rate, fps, n_frames)
    scores = {id(t): speech_following(t, loudness) for t in judged}
    best = max(judged, key=lambda t: scores[id(t)])
    base = scores.get(id(default), 0.0) if default is not None else 0.0
    if best is default or scores[id(best)] < MIN_CORRELATION or scores[id(best)] < base + MARGIN:
        return None
    return best
