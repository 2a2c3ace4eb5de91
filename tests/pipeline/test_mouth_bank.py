"""The mouth bank: the donor path (Viterbi), the registration, the lending, and a dub that lends."""

import threading
from dataclasses import replace

import cv2
import numpy as np
import pytest

from omnisync_cli.data.mouth_swap import shifted
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import RegionBox
from omnisync_cli.face.mouth_track import constant_track
from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.audio import SAMPLE_RATE
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.self_test import segment_starts
from omnisync_cli.pipeline.editor import PassthroughEditor
from omnisync_cli.errors import InputError
from omnisync_cli.pipeline.mouth_bank import (BANK_RUN, BankCollection, MouthBank, MouthBankConfig, MouthLending,
                                               bank_indices, choose_donors, normalised, registration,
                                               squared_distances)
from tests.media.clips import tone, write_audio, write_clip


def test_choose_donors_takes_each_frames_best_when_switching_is_free():
    cost = np.array([[0, 5, 5], [5, 5, 0], [5, 0, 5], [0, 5, 5]], np.float32)
    follows = np.array([False, True, True])
    assert choose_donors(cost, follows, 0.0).tolist() == [0, 2, 1, 0]


def test_choose_donors_follows_a_run_when_a_jump_costs_more_than_it_saves():
    cost = np.array([[0, 5, 5], [5, 2, 0], [5, 5, 0]], np.float32)  # 0 -> 1 -> 2 costs 0 + 2 + 0
    follows = np.array([False, True, True])
    assert choose_donors(cost, follows, 3.0).tolist() == [0, 1, 2]
    assert choose_donors(cost, follows, 0.5).tolist() == [0, 2, 2]  # two jumps (1) beat the run (2)
    # without runs in the bank (its frames far apart) every step is a jump: each frame's best
    assert choose_donors(cost, np.zeros(3, bool), 10.0).tolist() == [0, 2, 2]


def test_choose_donors_of_no_frames():
    assert choose_donors(np.zeros((0, 3), np.float32), np.zeros(3, bool), 1.0).shape == (0,)


def test_bank_indices_keep_editable_frames_and_thin_evenly():
    editable = np.ones(10, bool)
    editable[:4] = False
    assert bank_indices(editable, 100).tolist() == [4, 5, 6, 7, 8, 9]
    thin = bank_indices(np.ones(1000, bool), 11)
    assert len(thin) <= 11 and thin[0] == 0 and thin[-1] == 999 and np.all(np.diff(thin) > 0)


def test_a_long_videos_bank_is_thinned_in_runs_of_consecutive_frames():
    """A donor run and the model's own test (8-frame segments) need frames that follow each other."""
    thin = bank_indices(np.ones(10000, bool), 2000, stride=2)
    assert len(thin) == 2000 and thin[0] == 0 and thin[-1] == 9998 and np.all(np.diff(thin) > 0)
    runs = np.split(thin, np.flatnonzero(np.diff(thin) != 2) + 1)
    assert all(len(r) == BANK_RUN for r in runs) and len(runs) == 2000 // BANK_RUN
    gaps = np.diff([r[0] for r in runs])
    assert gaps.max() - gaps.min() <= 2  # spread evenly over the video
    bank = MouthBank(thin, np.zeros((len(thin), 4, 4, 3), np.uint8), np.full((len(thin), 2), 0.5, np.float32), 2)
    assert len(segment_starts(np.ones(len(thin), bool), bank.follows(), 8)) == len(runs) * (BANK_RUN - 8 + 1)


def test_squared_distances_and_normalised():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    brute = ((a[:, None] - b[None]) ** 2).sum(-1)
    assert np.allclose(squared_distances(a, b), brute)
    d = np.array([[1.0, 2.0, 4.0]])
    assert np.allclose(normalised(d), d / 2.0)
    assert np.allclose(normalised(np.array([[0.0, 0.0, 3.0]])), [[0, 0, 3.0]])  # median 0: divided by the mean 1
    assert np.allclose(normalised(np.zeros((2, 2))), 0)


def test_registration_finds_the_shift_that_undoes_a_move():
    rng = np.random.default_rng(1)
    image = np.repeat(rng.integers(0, 255, (32, 32, 1)), 3, axis=2).astype(np.uint8)
    image = np.kron(image[:16, :16], np.ones((4, 4, 1))).astype(np.uint8)  # (64, 64, 3) blocks
    moved = shifted(image, 3, -2)
    assert registration(image, moved, np.ones((64, 64), np.float32), 6) == (-3, 2)
    assert registration(image, image, np.ones((64, 64), np.float32), 6) == (0, 0)
    flat = np.full((64, 64, 3), 90, np.uint8)  # every shift ties: the donor stays where it is
    assert registration(flat, flat, np.ones((64, 64), np.float32), 6) == (0, 0)
    # the weight decides which pixels count: a move seen only where the weight is zero is no move
    half = np.ones((64, 64), np.float32)
    half[:, 32:] = 0
    other = image.copy()
    other[:, 40:] = moved[:, 40:]
    assert registration(image, other, half, 6) == (0, 0)


def weighted_errors_by_hand(target: np.ndarray, moving: np.ndarray, weight: np.ndarray, limit: int) -> np.ndarray:
    """errors[dy + limit, dx + limit]: sum of weight (grey target - grey moving moved by dx, dy)^2."""
    grey = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    a, b = grey(target), grey(moving)
    padded = np.pad(b, limit, mode="reflect")
    size = a.shape[0]
    errors = np.zeros((2 * limit + 1, 2 * limit + 1))
    for dy in range(-limit, limit + 1):
        for dx in range(-limit, limit + 1):
            moved = padded[limit - dy:limit - dy + size, limit - dx:limit - dx + size]
            errors[dy + limit, dx + limit] = (weight * (a - moved) ** 2).sum()
    return errors


def test_registration_picks_the_least_weighted_error_of_every_shift():
    rng = np.random.default_rng(7)
    size, limit = 48, 5
    for _ in range(20):
        scene = cv2.GaussianBlur(rng.integers(0, 256, (size + 16, size + 16, 3)).astype(np.uint8), (7, 7), 2)
        dx, dy = rng.integers(-4, 5, 2)
        target = scene[8:8 + size, 8:8 + size].copy()
        moving = scene[8 + dy:8 + dy + size, 8 + dx:8 + dx + size].copy()
        moving = np.clip(moving + rng.normal(0, 6, moving.shape), 0, 255).astype(np.uint8)
        weight = rng.uniform(0, 1, (size, size)).astype(np.float32)
        errors = weighted_errors_by_hand(target, moving, weight, limit)
        i, j = np.unravel_index(errors.argmin(), errors.shape)
        assert registration(target, moving, weight, limit) == (int(j) - limit, int(i) - limit)


def test_lend_puts_the_donor_mouth_in_and_leaves_the_rest():
    size = 32
    crops = np.full((2, size, size, 3), 100, np.uint8)
    donor = crops[0].copy()
    donor[14:18, 12:20] = 250  # a bright mouth at the centre
    bank = MouthBank(np.array([0, 1]), np.stack([crops[0], donor]), np.full((2, 2), 0.5, np.float32))
    lent = bank.lend(crops, np.full((2, 2), 0.5, np.float32), np.array([1, 0]), max_shift=0.1)
    assert lent[0, 16, 16, 0] == 250  # frame 0 got the bright mouth
    assert np.array_equal(lent[1], crops[1])  # frame 1's donor is a copy of itself
    assert np.all(lent[0, :4] == 100) and np.all(lent[0, :, :3] == 100)  # far from the mouth: as it was


def test_a_lending_blends_the_donor_in_by_its_weight_and_leaves_unweighted_crops_alone():
    size = 32
    crops = np.full((3, size, size, 3), 100, np.uint8)
    donor = crops[0].copy()
    donor[14:18, 12:20] = 200
    bank = MouthBank(np.array([0]), donor[None], np.full((1, 2), 0.5, np.float32))
    xy = np.full((3, 2), 0.5, np.float32)
    lending = MouthLending(bank, np.zeros(3, int), np.array([0.0, 0.5, 1.0], np.float32), max_shift=0.1)
    lent = lending(crops, np.arange(3), xy)
    assert np.array_equal(lent[0], crops[0])  # weight 0: as it was
    assert lent[1, 16, 16, 0] == 150  # half way
    assert np.array_equal(lent[2], bank.lend(crops[2:], xy[2:], np.zeros(1, int), max_shift=0.1)[0])
    assert lending.frames == 2


def test_a_lending_reaches_further_on_the_frames_its_reach_widens_and_says_which():
    crops = np.full((2, 32, 32, 3), 120, np.uint8)
    bank = MouthBank(np.arange(1), np.full((1, 32, 32, 3), 250, np.uint8), np.array([[0.5, 0.5]], np.float32))
    lending = MouthLending(bank, np.zeros(2, int), np.ones(2, np.float32), max_shift=0.1,
                           reach=np.array([1.0, 1.4], np.float32))
    lent = lending(crops, np.arange(2), np.array([[0.5, 0.5]] * 2, np.float32))
    x = int((0.5 + 0.36) * 32)  # beyond the usual ellipse, inside the wider one
    assert (lent[0, 16, x] == 120).all() and (lent[1, 16, x] > 150).all()
    assert [lending.reaches_whole_mouth(j) for j in range(2)] == [False, True]
    assert not MouthLending(bank, np.zeros(2, int), np.ones(2, np.float32), max_shift=0.1).reaches_whole_mouth(1)


class LoudnessEditor(PassthroughEditor):
    """A pass-through editor that reads a mouth 'opening' from the audio's loudness and records
    the crops it is shown."""

    def __init__(self):
        super().__init__(region_size=16)
        self.shown = []

    def prepare_audio(self, waveform):
        return waveform

    def audio_features(self, waveform):
        return waveform

    def sound_keys(self, audio, times):
        index = np.clip((np.asarray(times) * SAMPLE_RATE).astype(int), 0, len(audio) - 1)
        loud = np.array([np.abs(audio[max(0, i - 320):i + 320]).mean() for i in index])
        return np.repeat(loud[:, None], 5, axis=1).astype(np.float32)

    def edit(self, crops, frame_times, mouth_xy, audio):
        self.shown.append(crops.copy())
        return crops


def talking_frames(half_width: int = 4) -> list[np.ndarray]:
    """20 frames: the mouth (the region's centre) dark and shut for the first 10, then bright;
    `half_width` 4 keeps it inside the swap's full-weight core."""
    frames = []
    for i in range(20):
        frame = np.full((48, 64, 3), 90, np.uint8)
        frame[:, :8] = 30  # something outside the mouth to register on
        frame[30:34, 32 - half_width:32 + half_width] = 240 if i >= 10 else 20
        frames.append(frame)
    return frames


@pytest.fixture
def talking(tmp_path):
    """The video is silent for its first 0.4 s (mouth shut), then a tone plays (mouth open);
    the new speech plays the tone first, then is silent."""
    frames = talking_frames()
    own = np.concatenate([np.zeros(6400, np.float32), tone(0.4, SAMPLE_RATE)])
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=25, audio=own)
    write_audio(tmp_path / "speech.wav", np.concatenate([tone(0.4, SAMPLE_RATE), np.zeros(6400, np.float32)]),
                SAMPLE_RATE)
    return tmp_path


REGION = FaceConfig(region=(20.0, 20.0, 24.0, 24.0))  # mouth at the region's centre (32, 32)


def test_a_dub_with_the_mouth_bank_shows_the_model_the_mouth_the_new_speech_asks_for(talking):
    editor = LoudnessEditor()
    report = dub(talking / "in.mp4", talking / "speech.wav", talking / "out.mp4", editor,
                 DubOptions(face=REGION, mouth_bank="everywhere", keep_quiet_source=False))
    assert report.frames_lent == 20
    shown = np.concatenate([s[:6] for s in editor.shown[:-1]] + [editor.shown[-1]])[:20]
    centre = shown[:, 8, 8].mean(axis=1)
    assert np.all(centre[:8] > 150)  # the tone plays: the source's open (bright) mouth is shown
    assert np.all(centre[12:] < 60)  # silence: the shut (dark) mouth


def test_lending_in_pauses_only_leaves_the_frames_with_new_speech_as_they_were(talking):
    editor = LoudnessEditor()
    report = dub(talking / "in.mp4", talking / "speech.wav", talking / "out.mp4", editor,
                 DubOptions(face=REGION, mouth_bank="pauses", keep_quiet_source=False))
    assert 6 <= report.frames_lent <= 10  # the pause's frames (the tone's tail and the fades aside) only
    shown = np.concatenate([s[:6] for s in editor.shown[:-1]] + [editor.shown[-1]])[:20]
    centre = shown[:, 8, 8].mean(axis=1)
    source = np.array([20] * 10 + [240] * 10)  # the source's own mouth: shut, then open
    assert np.all(np.abs(centre[:10] - source[:10]) < 30)  # the tone plays: nothing lent
    assert np.all(centre[13:17] < 60)  # inside the pause the shut mouth is lent over the open one
    assert centre[10] > centre[13]  # faded in where the speech stops
    assert centre[19] < 60  # ... and whole to the video's last frame (nothing to fade out to)


def test_in_the_new_speechs_pauses_a_wide_mouth_is_lent_and_pasted_whole(talking):
    """A mouth wider than the swap ellipse (10 px each side of a 24 px region's centre; the
    ellipse reaches 7.7): in the pause, the lent shut mouth covers its open rim only with the
    pause reach."""
    write_clip(talking / "wide.mp4", frames=talking_frames(half_width=10), width=64, height=48, fps=25,
               audio=np.concatenate([np.zeros(6400, np.float32), tone(0.4, SAMPLE_RATE)]))
    rims = {}
    for reach in (1.0, 1.3):
        out = talking / f"out-{reach}.mp4"
        dub(talking / "wide.mp4", talking / "speech.wav", out, LoudnessEditor(),
            DubOptions(face=REGION, mouth_bank="pauses", keep_quiet_source=False, pause_reach=reach))
        with VideoReader(out) as reader:
            frames = [f.image for f in reader.iter_frames()]
        rims[reach] = np.array([frames[k][32, 40].mean() for k in range(13, 18)])  # 8 px right of the centre
    assert np.all(rims[1.0] > 180)  # the open mouth's rim stays open around the lent shut centre
    assert np.all(rims[1.3] < rims[1.0] - 40)  # lent and pasted whole: the rim closes too


def test_without_the_option_or_without_source_speech_nothing_is_lent(talking):
    editor = LoudnessEditor()
    dub(talking / "in.mp4", talking / "speech.wav", talking / "out.mp4", editor,
        DubOptions(face=REGION, keep_quiet_source=False, mouth_bank="off"))
    shown = np.concatenate([s[:6] for s in editor.shown[:-1]] + [editor.shown[-1]])[:20]
    centre = shown[:, 8, 8].mean(axis=1)
    assert np.all(np.abs(centre - np.array([20] * 10 + [240] * 10)) < 30)  # the source as it is, pause included
    mute = talking / "mute.mp4"  # the same pictures, no speech of its own
    write_clip(mute, frames=talking_frames(), width=64, height=48, fps=25, audio=np.zeros(8000, np.float32))
    editor = LoudnessEditor()
    report = dub(mute, talking / "speech.wav", talking / "out2.mp4", editor,
                 DubOptions(face=REGION, mouth_bank="everywhere", keep_quiet_source=False))
    centre = np.concatenate([s[:6] for s in editor.shown])[:, 8, 8].mean(axis=1)
    assert np.all(centre[:8] < 60)
    assert any(w.startswith("--mouth-bank everywhere: nothing lent") for w in report.warnings)  # the user is told
    assert report.frames_lent == 0


def test_no_bank_without_an_edited_frame(talking):
    track = constant_track(20, 25.0, (64, 48), RegionBox(32, 32, 24), (32, 32), "override")
    assert MouthBank.collect(talking / "in.mp4", replace(track, edit=np.zeros(20, bool)), 16, 100) is None
    bank = MouthBank.collect(talking / "in.mp4", track, 16, 100)
    assert bank.crops.shape == (20, 16, 16, 3) and bank.indices.tolist() == list(range(20))


def test_a_bank_collected_in_the_background_is_the_bank(talking, tmp_path):
    """The dub starts the bank's pass beside the speech's stage: the same crops; a cancelled
    pass stops and gives no bank; a pass that fails raises where the dub asks for the bank."""
    track = constant_track(20, 25.0, (64, 48), RegionBox(32, 32, 24), (32, 32), "override")
    direct = MouthBank.collect(talking / "in.mp4", track, 16, 100)
    background = BankCollection(talking / "in.mp4", track, 16, 100).result()
    np.testing.assert_array_equal(background.crops, direct.crops)
    assert background.indices.tolist() == direct.indices.tolist()
    cancelled = BankCollection(talking / "in.mp4", track, 16, 100)
    cancelled.cancel()
    assert cancelled.result() is None or len(cancelled.result().indices) == 20  # stopped, or done before
    stopped = threading.Event()
    stopped.set()
    assert MouthBank.collect(talking / "in.mp4", track, 16, 100, stop=stopped) is None
    missing = BankCollection(tmp_path / "gone.mp4", track, 16, 100)
    with pytest.raises(InputError):
        missing.result()


def test_at_a_stride_the_bank_holds_every_stride_th_frame_as_at_full_rate(talking):
    track = constant_track(20, 25.0, (64, 48), RegionBox(32, 32, 24), (32, 32), "override")
    full = MouthBank.collect(talking / "in.mp4", track, 16, 100)
    thin = MouthBank.collect(talking / "in.mp4", track, 16, 100, stride=2)
    assert thin.indices.tolist() == list(range(0, 20, 2)) and thin.stride == 2
    np.testing.assert_array_equal(thin.crops, full.crops[::2])
    assert bank_indices(np.ones(10, bool), 100, stride=3).tolist() == [0, 3, 6, 9]


def test_at_a_stride_donors_run_one_bank_frame_per_edited_frame(talking):
    """The donor path runs over the output frames the network edits; the frames between take
    the donor before them, so a run of donors moves at the source's own pace."""
    track = constant_track(20, 25.0, (64, 48), RegionBox(32, 32, 24), (32, 32), "override")
    bank = MouthBank.collect(talking / "in.mp4", track, 16, 100, stride=2)
    own = np.concatenate([np.zeros(6400, np.float32), tone(0.4, SAMPLE_RATE)])
    editor = LoudnessEditor()
    donors = bank.donors(editor, own, own, own, np.arange(20) / 25.0, np.arange(20), 25.0, MouthBankConfig())
    assert donors.shape == (20,) and np.array_equal(donors[1::2], donors[::2])
    # the new speech is the source's own: the path runs along the bank at the source's pace, each
    # edited frame taking its own source frame, up to where the last frames (all alike: the same
    # open mouth, the same steady tone) tie
    assert np.array_equal(bank.indices[donors[::2]][:8], np.arange(0, 16, 2))


def test_the_video_reader_converts_only_the_wanted_frames(talking):
    with VideoReader(talking / "in.mp4") as reader:
        every = [f.planes.y for f in reader.iter_frames()]
    with VideoReader(talking / "in.mp4") as reader:
        some = list(reader.iter_frames(wanted=lambda k: k % 3 == 1))
    assert [f.index for f in some] == list(range(1, 20, 3))
    assert all(np.array_equal(f.planes.y, every[f.index]) for f in some)


def test_tune_previews_with_the_mouth_bank_as_the_dub_does(talking):
    from omnisync_cli.model.editor import SamplerConfig
    from omnisync_cli.pipeline.tune import TuneGrid, tune
    editor = LoudnessEditor()
    tune(talking / "in.mp4", talking / "speech.wav", talking / "grid.mp4", lambda sampler: editor, SamplerConfig(),
         TuneGrid(taus=(0.92,), cfg_peaks=(2.0,), seconds=0.8),
         DubOptions(face=REGION, mouth_bank="everywhere", keep_quiet_source=False))
    shown = np.concatenate([s[:6] for s in editor.shown[:-1]] + [editor.shown[-1]])[:20]
    centre = shown[:, 8, 8].mean(axis=1)
    assert np.all(centre[:8] > 150) and np.all(centre[12:] < 60)


class DeafEditor(LoudnessEditor):
    """Reads the same mouth from any sound: only the silent flag and the pose tell donors apart."""

    def sound_keys(self, audio, times):
        return np.zeros((len(times), 5), np.float32)


def test_in_the_new_speechs_pauses_only_the_sources_quiet_frames_lend():
    """A pause must not take a frame of the source talking, not even the output frame's own,
    whose pose fits best: where the source has quiet frames, only those lend there."""
    n, fps = 20, 25.0
    crops = np.full((n, 16, 16, 3), 90, np.uint8)
    for i in range(n):
        crops[i, :, :3] = 12 * i  # a pose that drifts frame by frame (outside the mouth)
        crops[i, 6:10, 6:10] = 20 if i < 5 else 240  # shut while the source is quiet, open as it talks
    bank = MouthBank(np.arange(n), crops, np.full((n, 2), 0.5, np.float32))
    sound = tone(0.6, SAMPLE_RATE)
    source = np.concatenate([np.zeros(3200, np.float32), sound[:12800 - 3200]])  # quiet for frames 0-4
    speech = np.concatenate([sound[:6400], np.zeros(6400, np.float32)])  # a pause from frame 10
    donors = bank.donors(DeafEditor(), source, speech, speech, np.arange(n) / fps, np.arange(n), fps,
                         MouthBankConfig())
    assert set(donors[12:].tolist()) <= {0, 1, 2, 3, 4}
    loose = bank.donors(DeafEditor(), source, speech, speech, np.arange(n) / fps, np.arange(n), fps,
                        MouthBankConfig(min_quiet_donors=n + 1))  # the rule off: the pose's pick talks
    assert not set(loose[12:].tolist()) <= {0, 1, 2, 3, 4}


# Sound blocks of 10 frames (0.4 s at 25 fps): loud, soft, quiet, over and over.
LEVELS = (0.5, 0.15, 0.0)
MOUTHS = (240, 140, 20)  # how open the mouth is at each level: wide, half, shut


def blocks_audio(n_frames: int, fps: float = 25.0, offset: int = 0) -> np.ndarray:
    per_frame = int(SAMPLE_RATE / fps)
    levels = [LEVELS[((k + offset) // 10) % 3] for k in range(n_frames)]
    return np.concatenate([tone(1 / fps, SAMPLE_RATE, amplitude=1.0)[:per_frame] * a for a in levels])


def drifting_bank(n: int, mouth_of) -> MouthBank:
    """n 16 px crops whose pose drifts frame by frame (outside the mouth) and whose mouth (the
    centre) shows mouth_of(k)."""
    crops = np.full((n, 16, 16, 3), 90, np.uint8)
    for k in range(n):
        crops[k, :, :3] = 2 * k
        crops[k, 6:10, 6:10] = mouth_of(k)
    return MouthBank(np.arange(n), crops, np.full((n, 2), 0.5, np.float32))


def test_the_sound_gain_is_positive_where_the_sources_speech_tells_its_mouths_apart():
    n, fps = 90, 25.0
    source = blocks_audio(n, fps)
    bank = drifting_bank(n, lambda k: MOUTHS[(k // 10) % 3])
    gain = bank.sound_gain(LoudnessEditor(), source, np.arange(n) / fps, fps, MouthBankConfig())
    assert gain > 1.0  # by pose alone a frame takes a neighbour 0.5 s away, often in another block


def test_the_sound_gain_is_not_positive_where_the_mouth_follows_something_else():
    """The same speech, but the mouth opens slowly over the clip whatever is said: the sound
    picks mouths from far away, the pose (time) the nearest allowed ones, which fit better."""
    n, fps = 90, 25.0
    source = blocks_audio(n, fps)
    bank = drifting_bank(n, lambda k: 20 + 2 * k)
    assert bank.sound_gain(LoudnessEditor(), source, np.arange(n) / fps, fps, MouthBankConfig()) < 0


def test_no_sound_gain_where_the_source_hardly_speaks():
    n, fps = 90, 25.0
    source = np.zeros(n * 640, np.float32)
    source[:640 * 5] = tone(0.2, SAMPLE_RATE)  # 5 of 90 frames
    bank = drifting_bank(n, lambda k: 20)
    assert bank.sound_gain(LoudnessEditor(), source, np.arange(n) / fps, fps, MouthBankConfig()) is None


def test_auto_lends_everywhere_where_the_source_passes_its_own_test_and_in_pauses_where_not(tmp_path):
    n, fps = 90, 25
    def frames(mouth_of):
        out = []
        for k in range(n):
            frame = np.full((48, 64, 3), 90, np.uint8)
            frame[:, :8] = 2 * k  # something outside the mouth that drifts
            frame[30:34, 28:36] = mouth_of(k)
            out.append(frame)
        return out
    write_audio(tmp_path / "speech.wav", blocks_audio(n, fps, offset=5), SAMPLE_RATE)
    options = DubOptions(face=REGION, keep_quiet_source=False)  # mouth_bank "auto", the default
    assert options.mouth_bank == "auto"
    write_clip(tmp_path / "tells.mp4", frames=frames(lambda k: MOUTHS[(k // 10) % 3]), width=64, height=48, fps=fps,
               audio=blocks_audio(n, fps))
    report = dub(tmp_path / "tells.mp4", tmp_path / "speech.wav", tmp_path / "out1.mp4", LoudnessEditor(), options)
    assert report.mouth_bank_sound_gain > 0 and report.frames_lent == n
    write_clip(tmp_path / "drifts.mp4", frames=frames(lambda k: 20 + 2 * k), width=64, height=48, fps=fps,
               audio=blocks_audio(n, fps))
    report = dub(tmp_path / "drifts.mp4", tmp_path / "speech.wav", tmp_path / "out2.mp4", LoudnessEditor(), options)
    assert report.mouth_bank_sound_gain <= 0 and 0 < report.frames_lent < n  # the new speech's pauses only
