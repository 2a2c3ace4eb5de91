"""Timestep-dependent pair sampling (paper Eq. 3, appendix A) and condition dropout.

The model learns (V_cd, A_ab) -> V_ab. For every training example the noise level sigma
decides where the condition clip V_cd comes from:

    sigma >  threshold (paper t > 850, sigma 0.85): a *pseudo-pair* -- the same scene rendered
              with another utterance, the same frames, hence the same pose track; the
              high-noise steps build pose and identity and need a condition aligned with
              the target (this is the step progressive initialisation starts from).
    sigma <= threshold: an *arbitrary pair* -- another time window of the same clip or any
              window of another clip of the same character (pose may differ); the
              middle and late steps learn the audio -> lip mapping from diverse data.

V_cd is never the target window itself, nor any window that shares a frame with it in
the same clip: seeing the target's own lips teaches the network to copy them (lip-shape
leakage) instead of listening to the audio.

Only indices live here (which clip, which rendering, which first frame); reading pixels is
the training dataset's job, so this file is pure bookkeeping that tests can check exactly.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

PSEUDO = "pseudo"
ARBITRARY = "arbitrary"
SIGMA_THRESHOLD = 0.85  # paper t_threshold = 850 of T = 1000


@dataclass(frozen=True)
class ClipInfo:
    """What pair sampling needs to know about one clip (one scene) of the corpus."""

    character: str  # renderings of one character may be paired with each other
    renderings: int  # utterances rendered over the same pose track (1 for real videos)
    frames: int  # frames every rendering has (the shortest, if they differ)
    # The last `stand_ins` renderings are stand-in pseudo-pairs of a real video (its own frames
    # with another moment's mouth, data.mouth_swap): pseudo-pair conditions only, never a
    # target nor an arbitrary condition.
    stand_ins: int = 0

    @property
    def real_renderings(self) -> int:
        return self.renderings - self.stand_ins


@dataclass(frozen=True)
class Segment:
    """`frames` consecutive frames [start, start + frames) of one rendering of one clip."""

    clip: int
    rendering: int
    start: int


class PairIndex:
    """The corpus as pair sampling sees it: clips grouped by character, segment length F.

    `targets` lists the (clip, rendering) pairs that can be a training target: long enough
    for one segment and with at least one arbitrary condition for every start (so both
    branches of Eq. 3 can always be served; pseudo-pairs exist only where renderings > 1).
    """

    def __init__(self, clips: Sequence[ClipInfo], segment_frames: int):
        self.clips = list(clips)
        self.segment_frames = segment_frames
        by_character: dict[str, list[int]] = defaultdict(list)
        for i, clip in enumerate(self.clips):
            if clip.frames >= segment_frames:
                by_character[clip.character].append(i)
        self.by_character = dict(by_character)
        self.targets = [(i, r) for i, clip in enumerate(self.clips)
                        if clip.frames >= segment_frames and self._always_arbitrary(i)
                        for r in range(clip.real_renderings)]

    def _always_arbitrary(self, clip: int) -> bool:
        # Another clip of the character always offers a window; alone, a clip needs
        # 3F - 1 frames so that every start leaves F free frames on one side.
        return (len(self.by_character[self.clips[clip].character]) > 1
                or self.clips[clip].frames >= 3 * self.segment_frames - 1)

    def has_pseudo_pair(self, clip: int) -> bool:
        return self.clips[clip].renderings > 1

    def max_start(self, clip: int) -> int:
        return self.clips[clip].frames - self.segment_frames

    def arbitrary_starts(self, target: Segment, clip: int) -> list[range]:
        """First frames allowed for an arbitrary condition in `clip`: every window of another
        clip; in the target's clip only windows sharing no frame with the target's."""
        last = self.max_start(clip)
        if clip != target.clip:
            return [range(0, last + 1)]
        f = self.segment_frames
        return [r for r in (range(0, target.start - f + 1), range(target.start + f, last + 1)) if len(r)]


def overlaps(a: Segment, b: Segment, frames: int) -> bool:
    """True when the two segments share a frame of the same clip (any rendering)."""
    return a.clip == b.clip and abs(a.start - b.start) < frames


def check_no_leak(target: Segment, condition: Segment, frames: int) -> None:
    """The condition may share the target's frames only as another rendering (a pseudo-pair,
    other lips over the same pose); never the target's own pixels."""
    if condition.clip == target.clip and condition.rendering == target.rendering \
            and abs(condition.start - target.start) < frames:
        raise AssertionError(f"lip-shape leakage: condition {condition} overlaps target {target}")


def pseudo_pair(target: Segment, index: PairIndex, rng: np.random.Generator) -> Segment:
    """Same clip and frames (same pose track), another utterance's rendering."""
    others = [r for r in range(index.clips[target.clip].renderings) if r != target.rendering]
    return Segment(target.clip, int(others[rng.integers(len(others))]), target.start)


def arbitrary_pair(target: Segment, index: PairIndex, rng: np.random.Generator) -> Segment:
    """Uniform over every window of the character that shares no frame with the target's
    (any rendering of another time window of the same clip, or of another clip)."""
    choices = []  # (clip, rendering, allowed starts)
    for clip in index.by_character[index.clips[target.clip].character]:
        for starts in index.arbitrary_starts(target, clip):
            choices += [(clip, r, starts) for r in range(index.clips[clip].real_renderings)]
    sizes = np.array([len(s) for _, _, s in choices], dtype=np.float64)
    if sizes.sum() == 0:
        raise ValueError(f"no arbitrary condition for target {target}; the clip is too short "
                         "and its character has no other clip")
    clip, rendering, starts = choices[rng.choice(len(choices), p=sizes / sizes.sum())]
    return Segment(clip, rendering, int(starts[rng.integers(len(starts))]))


def sample_pair(target: Segment, index: PairIndex, rng: np.random.Generator,
                draw_sigma: Callable[[], float],
                threshold: float = SIGMA_THRESHOLD) -> tuple[float, Segment, str]:
    """Paper Eq. 3, timestep-dependent sampling: draw sigma, then the condition V_cd.

    Returns (sigma, condition segment, branch). sigma > threshold -> pseudo-pair (same
    pose track, other utterance); otherwise an arbitrary window of the same character.
    A target without a pseudo-pair (a real video: one utterance per scene) only trains the
    arbitrary branch, as the paper trains its unpaired YouTube data only at t <= 850: its
    sigma is drawn from the same distribution restricted to [0, threshold] (rejection).
    """
    sigma = float(draw_sigma())
    if not index.has_pseudo_pair(target.clip):
        for _ in range(1000):
            if sigma <= threshold:
                break
            sigma = float(draw_sigma())
        else:
            raise ValueError(f"the sigma distribution puts (almost) no mass below {threshold}")
    if sigma > threshold:
        condition, branch = pseudo_pair(target, index, rng), PSEUDO
    else:
        condition, branch = arbitrary_pair(target, index, rng), ARBITRARY
    check_no_leak(target, condition, index.segment_frames)
    return sigma, condition, branch


def draw_dropout(rng: np.random.Generator, p_audio: float, p_text: float,
                 p_both: float) -> tuple[bool, bool]:
    """(drop_audio, drop_text) for one example: one draw, three disjoint events with the
    given probabilities (audio only, text only, both), so P(audio dropped) = p_audio + p_both.
    Dropped conditions become the model's learned null embeddings, which is what the
    unconditional pass of classifier-free guidance feeds at inference."""
    if p_audio + p_text + p_both > 1:
        raise ValueError("dropout probabilities must sum to at most 1")
    u = rng.random()
    if u < p_both:
        return True, True
    if u < p_both + p_audio:
        return True, False
    if u < p_both + p_audio + p_text:
        return False, True
    return False, False
