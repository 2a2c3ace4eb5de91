"""The mouth bank: the source video's own mouths, lent to the frames whose new speech asks for them.

A video to be dubbed nearly always carries its own speech, so it already shows this very
character's mouth for many sounds. Before the network edits a frame, the mouth area of its
source crop is replaced by that of the source frame whose own speech sounds most like the new
speech at that moment (Video Rewrite, Bregler et al. 1997, did this with triphones). The
condition clip V_cd the network sees then already shows a mouth for the new sound, in the
character's own style and colours, and the network's edit starts from it (the paper's path is
unchanged: progressive init and DS-CFG run on this V_cd). Where the source has no speech, or
the editor cannot read mouths from audio, nothing is lent.

    bank = MouthBank.collect(video, track, size, config.max_frames)  # crops of the source frames
    donors = bank.donors(editor, source_speech, speech, features, frame_times, plan, fps, config)
    shown = bank.lend(crops, mouth_xy, donors[output_frames], config.max_shift)  # what the network sees

How a donor is chosen, per output frame (`choose_donors`, a Viterbi path over the bank):
- sound: the distance between the network's own audio embeddings (`ModelEditor.sound_keys`)
  of the new speech at the output frame and of the source's own speech at the bank frame, plus
  whether each is silent;
- pose: the pixel distance between the output frame's own crop and the bank frame's, outside
  the mouth area, so that a donor's cheeks and chin fit where they are pasted;
- runs: moving on to the bank frame that follows the last donor is free, any other jump costs
  `switch_cost`, so donated mouths move as the source's did instead of flickering.
Both distances are divided by their median, so the weights do not depend on a video's look.
Each donor is then moved onto its crop by a whole-pixel registration outside the mouth area
(`registration`) and blended in through `data.mouth_swap`'s feathered ellipse.

Whether to lend where the new speech speaks, or only in its pauses, is the source's own test
(`sound_gain`): a video whose speech picks its own mouths better than its pose alone does gets
mouths lent everywhere (DubOptions.mouth_bank "auto").
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from omnisync_cli.data.mouth_swap import mouth_mask, swap_mouths
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.media.loudness import SPEECH_FLOOR, quiet_at, window_rms
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.window import crop_from_window, window_of


@dataclass(frozen=True)
class MouthBankConfig:
    # Measured (bench/results/mouth-bank/): the switch cost hardly matters (0.05-1). A pose
    # weight of 0.2 synced more on the tuning split, but on the held-out split it cost 0.5 dB
    # and synced no more than 1.
    switch_cost: float = 0.3
    pose_weight: float = 1.0
    silence_weight: float = 1.0  # weight of the silent / speaking flag beside the sound keys (unit vectors)
    max_frames: int = 2000  # bank frames at most (spread over the video): memory and time bound
    pose_side: int = 16  # crops are compared shrunk to this side
    # Below this share of speaking frames the source's own speech cannot tell mouths apart.
    min_speech_share: float = 0.1
    max_shift: float = 0.1  # a donor is moved by at most this share of the crop side to fit
    min_quiet_donors: int = 3  # a source quiet on this many bank frames lends only those in pauses
    # sound_gain: a frame is never lent a mouth from this near in time (its neighbours look like it
    # whatever they sound like), and at most this many speaking frames are tested
    self_test_gap_s: float = 0.5
    self_test_frames: int = 300


# A long video's bank is thinned in runs of this many consecutive bank frames (0.64 s at 25 fps):
# a donor run moves on frame by frame (`choose_donors`), and the model's own test dubs 8-frame
# segments of consecutive frames (pipeline.self_test); frames thinned one by one leave neither.
BANK_RUN = 16


def bank_indices(editable: np.ndarray, max_frames: int, stride: int = 1) -> np.ndarray:
    """Source frame indices of the bank: the frames the dub may edit that are multiples of
    `stride` (the frames the network edits on fast video, DubOptions.edit_rate), thinned to at
    most `max_frames` as runs of `BANK_RUN` consecutive ones spread evenly from the first to the
    last (shorter runs where `max_frames` is small)."""
    frames = np.flatnonzero(editable)
    frames = frames[frames % stride == 0]
    if len(frames) <= max_frames:
        return frames
    run = max(1, min(BANK_RUN, max_frames // 2))
    starts = np.linspace(0, len(frames) - run, max_frames // run).round().astype(int)
    return frames[(starts[:, None] + np.arange(run)[None, :]).ravel()]


def pose_vectors(crops: np.ndarray, side: int) -> np.ndarray:
    """(N, side * side * 3) float32: each crop shrunk to `side` with its mouth area (data.
    mouth_swap's ellipse at the crop centre, where the track puts the mouth) blanked."""
    keep = (1.0 - mouth_mask(side, (0.5, 0.5)))[..., None]
    small = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in crops])
    return (small.astype(np.float32) * keep).reshape(len(crops), -1)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances between the rows of a and b."""
    aa = (a * a).sum(1)[:, None]
    bb = (b * b).sum(1)[None, :]
    return np.maximum(aa + bb - 2.0 * a @ b.T, 0.0)


def sound_keys(editor, features, times: np.ndarray, quiet: np.ndarray, config: MouthBankConfig) -> np.ndarray:
    """(T, D + 1) float32: the editor's sound key of each moment (`editor.sound_keys`) and
    whether it is quiet, weighted by `config.silence_weight`."""
    keys = editor.sound_keys(features, times)
    return np.concatenate([keys, config.silence_weight * quiet[:, None]], 1).astype(np.float32)


def normalised(d: np.ndarray) -> np.ndarray:
    """d divided by its median (by its mean where the median is 0; as is where both are)."""
    scale = float(np.median(d)) or float(d.mean())
    return d / scale if scale > 0 else d


def choose_donors(cost: np.ndarray, follows: np.ndarray, switch_cost: float) -> np.ndarray:
    """(T,) bank indices minimising sum_t cost[t, n_t] + switch_cost * [n_t is not the bank
    frame that follows n_{t-1}] (Viterbi). cost: (T, N); follows[n]: True where bank frame n
    is the source frame right after bank frame n - 1."""
    t_len, n = cost.shape
    if t_len == 0:
        return np.zeros(0, dtype=int)
    total = cost[0].astype(np.float64)
    back = np.empty((t_len, n), dtype=np.int32)
    back[0] = np.arange(n)
    for t in range(1, t_len):
        best = int(total.argmin())
        run = np.full(n, np.inf)
        run[1:] = np.where(follows[1:], total[:-1], np.inf)
        jump = total[best] + switch_cost
        take_run = run <= jump
        back[t] = np.where(take_run, np.arange(n) - 1, best)
        total = np.minimum(run, jump) + cost[t]
    path = np.empty(t_len, dtype=int)
    path[-1] = int(total.argmin())
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


class MouthBank:
    """Working-region crops of the source frames (`indices`, every `stride`-th frame at most)
    and their mouth centres."""

    def __init__(self, indices: np.ndarray, crops: np.ndarray, mouth_xy: np.ndarray, stride: int = 1):
        self.indices, self.crops, self.mouth_xy, self.stride = indices, crops, mouth_xy, stride

    @classmethod
    def collect(cls, video: Path, track: MouthTrack, size: int, max_frames: int,
                stride: int = 1, stop: threading.Event | None = None) -> "MouthBank | None":
        """One decoding pass (only the bank's frames converted); None where the track edits
        no frame, or once `stop` is set. `stride`: bank frames are multiples of it (`bank_indices`)."""
        editable = np.ones(len(track), bool) if track.edit is None else np.asarray(track.edit, bool)
        indices = bank_indices(editable, max_frames, stride)
        if len(indices) == 0:
            return None
        wanted, last = set(int(k) for k in indices), int(indices[-1])
        crops = {}
        with VideoReader(video) as reader:
            for frame in reader.iter_frames(wanted=wanted.__contains__):
                if stop is not None and stop.is_set():
                    return None
                box = track.box(frame.index)
                crops[frame.index] = crop_from_window(window_of(frame.planes, box, size), box, size)
                if frame.index == last:
                    break
        indices = np.array([k for k in indices if k in crops], dtype=int)
        if len(indices) == 0:
            return None
        return cls(indices, np.stack([crops[int(k)] for k in indices]),
                   np.stack([track.mouth_in_box(int(k)) for k in indices]).astype(np.float32), stride)

    def donors(self, editor, source_speech: np.ndarray, speech: np.ndarray, speech_features,
               source_times: np.ndarray, plan: np.ndarray, fps: float, config: MouthBankConfig,
               gated: bool = False) -> np.ndarray | None:
        """(len(plan),) bank index lent to each output frame, or None where the source's own
        speech is too sparse to read mouths from. `speech`: the new speech (16 kHz) and
        `speech_features` its `editor.prepare_audio`; `plan`: the output frames' source frames;
        `source_times`: every source frame's time on the source audio's clock; `gated`: the new
        speech is the speech gate's, so its pauses are where the gate muted it (`media.loudness.quiet_at`)."""
        bank_times = source_times[self.indices]
        source_quiet, speaking = self.speaking(source_speech, source_times, fps)
        if speaking.mean() < config.min_speech_share:
            return None
        output_times = np.arange(len(plan)) / fps
        new_quiet = quiet_at(speech, SAMPLE_RATE, output_times, 1.0 / fps, gated)
        new_keys = sound_keys(editor, speech_features, output_times, new_quiet, config)
        source_keys = sound_keys(editor, editor.audio_features(source_speech), bank_times, source_quiet, config)
        # An output frame whose source frame is not in the bank takes the next bank frame's pose.
        position = np.searchsorted(self.indices, plan).clip(0, len(self.indices) - 1)
        own = pose_vectors(self.crops, config.pose_side)
        cost = normalised(squared_distances(new_keys, source_keys)) + config.pose_weight * normalised(
            squared_distances(own[position], own))
        # In the new speech's pauses only the source's own quiet moments may lend their mouth
        # (where the source has a few): by sound and pose alone a pause could take a frame of
        # the source talking, even the output frame's own (its pose matches best), and show
        # its open mouth through the silence (a user tour: 23 of 32 pause frames open).
        if source_quiet.sum() >= config.min_quiet_donors:
            cost[np.ix_(new_quiet, ~source_quiet)] = np.inf
        follows = self.follows()
        # The path runs over the output frames the network edits (every stride-th: the dub's
        # edit rate), so a run of donors advances one bank frame per edited frame; the frames
        # between take the donor of the edited frame before them.
        path = choose_donors(cost[::self.stride].astype(np.float32), follows, config.switch_cost)
        return path[np.arange(len(plan)) // self.stride]

    def sound_gain(self, editor, source_speech: np.ndarray, source_times: np.ndarray, fps: float,
                   config: MouthBankConfig) -> float | None:
        """How much better (dB) the source's own speech picks its own mouths than its pose alone
        does: each bank frame where the source speaks is lent a mouth from at least
        `config.self_test_gap_s` away, chosen as `donors` chooses (sound + pose + runs) or by
        pose and runs only, and the two lent mouths are compared with the frame's own in the
        swap ellipse. Above 0, the sounds tell this character's mouths apart, so a mouth lent
        for the new speech is likelier right than the source's own mouth is (this gain and the
        lent mouth's gain over the source against the truth correlate at r 0.43 / 0.82 on the
        tuning / held-out split, 24 clips each: bench/results/sound-keys/). None where the
        source speaks too little to test."""
        quiet, speaking = self.speaking(source_speech, source_times, fps)
        if speaking.mean() < config.min_speech_share:
            return None
        keys = sound_keys(editor, editor.audio_features(source_speech), source_times[self.indices], quiet, config)
        own = pose_vectors(self.crops, config.pose_side)
        pose = config.pose_weight * normalised(squared_distances(own, own))
        too_near = np.abs(self.indices[:, None] - self.indices[None, :]) < config.self_test_gap_s * fps
        tested = np.flatnonzero(speaking)
        tested = tested[np.linspace(0, len(tested) - 1, min(len(tested), config.self_test_frames)).round().astype(int)]
        truth = self.crops[tested].astype(np.float32)
        inside = mouth_mask(self.crops.shape[1], (0.5, 0.5))[..., None]
        errors = []
        for cost in (normalised(squared_distances(keys, keys)) + pose, pose):
            cost = np.where(too_near, np.inf, cost).astype(np.float32)
            donors = choose_donors(cost, self.follows(), config.switch_cost)[tested]
            lent = self.lend(self.crops[tested], self.mouth_xy[tested], donors, config.max_shift).astype(np.float32)
            errors.append(float((((lent - truth) ** 2) * inside).sum()) + 1e-6)
        by_sound, by_pose = errors
        return float(10.0 * np.log10(by_pose / by_sound))

    def follows(self) -> np.ndarray:
        """(N,) True where bank frame n is the source frame `stride` after bank frame n - 1."""
        follows = np.zeros(len(self.indices), bool)
        follows[1:] = np.diff(self.indices) == self.stride
        return follows

    def speaking(self, source_speech: np.ndarray, source_times: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
        """Per bank frame: whether the source's own speech is quiet there, and whether it speaks
        (not quiet, and loud enough: `quiet_at` calls nothing quiet in a track without speech).
        Read by level on the gate's track too: the source's clear speech is what the bank's
        keys, the model's own test and the articulation map want (its soft parts as speech
        moved the own test's segments and halved its trust on clean tracks: stop 46)."""
        bank_times = source_times[self.indices]
        quiet = quiet_at(source_speech, SAMPLE_RATE, bank_times, 1.0 / fps)
        return quiet, ~quiet & (window_rms(source_speech, SAMPLE_RATE, bank_times, 1.0 / fps) >= SPEECH_FLOOR)

    def lend(self, crops: np.ndarray, mouth_xy: np.ndarray, donors: np.ndarray, max_shift: float,
             reach: float | np.ndarray = 1.0) -> np.ndarray:
        """(F, S, S, 3) uint8: each crop with the mouth area of its donor bank frame, the donor
        moved by `registration` to fit the crop (the tracked mouth centres of the two frames
        err apart, and a misplaced donor mouth costs more than a wrong one). `reach`: the swap
        ellipse's size, per crop or for all (data.mouth_swap.swap_mouths)."""
        size = crops.shape[1]
        mouth_xy = np.asarray(mouth_xy, np.float32)
        outside = 1.0 - mouth_mask(size, (0.5, 0.5))
        limit = max(1, round(max_shift * size))
        placed = np.empty_like(mouth_xy)
        for t, (crop, donor) in enumerate(zip(crops, self.crops[donors])):
            dx, dy = registration(crop, donor, outside, limit)
            placed[t] = mouth_xy[t] - np.array([dx, dy], np.float32) / size
        return swap_mouths(crops, mouth_xy, self.crops[donors], placed, reach)


class BankCollection:
    """`MouthBank.collect` in a thread of its own, started before the dub reads the speech
    tracks: that stage and the bank's decoding pass each keep one core busy, so on two cores
    they overlap. `result()` waits for the bank (and raises what the pass raised); `cancel()`
    stops a pass whose bank is not wanted after all. `CollectedBank`: one collected already."""

    def __init__(self, video: Path, track: MouthTrack, size: int, max_frames: int, stride: int = 1):
        self._stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mouth-bank")
        self._bank = pool.submit(MouthBank.collect, video, track, size, max_frames, stride, self._stop)
        pool.shutdown(wait=False)

    def result(self) -> "MouthBank | None":
        return self._bank.result()

    def cancel(self) -> None:
        self._stop.set()


@dataclass(frozen=True)
class CollectedBank:
    """A bank whose decoding pass ran already (pipeline.dub: in the forked tracking pass), with
    `BankCollection`'s two calls: `result()` is the bank (None: the pass found no frame to collect).
    `seconds`: the pass's wall time."""

    bank: MouthBank | None
    seconds: float = 0.0

    def result(self) -> MouthBank | None:
        return self.bank

    def cancel(self) -> None:
        pass


@dataclass(frozen=True)
class MouthLending:
    """The bank's donors for a dub's output frames and how much of each is shown (`shown` (T,)
    in [0, 1]); called as `lend(crops, output_frames, mouth_xy)` on the crops of those frames."""

    bank: MouthBank
    donors: np.ndarray
    shown: np.ndarray
    max_shift: float
    sound_gain: float | None = None  # MouthBank.sound_gain where it was tested (mouth_bank "auto")
    reach: np.ndarray | None = None  # (T,) the swap ellipse's size per output frame (None: 1 everywhere)

    def __call__(self, crops: np.ndarray, frames: np.ndarray, mouth_xy: np.ndarray) -> np.ndarray:
        """(F, S, S, 3) uint8: the crops of output `frames`, each blended towards its donor's
        mouth by its `shown` weight; crops at weight 0 are not registered at all."""
        weights = self.shown[frames]
        lent = np.flatnonzero(weights > 0)
        out = np.array(crops, copy=True)
        if len(lent):
            w = weights[lent, None, None, None].astype(np.float32)
            reach = 1.0 if self.reach is None else self.reach[frames][lent]
            swapped = self.bank.lend(out[lent], np.asarray(mouth_xy)[lent], self.donors[frames][lent], self.max_shift,
                                     reach)
            out[lent] = np.round(out[lent] * (1 - w) + swapped * w).astype(np.uint8)
        return out

    @property
    def frames(self) -> int:
        """Output frames shown some of a lent mouth."""
        return int((self.shown > 0).sum())

    def reaches_whole_mouth(self, frame: int) -> bool:
        """Whether output `frame` is lent a mouth beyond the swap ellipse's usual size (DubOptions.
        pause_reach), which the paste then keeps whole."""
        return self.reach is not None and self.shown[frame] > 0 and self.reach[frame] > 1


def registration(target: np.ndarray, moving: np.ndarray, weight: np.ndarray, limit: int) -> tuple[int, int]:
    """Whole-pixel shift (dx, dy), each within +-limit, that moves `moving` onto `target` with the
    least weighted squared difference of their grey levels (weight: (S, S), where to compare).
    Ties keep the donor where it is (a flat picture), then go to the first shift in (dy, dx) order.

    OpenCV's masked template match gives every shift's sum of (mask (target - moved))^2 at once,
    so the mask is the weight's square root (0.3 ms a 64 px crop against 0.9 ms for the same
    sums in numpy; a dub registers each lent frame and each frame of its own test). It sums in
    float32 through correlations (off by up to 1e-7 of the two pictures' weighted energy on a
    dub's crops), so shifts within 2.5e-7 of that energy of the best one count as ties."""
    a = cv2.cvtColor(target, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(moving, cv2.COLOR_RGB2GRAY).astype(np.float32)
    weight = np.asarray(weight, np.float32)
    b = cv2.copyMakeBorder(b, limit, limit, limit, limit, cv2.BORDER_REFLECT_101)
    # errors[i, j] is the weighted error of the moved image for dy = limit - i, dx = limit - j: its
    # pixel (y, x) is the original's (y - dy, x - dx)
    errors = cv2.matchTemplate(b, a, cv2.TM_SQDIFF, mask=np.sqrt(weight))
    tie = 2.5e-7 * float((weight * a * a).sum() + (weight * b[limit:-limit, limit:-limit] ** 2).sum())
    best = float(errors.min())
    if errors[limit, limit] <= best + tie:
        return 0, 0
    i, j = np.unravel_index(int(np.argmax(errors <= best + tie)), errors.shape)
    return limit - int(j), limit - int(i)
