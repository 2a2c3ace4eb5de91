from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from omnisync_cli.errors import InputError
from omnisync_cli.media.audio import (SAMPLE_RATE, aac_rate, length_note, load_audio, load_speech,
                                     native_audio, track_note, without_offset, write_wav)
from tests.media.clips import (mono_of, read_native, read_track, tone, truncate, write_audio, write_clip,
                               write_speech_tracks, write_surround)


def delay_samples(signal: np.ndarray, reference: np.ndarray, max_lag: int = 80) -> int:
    """Lag (in samples) at which `signal` best matches `reference` away from the edges."""
    window = slice(2000, len(reference) - 2000)
    scores = [
        np.dot(signal[window.start + lag : window.stop + lag], reference[window])
        for lag in range(-max_lag, max_lag + 1)
    ]
    return int(np.argmax(scores)) - max_lag


@pytest.mark.parametrize(
    ("suffix", "rate", "channels"),
    [
        (".wav", 16000, 1),
        (".wav", 44100, 2),
        (".flac", 48000, 2),
        (".m4a", 44100, 1),
        (".m4a", 48000, 2),
        (".mp3", 44100, 1),
    ],
)
def test_any_format_becomes_16k_mono_float32(
    tmp_path: Path, suffix: str, rate: int, channels: int
) -> None:
    path = tmp_path / f"speech{suffix}"
    source = tone(1.0, rate, amplitude=0.5)
    write_audio(path, np.stack([source] * channels, axis=1) if channels > 1 else source, rate)
    waveform = load_audio(path)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    # Exact length: AAC end padding dropped, MP3 encoder delay removed by FFmpeg.
    assert len(waveform) == SAMPLE_RATE
    expected = tone(1.0, SAMPLE_RATE, amplitude=0.5)
    assert delay_samples(waveform, expected) == 0
    # Channels are averaged (level kept), not summed.
    rms = np.sqrt(np.mean(waveform[2000:-2000] ** 2))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.03 if suffix != ".mp3" else 0.08)


def test_wav_at_16k_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "speech.wav"
    source = tone(0.5, SAMPLE_RATE, freq=300, amplitude=0.3)
    write_wav(path, source)
    assert soundfile.info(str(path)).samplerate == SAMPLE_RATE
    np.testing.assert_allclose(load_audio(path), source, atol=1 / 32768 + 1e-6)


def test_silence_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    write_wav(path, np.zeros(8000, np.float32))
    waveform = load_audio(path)
    assert waveform.shape == (8000,) and not waveform.any()


def test_audio_track_of_a_video(tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    source = tone(0.6, SAMPLE_RATE, amplitude=0.4)
    write_clip(path, 3, audio=source)
    waveform = load_audio(path)
    assert len(waveform) == len(source)
    assert delay_samples(waveform, source) == 0


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_audio(tmp_path / "nope.wav")


def test_video_without_audio(cfr_clip: Path) -> None:
    with pytest.raises(InputError, match="no audio stream"):
        load_audio(cfr_clip)


def test_empty_wav(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    soundfile.write(str(path), np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(InputError, match="no samples"):
        load_audio(path)


def test_surround_speech_is_mixed_down_as_a_centre_voice_sounds(tmp_path: Path) -> None:
    voice = 0.5 * np.sin(2 * np.pi * 300 * np.arange(48000) / 48000).astype(np.float32)
    channels = np.zeros((6, 48000), np.float32)
    channels[2] = voice  # 5.1's centre: FL FR FC LFE BL BR
    write_surround(tmp_path / "film.wav", channels, "5.1")
    native, rate = read_native(tmp_path / "film.wav")
    assert rate == 48000 and native.shape == (2, 48000)
    assert np.allclose(np.abs(native).max(axis=1), 0.5 / np.sqrt(2), rtol=0.02)  # -3 dB in each side
    assert np.isclose(np.abs(load_audio(tmp_path / "film.wav")).max(), 0.5 / np.sqrt(2), rtol=0.02)
    write_surround(tmp_path / "loud.wav", np.tile(voice * 1.9, (6, 1)), "5.1")
    assert np.abs(read_native(tmp_path / "loud.wav")[0]).max() <= 1.0  # never clipped


@pytest.mark.parametrize("delayed,shift", [("video", -0.5), ("audio", 0.5)])
def test_a_videos_audio_is_read_on_the_videos_clock(tmp_path: Path, delayed: str, shift: float) -> None:
    """Streams that start apart (ffmpeg -itsoffset): sample 0 of the audio read is the moment
    of the first video frame, as a player lines them up."""
    import subprocess
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    write_clip(tmp_path / "v.mp4", n_frames=75, fps=25)
    click = np.zeros(3 * SAMPLE_RATE, np.float32)
    click[SAMPLE_RATE:SAMPLE_RATE + 16] = 0.9  # a click 1 s into the sound
    write_audio(tmp_path / "a.wav", click, SAMPLE_RATE)
    offset = ["-itsoffset", "0.5"]
    inputs = ([*offset, "-i", str(tmp_path / "v.mp4"), "-i", str(tmp_path / "a.wav")] if delayed == "video"
              else ["-i", str(tmp_path / "v.mp4"), *offset, "-i", str(tmp_path / "a.wav")])
    subprocess.run([ffmpeg, "-v", "error", *inputs, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "flac",
                    str(tmp_path / "both.mkv")], check=True)
    waveform = load_audio(tmp_path / "both.mkv")
    assert np.argmax(np.abs(waveform)) / SAMPLE_RATE == pytest.approx(1.0 + shift, abs=0.01)
    assert len(waveform) / SAMPLE_RATE == pytest.approx(3.0 + shift, abs=0.02)
    # The same file as the speech to dub plays whole, as a player plays it: a sound that starts
    # before the picture is not cut (a tour lost 0.5 s of speech), a late one still waits.
    native, native_rate = read_native(tmp_path / "both.mkv")
    for whole, rate in ((load_speech(tmp_path / "both.mkv"), SAMPLE_RATE), (native.mean(axis=0), native_rate)):
        assert np.argmax(np.abs(whole)) / rate == pytest.approx(1.0 + max(shift, 0.0), abs=0.01)
        assert len(whole) / rate == pytest.approx(3.0 + max(shift, 0.0), abs=0.02)
    # An audio file alone keeps its own start.
    assert np.argmax(np.abs(load_audio(tmp_path / "a.wav"))) / SAMPLE_RATE == pytest.approx(1.0, abs=0.001)


@pytest.mark.parametrize("rate,written", [(192000, 96000), (50000, 48000), (4000, 7350), (44100, 44100)])
def test_speech_is_kept_at_a_rate_aac_takes(tmp_path: Path, rate: int, written: int) -> None:
    """A dub writes its speech as AAC, which takes 7.35-96 kHz from a fixed table: a track at
    another rate (a 192 kHz studio export) is resampled to the nearest one (a tour: 192, 50
    and 4 kHz speech crashed the dub after its tracking pass)."""
    assert aac_rate(rate) == written
    t = np.arange(rate) / rate
    write_audio(tmp_path / "s.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    native, native_rate = read_native(tmp_path / "s.wav")
    assert native_rate == written and native.shape[1] == pytest.approx(written, abs=2)



def write_two_tracks(path: Path, default: int) -> None:
    """A Matroska audio file: track 1 a 440 Hz tone ("music"), track 2 a 1 kHz tone ("dialogue"),
    track `default` (0 or 1) marked default, the other not."""
    with av.open(str(path), "w") as out:
        streams = []
        for k, title in enumerate(("music", "dialogue")):
            stream = out.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
            stream.metadata["title"] = title
            stream.disposition = av.stream.Disposition.default if k == default else av.stream.Disposition(0)
            streams.append(stream)
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        for start in range(0, SAMPLE_RATE, 1024):  # the two tracks interleaved, as a muxer wants them
            for stream, hz in zip(streams, (440.0, 1000.0)):
                samples = (0.5 * np.sin(2 * np.pi * hz * t[start:start + 1024])).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, start
                out.mux(stream.encode(frame))
        for stream in streams:
            out.mux(stream.encode(None))


def dominant_hz(waveform: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(waveform))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(waveform))


@pytest.mark.parametrize("default", [0, 1])
def test_the_track_marked_default_is_the_one_dubbed_and_the_choice_is_said(tmp_path: Path, default: int) -> None:
    path = tmp_path / "two.mka"
    write_two_tracks(path, default)
    assert dominant_hz(load_speech(path)) == pytest.approx((440.0, 1000.0)[default], abs=5)
    native, _ = read_native(path)
    assert dominant_hz(native.mean(axis=0)) == pytest.approx((440.0, 1000.0)[default], abs=5)
    note = track_note(path)
    assert f"using track {default + 1} ({('music', 'dialogue')[default]}), marked default" in note
    assert f"-map 0:a:{1 - default}" in note
    write_audio(tmp_path / "one.wav", tone(1.0, SAMPLE_RATE), SAMPLE_RATE)
    assert track_note(tmp_path / "one.wav") is None


def test_an_mp3_cut_short_is_dubbed_with_a_warning(tmp_path: Path) -> None:
    """MP3 headers only estimate the length, so a cut file cannot be refused as a WAV is; but
    a user must hear of it (a user tour: a 3 s MP3 cut to 5 kB dubbed 1.55 s silently)."""
    whole = tmp_path / "whole.mp3"
    write_audio(whole, tone(3.0, SAMPLE_RATE), SAMPLE_RATE)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert length_note(whole, len(load_speech(whole)) / SAMPLE_RATE) is None
    seconds = len(load_speech(cut)) / SAMPLE_RATE
    assert seconds < 2.0
    assert "may be truncated" in length_note(cut, seconds)


def test_nan_or_infinite_samples_are_refused_in_one_line(tmp_path):
    waveform = tone(0.5, SAMPLE_RATE)
    waveform[100] = np.inf
    waveform[200] = np.nan
    soundfile.write(str(tmp_path / "bad.wav"), waveform, SAMPLE_RATE, subtype="FLOAT")
    for load in (load_speech, native_audio):
        with pytest.raises(InputError, match=r"bad.wav: audio data is damaged \(2 samples are NaN or infinite\)"):
            load(tmp_path / "bad.wav")


def test_stereo_whose_channels_cancel_is_heard_from_one_channel(tmp_path):
    """Channels in opposite phase average to silence; the speech is in both all the same."""
    voice = tone(0.5, SAMPLE_RATE)
    soundfile.write(str(tmp_path / "anti.wav"), np.stack([voice, -voice], 1), SAMPLE_RATE)
    heard = load_speech(tmp_path / "anti.wav")
    assert np.abs(heard).max() == pytest.approx(np.abs(voice).max(), rel=0.01)
    soundfile.write(str(tmp_path / "right.wav"), np.stack([0 * voice, voice], 1), SAMPLE_RATE)
    assert np.abs(load_speech(tmp_path / "right.wav")).max() == pytest.approx(0.5 * np.abs(voice).max(), rel=0.01)


def test_a_silent_speech_track_beside_another_names_the_other(tmp_path):
    """A video whose first audio track is silent and second speaks, given as the speech."""
    import av
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as container:
        streams = [container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono") for _ in range(2)]
        for stream, wave in zip(streams, (np.zeros(SAMPLE_RATE // 2, np.float32), tone(0.5, SAMPLE_RATE))):
            frame = av.AudioFrame.from_ndarray((wave * 32767).astype(np.int16)[None], format="s16", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, 0
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    with pytest.raises(InputError, match=r"the speech is silent \(digital silence\) \(has 2 audio tracks; using track 1.*"
                                         r"-map 0:a:1 track2.mka\); give the speech to dub"):
        load_speech(path)


def test_native_audio_read_in_pieces_is_the_track_read_whole(tmp_path: Path) -> None:
    """A dub's speech is muxed from a stream (memory flat in its length, a user tour: 20 min of
    48 kHz stereo held 1.3 GB): its pieces put together are exactly the whole track that was
    muxed before (`read_track` at the AAC rate, played whole)."""
    for path in write_speech_tracks(tmp_path):
        speech = native_audio(path)
        pieces = list(speech.chunks())
        whole = read_track(path, speech.rate)
        assert speech.samples == whole.shape[1] and speech.channels == whole.shape[0]
        assert all(piece.dtype == np.float32 and piece.shape[0] == speech.channels for piece in pieces)
        assert np.array_equal(np.concatenate(pieces, axis=1), whole), path.name
    assert native_audio(tmp_path / "surround48.wav").scale > 1  # the loud mix was scaled down, in pieces too
    assert native_audio(tmp_path / "studio192.wav").rate == aac_rate(192000) == 96000
    assert native_audio(tmp_path / "late.mkv").lead == 22050


def test_a_speech_that_changes_while_it_is_muxed_is_refused(tmp_path: Path) -> None:
    write_audio(tmp_path / "s.wav", tone(1.0, SAMPLE_RATE), SAMPLE_RATE)
    speech = native_audio(tmp_path / "s.wav")
    write_audio(tmp_path / "s.wav", tone(0.5, SAMPLE_RATE), SAMPLE_RATE)
    with pytest.raises(InputError, match="s.wav: the audio changed while it was read"):
        list(speech.chunks())


def test_a_dc_offset_is_no_sound_so_the_pauses_stay_quiet(tmp_path):
    """A user tour: speech with a +0.3 DC offset had no quiet frame for the quiet rule (the offset's
    RMS filled every pause), so the character's pauses were re-rendered instead of kept."""
    from omnisync_cli.media.loudness import quiet_at
    spoken = tone(0.5, SAMPLE_RATE, freq=220, amplitude=0.3)
    track = np.concatenate([spoken, np.zeros(SAMPLE_RATE // 2, np.float32), spoken]) + 0.3
    write_wav(tmp_path / "offset.wav", track)
    waveform = load_audio(tmp_path / "offset.wav")
    assert abs(float(waveform.mean())) < 1e-3
    quiet = quiet_at(waveform, SAMPLE_RATE, np.arange(0.0, 1.5, 0.04), 0.04)
    t = np.arange(0.0, 1.5, 0.04)
    assert quiet[(t > 0.55) & (t < 0.95)].all() and not quiet[(t < 0.45) | (t > 1.05)].any()


def test_a_track_without_offset_is_read_unchanged(tmp_path):
    source = tone(0.5, SAMPLE_RATE, freq=300, amplitude=0.3) + 5e-4  # an offset below any level read
    write_wav(tmp_path / "small.wav", source)
    np.testing.assert_allclose(load_audio(tmp_path / "small.wav"), source, atol=1 / 32768 + 1e-6)


def write_mixing_cases(folder: Path) -> list[Path]:
    """`write_speech_tracks` and the tracks whose mono mix has its own rule: stereo whose
    louder second channel is in opposite phase (heard alone), an MP3, and an MP4 whose picture
    starts 0.5 s after its sound (cut to the picture unless read whole)."""
    import subprocess

    import imageio_ffmpeg
    voice = tone(1.1, 48000, freq=230)
    write_audio(folder / "anti.wav", np.stack([voice, -1.2 * voice], 1), 48000)
    write_audio(folder / "stereo.mp3", np.stack([voice, 0.5 * voice], 1), 48000)
    write_clip(folder / "v.mp4", n_frames=25, fps=25)
    write_audio(folder / "a.wav", tone(1.0, 44100), 44100)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-itsoffset", "0.5", "-i", str(folder / "v.mp4"),
                    "-i", str(folder / "a.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                    str(folder / "late_picture.mp4")], check=True)
    return [*write_speech_tracks(folder), folder / "anti.wav", folder / "stereo.mp3", folder / "late_picture.mp4"]


@pytest.mark.parametrize("header", ["as written", "too short"])
def test_a_track_mixed_as_it_is_read_is_the_track_read_whole_and_mixed(tmp_path: Path, monkeypatch,
                                                                        header: str) -> None:
    """`load_audio` mixes each piece to mono as it is decoded (a 10-minute 48 kHz stereo WAV
    held its channels whole: 267 MB above its 38 MB result, a user tour): bit for bit what the
    whole track mixed at once gave (`mono_of(read_track(...))`), the rules that need the whole
    track included (a loud surround mix scaled, the loudest of cancelling channels), and where
    the header's length was too short for the array it is written into."""
    import omnisync_cli.media.audio as audio
    paths = write_mixing_cases(tmp_path)
    if header == "too short":
        monkeypatch.setattr(audio, "_expected_samples", lambda container, stream, start: start + 100)
    for path in paths:
        for whole in (False, True):
            heard = load_audio(path, whole=whole)
            expected = without_offset(mono_of(read_track(path, SAMPLE_RATE, whole=whole)))
            assert heard.dtype == np.float32 and heard.flags.owndata, path.name
            assert np.array_equal(heard, expected), (path.name, whole)
    assert native_audio(tmp_path / "surround48.wav").scale > 1  # the scaled mix was checked
    both = read_track(tmp_path / "anti.wav", SAMPLE_RATE)
    assert np.array_equal(load_audio(tmp_path / "anti.wav"), without_offset(both[1]))  # its second channel alone
    assert len(load_audio(tmp_path / "late_picture.mp4")) == SAMPLE_RATE // 2


def test_a_speech_is_held_about_once_while_it_is_read(tmp_path: Path) -> None:
    """Every array made while a speech is read (traced by tracemalloc, as NumPy reports its
    buffers to it) adds up to little more than the speech itself at 16 kHz mono: 5 times it
    when the channels were held whole, then joined, then mixed."""
    import tracemalloc
    rng = np.random.default_rng(0)
    voice = (0.3 * rng.standard_normal(48000 * 20)).astype(np.float32)
    write_audio(tmp_path / "stereo.wav", np.stack([voice, 0.5 * voice], 1), 48000)
    write_audio(tmp_path / "anti.wav", np.stack([voice, -1.2 * voice], 1), 48000)  # read twice
    for name in ("stereo.wav", "anti.wav"):
        tracemalloc.start()
        try:
            speech = load_speech(tmp_path / name)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert speech.nbytes == 20 * SAMPLE_RATE * 4 and peak < 1.2 * speech.nbytes, (name, peak / speech.nbytes)


def test_a_video_whose_picture_starts_after_its_sound_is_not_taken_as_cut_short(tmp_path: Path) -> None:
    """Its audio read on its picture's clock is 0.5 s shorter than its header's length, which
    counts the sound from its own start: refused as "audio ends early: 2.50 of the 3.00 s" (a
    user tour). Audio that is cut short, the header's length against what decodes, still is."""
    import subprocess
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    write_clip(tmp_path / "v.mp4", n_frames=75, fps=25)
    write_audio(tmp_path / "a.wav", tone(3.0, SAMPLE_RATE), SAMPLE_RATE)
    subprocess.run([ffmpeg, "-v", "error", "-itsoffset", "0.5", "-i", str(tmp_path / "v.mp4"), "-i",
                    str(tmp_path / "a.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                    "-movflags", "+faststart", str(tmp_path / "late.mp4")], check=True)  # its index first
    assert len(load_audio(tmp_path / "late.mp4")) / SAMPLE_RATE == pytest.approx(2.5, abs=0.01)
    assert len(load_speech(tmp_path / "late.mp4")) / SAMPLE_RATE == pytest.approx(3.0, abs=0.01)
    truncate(tmp_path / "late.mp4", keep=0.6)  # the index whole, the last part of its samples gone
    for load in (load_audio, load_speech, native_audio):
        with pytest.raises(InputError, match=r"late.mp4: audio ends early: 1.\d\d of the 3.00 s its header"):
            load(tmp_path / "late.mp4")
