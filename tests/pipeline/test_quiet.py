"""Where both the new speech and the source's own speech are silent, the source stays."""

import dataclasses

import numpy as np
import pytest

from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.dub import dub
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.media.loudness import quiet_at
from omnisync_cli.pipeline.quiet import FADE_S, MIN_QUIET_S, keep_source_weights, pause_weights
from tests.media.clips import cartoon, tone, write_audio, write_clip
from tests.pipeline.test_dub import ShiftEditor

RATE, FPS = 16_000, 25


def speech_with_pause(seconds: float, pause: tuple[float, float], noise: float = 1e-4) -> np.ndarray:
    """A loud tone with a silent stretch (a little noise, as a recording has)."""
    wave = tone(seconds, RATE) + np.random.default_rng(0).normal(0, noise, round(seconds * RATE)).astype(np.float32)
    wave[round(pause[0] * RATE):round(pause[1] * RATE)] = np.random.default_rng(1).normal(
        0, noise, round(pause[1] * RATE) - round(pause[0] * RATE))
    return wave


def test_frames_in_a_pause_are_quiet_and_frames_with_sound_are_not():
    times = np.arange(50) / FPS
    quiet = quiet_at(speech_with_pause(2.0, (0.8, 1.6)), RATE, times, 1 / FPS)
    assert quiet[22:38].all() and not quiet[:19].any() and not quiet[41:].any()


@pytest.mark.parametrize("wave", [np.zeros(32_000, np.float32), np.full(32_000, 3e-4, np.float32)],
                         ids=["digital silence", "noise floor only"])
def test_a_track_without_speech_has_no_quiet_frames(wave):
    """A muted or empty source track says nothing about the mouth: nothing is kept."""
    assert not quiet_at(wave, RATE, np.arange(50) / FPS, 1 / FPS).any()


def test_the_source_is_kept_inside_common_pauses_and_faded_at_their_ends():
    both = np.zeros(60, bool)
    both[20:40] = True  # 0.8 s, both quiet
    weights = keep_source_weights(both, both, FPS)
    fade = round(FADE_S * FPS)
    assert not weights[:20].any() and not weights[40:].any()
    assert np.all(weights[20 + fade:40 - fade] == 1.0)
    assert 0 < weights[20] < weights[21] < 1 and 0 < weights[39] < 1
    # A common pause shorter than MIN_QUIET_S, or silence in one track only: nothing kept.
    short = np.zeros(60, bool)
    short[20:20 + int(MIN_QUIET_S * FPS) - 1] = True
    assert not keep_source_weights(short, short, FPS).any()
    assert not keep_source_weights(both, np.zeros(60, bool), FPS).any()


def test_pause_weights_mark_the_new_speechs_own_pauses_whatever_the_source_does():
    quiet = np.zeros(60, bool)
    quiet[20:40] = True
    quiet[50:50 + int(MIN_QUIET_S * FPS) - 1] = True  # too short to count
    weights = pause_weights(quiet, FPS)
    fade = round(FADE_S * FPS)
    assert not weights[:20].any() and not weights[40:].any()
    assert np.all(weights[20 + fade:40 - fade] == 1.0) and 0 < weights[20] < 1 and 0 < weights[39] < 1


def test_a_pause_at_the_videos_start_or_end_is_not_faded_there():
    """Nothing comes before the first frame or after the last: a pause that reaches either is
    whole up to it (a dub ending in silence showed its last frames half back to the talking mouth)."""
    quiet = np.zeros(60, bool)
    quiet[:20] = quiet[45:] = True
    weights = pause_weights(quiet, FPS)
    fade = round(FADE_S * FPS)
    assert np.all(weights[:20 - fade] == 1.0) and weights[19] < 1  # faded only into the speech
    assert np.all(weights[45 + fade:] == 1.0) and weights[45] < 1
    assert np.all(keep_source_weights(quiet, quiet, FPS)[50:] == 1.0)


@pytest.mark.parametrize("keep", [True, False])
def test_a_dub_keeps_the_source_frame_where_nobody_speaks(tmp_path, keep):
    frames = [cartoon(i % 7, 64, 48) for i in range(50)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=FPS, bt709=True,
               audio=speech_with_pause(2.0, (0.8, 1.6)))
    write_audio(tmp_path / "speech.wav", speech_with_pause(2.0, (0.6, 1.5)), RATE)
    options = DubOptions(face=FaceConfig(region=(16.0, 8.0, 32.0, 32.0)), crf=0, focus=0.0,
                         keep_quiet_source=keep)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", ShiftEditor(region_size=16),
                 options)
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(tmp_path / "in.mp4") as source:
        pairs = [(o.image[14:34, 22:42].mean(), s.image[14:34, 22:42].mean())
                 for o, s in zip(out.iter_frames(), source.iter_frames())]
    brightened = np.array([o > s + 30 for o, s in pairs])
    assert brightened[:15].all() and brightened[40:].all()  # speech in one track or both: edited
    assert brightened[24:34].all() != keep  # inside the common pause (0.8-1.5 s): the source, if kept
    assert (report.frames_kept_quiet > 0) == keep


class CountingShift(ShiftEditor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.frames_edited = 0

    def edit(self, crops, frame_times, mouth_xy, audio):
        self.frames_edited += len(crops)
        return super().edit(crops, frame_times, mouth_xy, audio)


def test_segments_wholly_inside_a_common_pause_skip_the_model(tmp_path):
    """The same output frames either way; the model runs on fewer of them."""
    frames = [cartoon(i % 7, 64, 48) for i in range(75)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=FPS, bt709=True,
               audio=speech_with_pause(3.0, (0.6, 2.4)))
    write_audio(tmp_path / "speech.wav", speech_with_pause(3.0, (0.6, 2.4)), RATE)
    options = DubOptions(face=FaceConfig(region=(16.0, 8.0, 32.0, 32.0)), crf=0, focus=0.0)
    counts, outputs = [], []
    for name, keep in (("kept", True), ("edited", False)):
        editor = CountingShift(region_size=16)
        report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / f"{name}.mp4", editor,
                     dataclasses.replace(options, keep_quiet_source=keep))
        counts.append(editor.frames_edited)
        # a frame kept whole is not also counted as edited
        assert report.frames_edited + report.frames_kept_quiet <= report.output_frames
        with VideoReader(tmp_path / f"{name}.mp4") as reader:
            outputs.append([f.image for f in reader.iter_frames()])
    assert counts[0] <= counts[1] - 2 * 8  # at least two 8-frame segments skipped
    speech = list(range(0, 12)) + list(range(64, 75))  # away from the pause and its fades
    assert all(np.array_equal(outputs[0][j], outputs[1][j]) for j in speech)


class HearingShift(ShiftEditor):
    """A ShiftEditor that listens: it keeps the speech the pipeline lets it hear."""

    hears_speech = True

    def prepare_audio(self, waveform):
        self.heard = waveform
        return None


@pytest.mark.parametrize("gate", [True, False])
def test_music_in_the_pauses_is_neither_heard_nor_taken_for_speech(tmp_path, gate):
    """Speech over a music bed, in the video and in the new track: with the voice detector the
    editor hears the words alone and the common pause keeps the source; without it the music
    fills the pause. The audio written is the track as given either way."""
    from omnisync_cli.data.speech import synthesize
    from omnisync_cli.media.audio import load_audio
    from tests.media.test_speech_gate import music_bed

    words = synthesize("hello there", "en", rate=170).waveform[: round(0.8 * RATE)]
    speech = np.zeros(3 * RATE, np.float32)  # words, a pause of about 1.4 s, the words again
    speech[: len(words)] = words
    speech[round(2.2 * RATE): round(2.2 * RATE) + len(words)] = words
    track = speech + music_bed(3.0, 0.02)
    frames = [cartoon(i % 7, 64, 48) for i in range(75)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=FPS, bt709=True, audio=track)
    write_audio(tmp_path / "speech.wav", track, RATE)
    editor = HearingShift(region_size=16)
    options = DubOptions(face=FaceConfig(region=(16.0, 8.0, 32.0, 32.0)), speech_gate=gate)
    report = dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", editor, options)
    middle = slice(round(1.3 * RATE), round(1.8 * RATE))  # inside the pause, away from the words
    assert (not editor.heard[middle].any()) == gate
    assert np.array_equal(editor.heard, load_audio(tmp_path / "speech.wav")) != gate
    assert (report.frames_kept_quiet > 0) == gate
    written = load_audio(tmp_path / "out.mp4")
    assert np.sqrt(np.mean(written[middle] ** 2)) > 0.01  # the music is still in the dub


@pytest.mark.parametrize("gate", [True, False])
def test_a_new_track_of_music_alone_is_dubbed_as_silence_with_a_warning(tmp_path, gate):
    from tests.media.test_speech_gate import music_bed

    frames = [cartoon(i % 7, 64, 48) for i in range(50)]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=FPS, bt709=True)
    write_audio(tmp_path / "music.wav", music_bed(2.0, 0.3), RATE)
    options = DubOptions(face=FaceConfig(region=(16.0, 8.0, 32.0, 32.0)), speech_gate=gate)
    report = dub(tmp_path / "in.mp4", tmp_path / "music.wav", tmp_path / "out.mp4", HearingShift(region_size=16),
                 options)
    warned = [w for w in report.warnings if "hears no speech" in w]
    assert len(warned) == gate  # without the detector the whole track is heard, as asked


def test_a_gated_track_is_quiet_where_muted_whatever_the_level_of_its_speech():
    """On the speech gate's track a soft line is speech (the detector kept it), not a pause:
    by level alone, 40 dB under the loud lines, it read as one."""
    wave = np.zeros(3 * RATE, np.float32)
    wave[:RATE] = tone(1.0, RATE)
    wave[2 * RATE:] = 0.01 * tone(1.0, RATE)  # the soft line, after a muted second
    quiet = quiet_at(wave, RATE, np.arange(75) / FPS, 1 / FPS, gated=True)
    assert quiet[26:49].all() and not quiet[:24].any() and not quiet[51:].any()
    assert quiet_at(wave, RATE, np.arange(75) / FPS, 1 / FPS)[51:].all()  # by level: a pause
    assert not quiet_at(np.zeros(RATE, np.float32), RATE, np.arange(25) / FPS, 1 / FPS, gated=True).any()


def test_a_dub_edits_a_line_spoken_far_under_the_others_instead_of_keeping_it_as_a_pause(tmp_path):
    """Both tracks: a line, a pause, a line 36 dB under it, a pause, a line. The
    soft line is heard as speech and dubbed; only the pauses keep the source."""
    from tests.media.test_speech_gate import three_lines

    track, (start, end) = three_lines(-36.0)
    frames = [cartoon(i % 7, 64, 48) for i in range(int(len(track) / RATE * FPS))]
    write_clip(tmp_path / "in.mp4", frames=frames, width=64, height=48, fps=FPS, bt709=True, audio=track)
    write_audio(tmp_path / "speech.wav", track, RATE)
    options = DubOptions(face=FaceConfig(region=(16.0, 8.0, 32.0, 32.0)), crf=0, focus=0.0)
    dub(tmp_path / "in.mp4", tmp_path / "speech.wav", tmp_path / "out.mp4", HearingShift(region_size=16), options)
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(tmp_path / "in.mp4") as source:
        brightened = np.array([o.image[14:34, 22:42].mean() > s.image[14:34, 22:42].mean() + 30
                               for o, s in zip(out.iter_frames(), source.iter_frames())])
    soft = slice(round(start / RATE * FPS) + 3, round(end / RATE * FPS) - 3)
    assert brightened[soft].all()
