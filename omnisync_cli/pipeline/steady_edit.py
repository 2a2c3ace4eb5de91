"""The part of the model's edit that stays the same over time, taken back out.

Where the character and the new speech are both talking, a dub's true change to the working
region moves with the syllables: the new mouth opens where the old one closed and the other
way round, and over a second or more the change averages to almost nothing (the same
character keeps its speaking style; on the benchmark's ground truth the time-mean of the true
change is below 1 grey level). What the model changes there in every frame alike (a blur of
edges it cannot draw, a shift of colour, an edit beside the mouth, the eye of a beak it
redraws) is its bias, not the dub. `SteadyEdit` keeps a running mean of the edit (edited -
source, in working-region pixels, which follow the face) over the last `seconds` of such
frames, segment by segment as the dub streams, and subtracts it from every edited crop.

Only frames where both speak teach the mean: where one of the two is in a pause the true
change is steady by itself (a mouth held shut, or opened for speech the source did not
have), and learning it would take the dub back out.
"""

from dataclasses import dataclass, field

import numpy as np


def steady_mean(mean: np.ndarray | None, edit: np.ndarray, weights: np.ndarray, frames_per_mean: float) -> np.ndarray | None:
    """The running mean after one segment: an exponential average over frames with time
    constant `frames_per_mean`, fed the segment's weighted mean edit (edit (F, S, S, C) float,
    weights (F,) in [0, 1]). The first segment with any weight starts it at its own mean;
    a segment without weight leaves it as it was."""
    total = float(weights.sum())
    if total <= 0:
        return mean
    segment = np.tensordot(weights.astype(np.float32), edit, axes=1) / total
    if mean is None:
        return segment
    rate = 1.0 - np.exp(-total / frames_per_mean)
    return mean + rate * (segment - mean)


@dataclass
class SteadyEdit:
    """Called in segment order as `steady(crops, edited, frames)` -> the edited crops less the
    running mean of the edit; `learn_from` (T,) per output frame in [0, 1]: how much that frame
    teaches the mean (`pipeline.quiet.both_speaking`); `frames`: the output frames of the crops."""

    seconds: float
    fps: float
    learn_from: np.ndarray
    mean: np.ndarray | None = field(default=None, init=False)

    def __call__(self, crops: np.ndarray, edited: np.ndarray, frames: np.ndarray) -> np.ndarray:
        edit = edited.astype(np.float32) - crops.astype(np.float32)
        self.mean = steady_mean(self.mean, edit, self.learn_from[frames], self.seconds * self.fps)
        if self.mean is None:
            return edited
        return np.clip(np.rint(edited.astype(np.float32) - self.mean), 0, 255).astype(np.uint8)
