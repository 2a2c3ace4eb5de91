"""Audio loading: any file FFmpeg reads becomes one mono float32 waveform at 16 kHz
(and, for muxing, the same track at its own rate and channels, read a little at a time as the
video is written: `NativeAudio`).

16 kHz mono is what speech front ends (log-mel, Whisper) take, so the whole project agrees
on it and resamples once, here, with FFmpeg's resampler rather than a second library.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np
import soundfile

from omnisync_cli.errors import InputError
from omnisync_cli.media.container import open_input, pictures, played_video

SAMPLE_RATE = 16000  # Hz; every waveform in the project is mono float32 at this rate


def played_track(container) -> av.audio.AudioStream:
    """The audio track a player plays: the one marked default, else the first (a film's second
    language track, a music bed beside the dialogue: the file's own flag says which is meant)."""
    tracks = container.streams.audio
    return next((s for s in tracks if s.disposition & av.stream.Disposition.default), tracks[0])


def track_note(path: str | Path) -> str | None:
    """A warning where `path` holds several audio tracks: which one the dub takes, and why."""
    with open_input(Path(path)) as container:
        tracks = list(container.streams.audio)
        if len(tracks) < 2:
            return None
        chosen = played_track(container)
        name = ", ".join(v for v in (chosen.metadata.get("title"), chosen.metadata.get("language")) if v)
        why = "marked default" if chosen.disposition & av.stream.Disposition.default else "none is marked default"
    used = tracks.index(chosen)
    other = next(k for k in range(len(tracks)) if k != used)
    return (f"{path}: has {len(tracks)} audio tracks; using track {used + 1}{f' ({name})' if name else ''}, {why}; "
            f"to use track {other + 1} instead, extract it first: ffmpeg -i {Path(path).name} -map 0:a:{other} "
            f"track{other + 1}.mka")


def load_audio(path: str | Path, whole: bool = False) -> np.ndarray:
    """Decode the played audio track (`played_track`) of `path` (wav, flac, mp3, m4a, a
    video's track) to a 1-D float32 array at `SAMPLE_RATE`, channels averaged to mono
    (`_write_mono`): a video's track on its picture's clock (`_lead`), or with `whole` as a
    player plays the file (a sound that starts before the picture is not cut: a tour lost
    0.5 s of speech).

    Silence is valid and comes back as zeros; a file with no audio stream or no samples
    raises `InputError`. A DC offset is taken out (`without_offset`).

    Each piece is mixed down as it is decoded, into one array sized from the header: with
    the channels held whole and then averaged, a 10-minute 48 kHz stereo WAV peaked 267 MB
    above its 38 MB result (a user tour). A mix that depends on the whole track (a loud
    surround mix scaled to not clip, channels that cancel: `_Heard`) is known at its end, and
    the track is then read again into the same array.
    """
    path = Path(path)
    with open_input(path) as container:
        if not container.streams.audio:
            raise InputError(f"{path}: has no audio stream; give a speech file (wav, flac, mp3, m4a)")
        stream = played_track(container)
        channels = stream.channels
        surround = (channels or 1) > 2
        lead = _lead(container, stream, SAMPLE_RATE)
        start, skip = max(lead, 0), 0 if whole else max(-lead, 0)
        waveform = np.zeros(_expected_samples(container, stream, start), np.float32)
        heard = _write_mono(waveform, _pieces(path, container, stream), start=start, skip=skip)
        # The header declares the track played whole: a picture that starts after the sound
        # cuts none of it short (a tour: such an MP4 was refused as "2.50 of the 3.00 s").
        played = (start + heard.decoded) / SAMPLE_RATE
        declared = _declared_seconds(path, container, stream, played)
    # nothing decoded, or all of it before the picture started: there is nothing to hear
    _check_decoded(path, played if len(waveform) > start else 0.0, heard.broken, declared)
    scale = heard.peak if surround and heard.peak > 1.0 else 1.0  # a loud surround mix would clip in a dub's AAC
    channel = heard.loudest()
    if scale != 1.0 or channel is not None:
        changed = InputError(f"{path}: the audio changed while it was read; run again")
        with open_input(path) as container:
            stream = played_track(container)
            if stream.channels != channels:
                raise changed
            again = _write_mono(waveform, _pieces(path, container, stream), start=start, skip=skip, scale=scale,
                                channel=channel)
        if again.written != heard.written:
            raise changed
    return without_offset(waveform)


def without_offset(waveform: np.ndarray) -> np.ndarray:
    """`waveform` less its mean where that is SILENT_PEAK or more: a DC offset (a faulty recorder
    or converter) is no sound, but the loudness rule (`media.loudness`) read it as sound in every
    pause, and the voice detector's gate kept it inside the speech and stepped it at the edges
    (a user tour: speech with a +0.3 offset kept 11 quiet frames of the clean speech's 18, none
    with --hear-everything). A smaller mean is left as it is: below any level the rules read."""
    offset = float(np.mean(waveform, dtype=np.float64)) if len(waveform) else 0.0
    if abs(offset) < SILENT_PEAK:
        return waveform
    return (waveform - offset).astype(np.float32)


@dataclass
class _Heard:
    """What `_write_mono` read of a track, summed piece by piece: its length, its checks, and
    what its mono mix depends on, which only the whole track tells."""

    decoded: int = 0      # samples decoded, those dropped before the picture included
    written: int = 0      # samples written, the silence before a late start included
    broken: int = 0       # NaN or infinite samples among those written
    peak: float = 0.0     # the loudest sample's magnitude among those written
    energy: np.ndarray | None = None  # (channels,) float64: the sum of each channel's squares
    mixed_energy: float = 0.0         # the sum of the channels' average's squares

    def add(self, piece: np.ndarray, mixed: np.ndarray) -> None:
        """Count a (channels, n) `piece` and its mono `mixed` (n,)."""
        self.broken += int(np.count_nonzero(~np.isfinite(piece)))
        self.peak = max(self.peak, float(np.abs(piece).max()))
        energy = np.square(piece, dtype=np.float64).sum(axis=1)
        self.energy = energy if self.energy is None else self.energy + energy
        self.mixed_energy += float(np.square(mixed, dtype=np.float64).sum())

    def loudest(self) -> int | None:
        """The channel to hear alone, else None to hear the channels' average: the loudest,
        where the average's RMS is under a quarter of its own (a channel recorded in opposite
        phase: a stereo file whose average is silent although both sides speak)."""
        if self.energy is None:
            return None
        channel = int(np.argmax(self.energy))
        return channel if self.mixed_energy < 0.25 ** 2 * self.energy[channel] else None


def _write_mono(out: np.ndarray, pieces: Iterator[np.ndarray], start: int, skip: int,
                scale: float = 1.0, channel: int | None = None) -> _Heard:
    """Write the (channels, n) `pieces` (`_pieces`) as mono into `out` (1-D float32) from
    `out[start]` on, `out` grown where they run past its end (in place) and cut to what was
    written: each piece divided by `scale`, then the channels' average (or `channel` alone).

    The first `skip` samples are dropped and `start` is left as it is (zeros): a video's
    audio on its picture's clock (`_lead`), padded or cut by the streams' difference as a
    player lines them up. Without this a source whose picture starts 0.5 s after its sound
    had its own speech read 0.5 s off its frames (a user tour)."""
    heard = _Heard(written=start)
    for piece in pieces:
        heard.decoded += piece.shape[1]
        dropped = min(skip, piece.shape[1])
        skip -= dropped
        piece = piece[:, dropped:]
        if not piece.shape[1]:
            continue
        if scale != 1.0:
            piece = piece / scale
        mixed = piece.mean(axis=0) if channel is None else piece[channel]  # (n,)
        heard.add(piece, mixed)
        end = heard.written + len(mixed)
        if end > len(out):  # the header's length was short (an estimate): grow by half
            out.resize(max(end, len(out) * 3 // 2), refcheck=False)  # no view of `out` is held
        out[heard.written:end] = mixed
        heard.written = end
    out.resize(heard.written, refcheck=False)
    return heard


def _pieces(path: Path, container, stream: av.audio.AudioStream, rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """`stream` at `rate`, in order, as (channels, n) float32 pieces of a few thousand samples
    (`_resampled`, less the end padding: `_without_end_padding`)."""
    return _without_end_padding(_resampled(path, container, stream, rate), stream, rate)


def _expected_samples(container, stream: av.audio.AudioStream, start: int) -> int:
    """The samples at `SAMPLE_RATE` that `stream`, written from `start`, comes to by its
    header, a second more (a resampler's few extra samples then need no copy); at most an
    hour's, a minute's where the header says nothing. Pages of it never written are never
    touched: a header far too long costs no memory."""
    if stream.duration:
        seconds = float(stream.duration * stream.time_base)
    else:
        seconds = container.duration / av.time_base if container.duration else 60.0
    return start + round(min(max(seconds, 0.0) + 1, 3600) * SAMPLE_RATE)


# A speech track whose loudest sample stays below this (-60 dBFS) holds no speech: a muted
# export, a wrong file, digital silence with dither. Real speech peaks 30-50 dB above it.
SILENT_PEAK = 1e-3


def load_speech(path: str | Path) -> np.ndarray:
    """`load_audio` of the speech to dub, whole (a speech taken from a video whose picture
    starts after its sound keeps its first words), refused when it is silent throughout (a
    dub of nothing is a mistake, not a request: the mouth would only be closed and held)."""
    waveform = load_audio(path, whole=True)
    peak = max(float(waveform.max()), -float(waveform.min()))  # not np.abs: a copy as large as the speech
    if peak < SILENT_PEAK:
        level = "digital silence" if peak == 0 else f"its loudest sample is {20 * np.log10(peak):.0f} dBFS"
        note = track_note(path)  # a silent first track beside a speaking second one
        also = f" ({note.split(': ', 1)[1]})" if note else ""
        raise InputError(f"{path}: the speech is silent ({level}){also}; give the speech to dub")
    return waveform


# The sample rates a dub's AAC track can have (MPEG-4 audio's table, 7.35-96 kHz).
AAC_RATES = tuple(sorted(av.codec.Codec("aac", "w").audio_rates))


def aac_rate(rate: int) -> int:
    """`rate` where AAC takes it, else the nearest rate it does (192 kHz -> 96 kHz, 50 kHz ->
    48 kHz, 4 kHz -> 7.35 kHz)."""
    return min(AAC_RATES, key=lambda r: (abs(r - rate), -r))


# The silence before a late start is given a second at a time, as the track itself comes in
# its codec's frames (a few thousand samples): a NativeAudio holds that much, however long.
_CHUNK_SECONDS = 1


@dataclass(frozen=True)
class NativeAudio:
    """The played track of a file (`played_track`) at its own sample rate (or the nearest one
    AAC takes, `aac_rate`) and channels (at most two; surround mixed down as `_resampled` does),
    played whole from the file's start (`load_speech`), for muxing into the finished video
    without losing quality. Made by `native_audio`, which has read the track through once;
    `chunks` reads it again, a little at a time, so a film-length track is never in memory."""

    path: Path
    rate: int       # Hz, one of AAC_RATES
    channels: int   # 1 or 2
    samples: int    # per channel, the silence before a late start included
    lead: int       # samples of silence before the track (a sound that starts after the picture)
    scale: float    # the track is divided by this: a loud surround mix's peak, else 1

    def chunks(self) -> Iterator[np.ndarray]:
        """The track in order as (channels, n) float32 pieces of a few thousand samples,
        `samples` in all; InputError where the file changed since `native_audio` read it."""
        for start in range(0, self.lead, self.rate * _CHUNK_SECONDS):
            yield np.zeros((self.channels, min(self.rate * _CHUNK_SECONDS, self.lead - start)), np.float32)
        changed = InputError(f"{self.path}: the audio changed while it was read; run again")
        given = self.lead
        with open_input(self.path) as container:
            stream = played_track(container)
            for chunk in _pieces(self.path, container, stream, self.rate):
                given += chunk.shape[1]
                if given > self.samples or chunk.shape[0] != self.channels:
                    raise changed
                yield chunk if self.scale == 1 else chunk / self.scale
        if given != self.samples:
            raise changed


def native_audio(path: str | Path) -> NativeAudio:
    """The played track of `path` as a `NativeAudio`, read through once here without being
    kept (its exact length, a surround mix's peak, and the refusals of `_check_decoded`: damaged,
    empty or truncated audio is refused before a dub writes anything)."""
    path = Path(path)
    with open_input(path) as container:
        if not container.streams.audio:
            raise InputError(f"{path}: has no audio stream; give a speech file (wav, flac, mp3, m4a)")
        stream = played_track(container)
        rate = aac_rate(stream.rate or SAMPLE_RATE)
        channels, decoded, broken, peak = 1, 0, 0, 0.0
        for chunk in _pieces(path, container, stream, rate):
            channels, decoded = chunk.shape[0], decoded + chunk.shape[1]
            broken += int(np.count_nonzero(~np.isfinite(chunk)))
            peak = max(peak, float(np.abs(chunk).max(initial=0.0)))
        lead = max(_lead(container, stream, rate), 0)
        samples = lead + decoded
        declared = _declared_seconds(path, container, stream, samples / rate)
        surround = (stream.channels or 1) > 2
    _check_decoded(path, samples / rate, broken, declared)
    return NativeAudio(path, rate, channels, samples, lead, scale=peak if surround and peak > 1.0 else 1.0)


def _resampled(path: Path, container, stream: av.audio.AudioStream, rate: int) -> Iterator[np.ndarray]:
    """`stream`'s frames decoded and resampled to `rate`, in order, as (channels, n) float32;
    surround (more than two channels) mixed down to stereo.

    The downmix is FFmpeg's standard one: the centre (where a film's dialogue is) at -3 dB in
    each side, as it sounds from a centre speaker (an average of six channels made a voice
    15 dB quieter)."""
    # Keep mono and stereo through resampling and average them in the caller: FFmpeg's own
    # stereo -> mono mix adds the channels at -3 dB, which changes the level and can clip.
    surround = (stream.channels or 1) > 2
    resampler = av.AudioResampler(format="fltp", layout="stereo" if surround else None, rate=rate)
    channels = None
    try:
        for frame in itertools.chain(container.decode(stream), [None]):  # None: the resampler's rest
            for chunk in (f.to_ndarray() for f in resampler.resample(frame)):
                if channels not in (None, chunk.shape[0]):
                    raise InputError(f"{path}: audio data is damaged (its channel count changes midway); "
                                     "repair or re-export the file")
                channels = chunk.shape[0]
                yield chunk
    except av.error.FFmpegError as exc:
        raise InputError(
            f"{path}: audio data is damaged ({exc.strerror or type(exc).__name__}); "
            "repair or re-export the file"
        ) from exc


def _check_decoded(path: Path, seconds: float, broken: int, declared: float | None) -> None:
    """Refuse a decoded track of `seconds` (played whole from the file's start, as its header
    counts it: the silence before a late start in, nothing cut before a late picture) holding
    `broken` NaN or infinite samples, whose header declared `declared` seconds (None: unknown)."""
    if seconds == 0:
        raise InputError(f"{path}: audio stream has no samples; give a non-empty speech file")
    if broken:  # a float file written with NaN or infinity in it: no encoder takes them
        raise InputError(f"{path}: audio data is damaged ({broken} samples are NaN or infinite); "
                         "repair or re-export the file")
    if declared is not None and seconds < 0.9 * declared:
        # The speech sets the dub's length: a dub of part of it would be silently wrong.
        raise InputError(f"{path}: audio ends early: {seconds:.2f} of the {declared:.2f} s its header "
                         "declares could be decoded; the file is truncated or damaged, re-export it")


def _lead(container, stream: av.audio.AudioStream, rate: int) -> int:
    """Samples by which a video's audio starts after its first frame (negative: before it);
    0 for a file without a video stream, which is left as it starts."""
    video = played_video(container)
    if video is None or video.start_time is None or stream.start_time is None:
        return 0
    lead = float(stream.start_time * stream.time_base - video.start_time * video.time_base)
    return round(lead * rate) if lead > 0 else -round(-lead * rate)


# Containers whose header states the exact length of the audio (besides WAV, read below).
# Others (MP3, ADTS AAC, Ogg) may carry only an estimate from the bit rate, which can be far
# off for variable bit rates.
_EXACT_LENGTH_FORMATS = {"flac", "mp4", "mov", "m4a"}


def _declared_seconds(path: Path, container, stream: av.audio.AudioStream,
                      decoded: float) -> float | None:
    """The audio length the header declares, where it is exact; None otherwise."""
    formats = set(container.format.name.split(","))
    if "wav" in formats:  # FFmpeg clamps a WAV's length to the bytes present: read the header
        sizes = _wav_data_sizes(path)
        return decoded * sizes[0] / sizes[1] if sizes else None
    if not _EXACT_LENGTH_FORMATS & formats or not stream.duration:
        return None
    return float(stream.duration * stream.time_base)


def length_note(path: str | Path, decoded_seconds: float) -> str | None:
    """A warning where a file whose header only estimates its length (MP3, ADTS AAC, Ogg; an
    exact header is checked by `_check_decoded`, which refuses a short one) decoded to under 80 % of
    that estimate: a truncated download or copy plays shorter without an error."""
    with open_input(Path(path)) as container:
        formats = set(container.format.name.split(","))
        # a video's length is its longest stream's: its sound may rightly end before its picture
        if "wav" in formats or _EXACT_LENGTH_FORMATS & formats or pictures(container) or not container.duration:
            return None
        estimate = container.duration / av.time_base
    if decoded_seconds >= 0.8 * estimate:
        return None
    return (f"{path}: only {decoded_seconds:.2f} s of the about {estimate:.2f} s its header estimates could be "
            "decoded; the file may be truncated (the dub follows what was decoded): check it, or re-export it")


def _wav_data_sizes(path: Path) -> tuple[int, int] | None:
    """(bytes the RIFF `data` chunk declares, bytes of it present in the file), or None for
    a streamed WAV whose header leaves the size open (0 or 0xFFFFFFFF)."""
    with open(path, "rb") as f:
        if f.read(4) != b"RIFF" or f.seek(8) != 8 or f.read(4) != b"WAVE":
            return None
        while len(header := f.read(8)) == 8:
            size = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                present = path.stat().st_size - f.tell()
                return (size, min(size, present)) if 0 < size < 0xFFFFFFFF and present > 0 else None
            f.seek(size + size % 2, 1)
    return None


def _without_end_padding(chunks: Iterator[np.ndarray], stream: av.audio.AudioStream,
                         rate: int) -> Iterator[np.ndarray]:
    """`chunks` (`_resampled`) less the silence a frame-based encoder (AAC: 1024 samples) pads
    onto the last frame, holding back only the last frame's worth until the end is known.

    MP4 records the true length in the stream duration but FFmpeg's decoder still outputs the
    whole last frame, which would make a dub up to one frame longer than its speech. At most
    one codec frame is cut, so a wrong duration estimate (some MP3s) cannot truncate speech.
    """
    if not stream.duration or not stream.codec_context.frame_size or not stream.rate:
        yield from chunks
        return
    true_length = round(stream.duration * stream.time_base * rate)
    max_padding = -(-stream.codec_context.frame_size * rate // stream.rate)
    held: collections.deque[np.ndarray] = collections.deque()
    held_samples = total = 0
    for chunk in chunks:
        held.append(chunk)
        held_samples, total = held_samples + chunk.shape[1], total + chunk.shape[1]
        while held_samples - held[0].shape[1] >= max_padding:  # the first held is kept whatever the end
            held_samples -= held[0].shape[1]
            yield held.popleft()
    keep = held_samples - (total - true_length if 0 < total - true_length <= max_padding else 0)
    for chunk in held:
        if keep > 0:
            yield chunk[:, :keep]
        keep -= chunk.shape[1]


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono float waveform as 16-bit PCM WAV (clipped to [-1, 1])."""
    soundfile.write(str(path), np.clip(waveform, -1.0, 1.0), sample_rate, subtype="PCM_16")
