"""`dub`: the one function that knows the order of the stages, in two halves.

analyse (once per video): probe -> pass 1: mouth track over every frame.
render (once per speech): load audio -> plan the output frames (length rules) -> pass 2:
fetch source frames, crop the working region, edit in overlapping segments, paste back with
a feathered edge, encode with the new audio -> atomic rename into place.

Two passes over the video keep memory flat: the first keeps a few numbers per frame, the
second holds one segment of frames.
"""

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from omnisync_cli.errors import ConfigError, InputError, OutputError
from omnisync_cli.face.colours import keep_source_colours
from omnisync_cli.face.region import REGION_SCALE
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.motion import THUMBNAIL_SIDE
from omnisync_cli.face.track import MouthTrack, MouthTracker
from omnisync_cli.media.audio import SAMPLE_RATE, length_note, load_audio, load_audio_native, load_speech, track_note
from omnisync_cli.media.loudness import quiet_at
from omnisync_cli.media.speech_gate import speech_only
from omnisync_cli.media.video import VideoInfo, VideoReader, picture_traits, probe_video
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.media.yuv import Planes
from omnisync_cli.pipeline.articulation import articulation_map, weigh_edit
from omnisync_cli.pipeline.compare import check_comparison, write_comparison
from omnisync_cli.pipeline.editor import Editor, EditorLoader
from omnisync_cli.pipeline.forked import ForkedCall
from omnisync_cli.pipeline.frames import SourceFrames, block_frames
from omnisync_cli.pipeline.mouth_bank import BankCollection, MouthBank, MouthBankConfig, MouthLending
from omnisync_cli.pipeline.paths import check_paths, provenance
from omnisync_cli.pipeline.plan_cache import is_plan_file, load_analysis, save_analysis
from omnisync_cli.pipeline.prefetch import Drain, prefetched
from omnisync_cli.pipeline.progress import Progress, SilentProgress
from omnisync_cli.pipeline.quiet import keep_source_weights, pause_weights
from omnisync_cli.pipeline.references import reference_crops
from omnisync_cli.pipeline.segments import SegmentItem, edit_at_cadence
from omnisync_cli.pipeline.self_test import gain_db, least_error_scale, own_test_terms, trusted_scale
from omnisync_cli.pipeline.speaker_judge import SyncSpeakerJudge
from omnisync_cli.pipeline.timeline import Extend, continuous_times, plan_source_frames, playback_rate
from omnisync_cli.pipeline.window import crop_from_window, paste_into_hdr, paste_into_planes, window_of


@dataclass(frozen=True)
class DubOptions:
    extend: Extend = Extend.pingpong  # how a video shorter than the audio is extended
    face: FaceConfig = field(default_factory=FaceConfig)
    feather: float = 0.2  # fraction of the region side over which the paste fades in
    focus: float = 0.3  # the edit fades with distance from the mouth: Gaussian sd, fraction of the side (0: off)
    # Where the edit reaches this many levels, the source's fine detail is dropped with it (in
    # proportion below), so a redrawn mouth shows no outline of the old one (face.paste.
    # paste_region; 0: always kept). Measured (bench/results/redrawn/): the old mouth's rim kept
    # 60-70 of its 200 excess edge levels, now 10-20; both sync experts, the opening correlation,
    # the silence ratio, flicker and the edit on the mouth improve on both splits, for 0.14 /
    # 0.27 dB of mouth PSNR (held-out / tuning).
    redrawn_levels: float = 24.0
    # The working region's side as a fraction of the tracked face's width (a region the user
    # gives, or the frame-centre guess, is used as given): the model sees the mouth larger and
    # edits less around it. 0.8 measured better than 1.0 (the region the default model was
    # trained on) on both benchmark splits: mouth PSNR +0.5 / +1.0 dB, less flicker, more of
    # the edit on the mouth, the same opening correlation (bench/results/region-scale/).
    region_scale: float = 0.8
    crf: int | None = None  # H.264 quality; None = the writer's near-transparent default
    overwrite: bool = False  # replace an existing output file
    compare: bool = False  # also write <output>.compare.mp4: source | dubbed, side by side
    keep_colours: bool = True  # hold the edit to the source region's own hues (face.colours)
    # With keep_colours, the edit's chroma change fades with the distance from the mouth faster
    # than its light and shade: a Gaussian of this sd, fraction of the region side (0: off, the
    # whole chroma change kept). The default model gets the colour of a change less right than
    # its light and shade, and beside the mouth not at all (bench/results/chroma-focus/).
    chroma_focus: float = 0.2
    # The edit is kept where the source's own mouth moves and faded elsewhere, down to this
    # weight where it never moves (pipeline.articulation; a map read from the source's crops in
    # the mouth bank's decoding pass, on the frames where the source's own speech speaks; no
    # map for a source without speech). 1: off, the whole edit everywhere. Measured (bench/results/
    # articulation/): mouth PSNR +0.24 / +0.06 dB (held-out / tuning split), less flicker, the
    # silence ratio the same or lower, at a lower sync recovery on beaks (R 2.42 -> 2.11).
    articulation_floor: float = 0.25
    # Where the new speech and the source's own speech are both silent, keep the source's
    # frame (its mouth at rest) instead of re-rendering it (pipeline.quiet).
    keep_quiet_source: bool = True
    # Before the network edits a frame, show it the mouth of the source frame whose own speech
    # sounds most like the new speech there (pipeline.mouth_bank; needs the source's speech):
    # "pauses" in the new speech's pauses only, where the source may still be talking and the
    # network alone leaves its mouth open (bench/results/pause-bank/); "everywhere"; "off";
    # "auto" everywhere where the source's own speech picks its own mouths better than its pose
    # alone does (MouthBank.sound_gain above 0), in the pauses otherwise (bench/results/sound-keys/).
    mouth_bank: str = "auto"
    # In the new speech's pauses, where the bank lends the character's own mouth from a quiet
    # moment, that mouth reaches this many times the swap ellipse's size and is pasted without
    # the mouth focus and the chroma focus (the whole edit wherever it reaches), so that a mouth
    # wider than the region expects (a frog's, a jaw that drops far) closes instead of leaving
    # its open rim around a closed centre. Measured (bench/results/pause-reach/): on six
    # characters drawn in styles nobody here drew, closed on 39 -> 65 % of the frames where only
    # the old speech spoke (on five more drawn after the choice, 31 -> 57 %); on the benchmark
    # splits -0.07 / -0.14 dB of mouth PSNR (tuning / held out; beaks and pixel-art pay), the
    # mouth a little more shut where only the old speech spoke. 1: pasted like the speech.
    pause_reach: float = 1.15
    # The model and the quiet rule hear only what a voice detector calls speech in both tracks
    # (media.speech_gate): a music bed, room tone or hum would hide the pauses from the quiet
    # rule and reach the model. The audio written into the dub is never changed.
    speech_gate: bool = True
    # Faces narrower than this many source pixels keep the source: a mouth of a few pixels,
    # blown up to the model's 64 px region, only gets smeared (bench/results/region-size-loss.md).
    # The edit fades in from 0.75x this width to this width; 0: every face is dubbed.
    min_face_px: float = 0.0
    # The network edits every k-th frame of a fast video, the largest k that still edits this
    # many frames a second (the default model was trained on 24-30 fps clips); the frames in
    # between take their neighbours' edits, blended by their place between them. 0: every frame.
    # Measured on 60 fps benchmark splits (bench/results/edit-rate/): at 24 the same mouth PSNR
    # (-0.01 / -0.03 dB), the same sync (both experts), less flicker, 41 % less time a clip.
    # Videos up to 47.9 fps are edited on every frame either way.
    edit_rate: float = 24.0
    # Frames shared by consecutive network segments, cross-faded (None: the model's own,
    # ModelConfig.overlap_frames; the default model's is 1). Fewer shared frames, fewer network
    # passes: 8-frame segments sharing 1 frame instead of 2 dubbed both benchmark splits within
    # 0.02 dB and the sync experts' noise (bench/results/overlap/).
    overlap_frames: int | None = None
    # Before editing, the model dubs a few moments of the source with the source's own speech
    # and is compared with the mouths the video truly shows there (pipeline.self_test); the dub
    # shows the largest share of the model's edit that does no harm on that test (all of it where
    # the model's mouths come out nearer the truth than the picture left as it was; none where any
    # share harms: the mouth then stays the character's own, with what the mouth bank lends).
    # Measured (bench/results/self-test/): mouth PSNR +0.25 to +0.63 dB on three benchmark splits
    # (+0.12 on wide mouths), the sync recovery lower on the clips it holds back. False: the whole
    # edit whatever its test says. No test where the source has no speech of its own.
    self_test: bool = True
    # Which share the own test gives (experimental): "no-harm", the largest share that does no
    # harm; "least-error", the share nearest the truth on the test.
    share_rule: str = "no-harm"


@dataclass
class DubReport:
    output: str
    source_frames: int
    output_frames: int
    fps: float
    width: int
    height: int
    audio_seconds: float
    video_seconds: float
    faces_detected: int
    frames_filled: int
    frames_unedited: int  # source frames in long stretches without a mouth: passed through
    frames_kept_quiet: int  # output frames kept as the source: both speech tracks silent there
    frames_face_too_small: int  # output frames kept as the source: the face narrower than min_face_px
    frames_lent: int  # output frames whose editor was shown a mouth of the source's own (DubOptions.mouth_bank)
    # output frames written with an edit: the network's, or at the edit rate its neighbours' blended
    # (so edited + kept quiet + too small + unedited is about the output's frames)
    frames_edited: int
    track_source: str
    track_summary: str = ""  # face.track.MouthTrack.summary(): where the mouth came from, what was filled
    # the edit was weighed by where the source's own mouth moves (pipeline.articulation); False:
    # the whole edit everywhere (off, or the source's motion stood out nowhere)
    articulation_map: bool = False
    # MouthBank.sound_gain (dB) where --mouth-bank auto tested the source: above 0, mouths were
    # lent where the new speech speaks too, not only in its pauses
    mouth_bank_sound_gain: float | None = None
    # pipeline.self_test's gain (dB) of the model's mouths over the source's on the source's own
    # speech, where it ran, and the share of the model's edit shown (trusted_scale; 0: none)
    self_test_db: float | None = None
    edit_scale: float = 1.0
    # wall seconds per stage; "load model" (an EditorLoader's) runs beside "probe" and "track"
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # also sent to progress.warn as they arise
    comparison: str | None = None  # the --compare video
    plan: str | None = None  # the --plan file: "read" (analysis reused), "written" or "not written"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VideoAnalysis:
    """What a dub needs to know about the source video, whatever the speech: made once by
    `analyse` and reused by every `render` of the same video (tune's cells, the benchmark's
    variants, a re-dub with other speech)."""

    video: Path
    info: VideoInfo
    track: MouthTrack
    frame_times: np.ndarray  # (N,) presentation time of every decoded source frame, s
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)  # probe, track
    # The whole video's length where `info` describes only the part analysed (`until_s`); 0: info's
    video_seconds: float = 0.0


def dub(video: Path, audio: Path, output: Path, editor: Editor | EditorLoader,
        options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
        plan: Path | None = None) -> DubReport:
    """Write `output`: `video` with its mouth re-rendered to follow `audio`, carrying `audio`.

    The two halves, `analyse` then `render`; the speech is read first, so that a bad speech
    track fails before the slow tracking pass. With `plan`, the analysis is read from that
    file when it was made for this video and these face settings, and saved there otherwise
    (a re-dub of the same video with new speech skips the tracking pass). An `EditorLoader`
    is loaded while the tracking pass runs in a forked process (pipeline.forked)."""
    video, audio, output = Path(video), Path(audio), Path(output)
    check_options(options)
    check_paths(video, audio, output, options.overwrite)
    if options.compare:
        check_comparison(output, options.overwrite, (video, audio))
    if plan is not None:
        check_plan_path(Path(plan), video, audio, output)
    waveform = load_speech(audio)
    span = analysis_span(len(waveform) / SAMPLE_RATE)
    analysing = ForkedCall(analysed, video, options, progress, plan, span) if isinstance(editor, EditorLoader) else None
    loading = _StageClock()  # the model's load, beside the tracking pass: the stages overlap
    try:
        if analysing is not None:
            with loading("load model"):
                editor = editor.load()
        # Reading the two speech tracks (the voice detector, the model's audio features) needs
        # nothing from the tracking pass: it runs beside it, on the core that pass leaves idle.
        with ThreadPoolExecutor(1, thread_name_prefix="omnisync-hearing") as pool:
            hearing = pool.submit(hear, waveform, video, editor, options, None if plan else span)
            analysis, plan_use = (analysing.result() if analysing is not None
                                  else analysed(video, options, progress, plan, span))
            report = render(analysis, audio, output, editor, options, progress, waveform, hearing.result())
    finally:
        if analysing is not None:
            analysing.cancel()  # a model that failed to load: the tracking child is stopped
    report.plan = plan_use
    report.seconds = {**loading.seconds, **report.seconds}
    return report


def analysed(video: Path, options: DubOptions, progress: Progress, plan: Path | None,
             until_s: float | None = None) -> tuple[VideoAnalysis, str | None]:
    """`analyse(video)`, or the analysis saved in `plan` when it was made for this video and
    these face settings (pipeline.plan_cache); a fresh one is saved there. Without a plan,
    only the frames shown before `until_s` are analysed. Also says what happened to the plan:
    "read", "written", "not written" (the file could not be saved: a warning), or None without one."""
    saved = load_analysis(plan, video, options.face) if plan is not None else None
    if saved is not None:
        analysis = VideoAnalysis(**saved)
        for warning in analysis.warnings:
            progress.warn(warning)
        return analysis, "read"
    if plan is None:  # only the part of the video the speech will show (a plan is for any speech)
        return analyse(video, options, progress, until_s), None
    analysis = analyse(video, options, progress)
    try:
        save_analysis(analysis, options.face, plan)
    except OutputError as error:  # the plan only saves time later: the dub goes on without it
        progress.warn(f"{error}; dubbing without saving the plan")
        return analysis, "not written"
    return analysis, "written"


# The tracking pass reads this far past the speech's end: the track's smoothing and gap
# filling at the last frames shown see what follows them, as in a whole-video pass.
ANALYSIS_MARGIN_S = 2.0


def analysis_span(audio_seconds: float) -> float:
    """How much of the video a dub of `audio_seconds` of speech analyses: a video longer than
    the speech is shown only up to the speech's end (a user tour: 4 s of speech on a 180 s
    video tracked all 180 s, 20 s of its 35). A shorter one is analysed whole (`analyse` stops
    at the video's end) and played back and forth or looped."""
    return audio_seconds + ANALYSIS_MARGIN_S


def check_plan_path(plan: Path, video: Path, audio: Path, output: Path) -> None:
    """The plan file is never one of the inputs or the output."""
    for path, role in ((video, "the video"), (audio, "the speech"), (output, "the output")):
        if plan.resolve() == path.resolve():
            raise ConfigError(f"--plan {plan} is {role}; give the plan its own file name")
    if plan.is_dir():
        raise ConfigError(f"--plan {plan} is a folder; give a file name such as {video.stem}.plan.npz")
    folder = plan.parent if str(plan.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--plan {plan}: folder {folder} does not exist; create it first")
    if plan.exists() and not is_plan_file(plan):
        raise ConfigError(f"--plan {plan} exists and is not an omnisync plan; give the plan its own file name "
                          f"(the file was left as it is)")


MOUTH_BANK_MODES = ("auto", "pauses", "everywhere", "off")  # DubOptions.mouth_bank
SHARE_RULES = ("no-harm", "least-error")  # DubOptions.share_rule


def check_options(options: DubOptions) -> None:
    if not 0 <= options.feather <= 0.5:
        raise ConfigError(f"feather must be between 0 and 0.5, got {options.feather}")
    if not 0 <= options.redrawn_levels <= 255:
        raise ConfigError(f"the redrawn level must be between 0 (off) and 255, got {options.redrawn_levels}")
    if not 0 <= options.focus <= 10:
        raise ConfigError(f"focus must be between 0 (off) and 10, got {options.focus}")
    if not 0 <= options.articulation_floor <= 1:
        raise ConfigError(f"the articulation floor must be between 0 and 1 (off), got {options.articulation_floor}")
    if not 0 <= options.chroma_focus <= 10:
        raise ConfigError(f"the chroma focus must be between 0 (off) and 10, got {options.chroma_focus}")
    if not 0.3 <= options.region_scale <= 2:
        raise ConfigError(f"the region scale must be between 0.3 and 2 (x the face width), got {options.region_scale}")
    if options.overlap_frames is not None and options.overlap_frames < 0:
        raise ConfigError(f"segments cannot share a negative number of frames, got {options.overlap_frames}")
    if not (options.edit_rate == 0 or 1 <= options.edit_rate <= 1000):
        raise ConfigError(f"the edit rate must be 0 (every frame) or between 1 and 1000 frames a second, "
                          f"got {options.edit_rate}")
    if not 0 <= options.min_face_px <= 4096:
        raise ConfigError(f"the minimum face width must be between 0 (off) and 4096 px, got {options.min_face_px}")
    if not 1 <= options.pause_reach <= 2:
        raise ConfigError(f"the pause reach must be between 1 (off) and 2 (x the swap ellipse), got {options.pause_reach}")
    if options.mouth_bank not in MOUTH_BANK_MODES:
        raise ConfigError(f"--mouth-bank must be one of {', '.join(MOUTH_BANK_MODES)}, got {options.mouth_bank!r}")
    if options.share_rule not in SHARE_RULES:
        raise ConfigError(f"the own test's share rule must be one of {', '.join(SHARE_RULES)}, got {options.share_rule!r}")


def analyse(video: Path, options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
            until_s: float | None = None) -> VideoAnalysis:
    """Probe the video and track the mouth over every frame (the first pass); with `until_s`
    only over the frames shown before that time (a preview needs no more), and the analysis
    then describes that part of the video."""
    video = Path(video)
    clock = _StageClock()
    with clock("probe"):
        info = probe_video(video)
        check_frame_size(video, info.width, info.height)
    with clock("track"):
        track, frame_times = _track_mouth(video, info, options.face, progress, until_s)
    frame_times, restarted = continuous_times(frame_times, float(info.fps))
    info = decoded_length(info, frame_times, restarted)
    info = dataclasses.replace(info, fps=playback_rate(frame_times, info.fps))
    video_seconds = info.duration
    if until_s is not None and until_s < info.duration:
        info = dataclasses.replace(info, duration=min(info.duration, until_s), frame_count=len(frame_times))
    truncation = truncation_warning(video, info, frame_times)
    check_mostly_decoded(video, info, frame_times, truncation)
    check_face_found(track, options.face)
    warnings = tuple(w for w in [truncation, hdr_warning(video, info),
                                 odd_size_warning(video, info), *picture_warnings(video),
                                 unedited_warning(video, track, options.face.max_gap_s)] if w)
    for warning in warnings:
        progress.warn(warning)
    return VideoAnalysis(video, info, track, frame_times, warnings, clock.seconds, video_seconds)


def render(analysis: VideoAnalysis, audio: Path, output: Path, editor: Editor,
           options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
           waveform: np.ndarray | None = None, hearing: "Hearing | None" = None) -> DubReport:
    """Write `output` from an analysed video and a speech track (the second pass): plan the
    output frames (length rules), edit the working region in overlapping segments, paste
    back, encode with the new audio. `waveform`: the speech already read at 16 kHz, if it
    was; `hearing`: that waveform's `hear`, if it was made."""
    audio, output = Path(audio), Path(output)
    check_options(options)
    check_paths(analysis.video, audio, output, options.overwrite)
    if options.compare:
        check_comparison(output, options.overwrite, (analysis.video, audio))
    info, track = analysis.info, analysis.track
    clock = _StageClock()
    collecting = start_bank_collection(analysis, editor, options)
    try:
        with clock("audio"):
            waveform = load_speech(audio) if waveform is None else waveform
            audio_seconds = len(waveform) / SAMPLE_RATE
            plan = plan_source_frames(analysis.frame_times, info.fps, info.duration, audio_seconds, options.extend)
            if hearing is None:
                hearing = hear(waveform, analysis.video, editor, options, analysis.info.duration)
            speech, features, source = hearing.speech, hearing.features, hearing.source
            quiet = quiet_keep(analysis, plan, speech, source, options)
        small, small_warning = small_faces(analysis.track, plan, options.min_face_px)
        keep = either_kept(quiet, small)
        warnings = list(analysis.warnings)
        notes = (track_note(analysis.video) if info.has_audio else None, track_note(audio),
                 length_note(audio, audio_seconds), no_speech_warning(audio, waveform, speech),
                 None if len(analysis.frame_times) == 1 else  # a still image is held for the speech, as asked
                 length_warning(analysis.video, audio, analysis.video_seconds or info.duration, audio_seconds,
                                float(info.fps), options.extend))
        for note in filter(None, notes):
            warnings.append(note)
            progress.warn(note)
        if small_warning:
            warnings.append(small_warning)
            progress.warn(small_warning)
        with clock("mouth bank"):
            lend, articulation = source_mouths(analysis, plan, editor, hearing, options, collecting)
        if lend is None and options.mouth_bank == "everywhere":  # asked for by name: say it did nothing
            warnings.append(NO_MOUTH_BANK)
            progress.warn(NO_MOUTH_BANK)
        with clock("self test"):
            trust = model_self_test(analysis, editor, hearing.source, options, collecting)
        scale, note = trusted_share(analysis.video, trust, lend is not None, options.share_rule)
        if note:
            warnings.append(note)
            progress.warn(note)
    finally:
        if collecting is not None:
            collecting.cancel()  # not wanted after all (no pause to lend in), or the dub failed

    with clock("render"):
        native, rate = load_audio_native(audio)
        hdr = info.hdr if info.keeps_hdr else None
        with VideoWriter(output, info.width, info.height, info.fps, native, audio_rate=rate,
                         crf=options.crf, hdr=hdr, overwrite=options.overwrite,
                         comment=provenance(analysis.video, audio, dub_settings(editor, options)),
                         pixel_aspect=info.pixel_aspect) as writer:
            emit = writer.write_planes if hdr is None else writer.write_hdr_planes
            edited = edit_frames(analysis, plan, editor, features, options, progress, emit, keep, lend,
                                 hdr=hdr is not None, articulation=articulation, edit_scale=scale)
    comparison = None
    if options.compare:
        with clock("compare"):
            try:
                comparison = str(write_comparison(analysis.video, output, plan, progress))
            except OutputError as error:  # the dub is whole and stays: say so (a user tour read it as lost)
                raise OutputError(f"{error} (the dub itself is written: {output})") from None

    return DubReport(
        output=str(output), source_frames=len(analysis.frame_times), output_frames=len(plan),
        fps=float(info.fps), width=info.width, height=info.height,
        audio_seconds=audio_seconds, video_seconds=analysis.video_seconds or info.duration,
        faces_detected=track.detected, frames_filled=track.filled, frames_unedited=track.passed_through,
        frames_kept_quiet=0 if quiet is None else int((quiet >= 1).sum()),
        frames_face_too_small=0 if small is None else int((small >= 1).sum()),
        frames_lent=0 if lend is None else lend.frames, frames_edited=edited, track_source=track.source,
        track_summary=track.summary(),
        articulation_map=articulation is not None,
        mouth_bank_sound_gain=None if lend is None or lend.sound_gain is None else round(lend.sound_gain, 2),
        self_test_db=None if trust is None else round(gain_db(trust), 2), edit_scale=round(scale, 3),
        seconds={**analysis.seconds, **clock.seconds}, warnings=warnings, comparison=comparison)


# Frames decoded ahead of (or waiting to be encoded behind) the stage that uses them: enough
# to cover one segment of the editor; fewer for large pictures (pipeline.frames.block_frames).
PREFETCH_FRAMES = 8


def working_track(track: MouthTrack, region_scale: float) -> MouthTrack:
    """The track with its regions scaled to the side the editor works on (DubOptions.region_scale);
    a region the user gave, or the frame-centre guess, as given."""
    if track.source in ("override", "centre"):
        return track
    return dataclasses.replace(track, side=track.side * region_scale)


def prefetch_depth(info: VideoInfo) -> int:
    return min(PREFETCH_FRAMES, block_frames(info.width, info.height))


# Below this the working region has nothing to work with; 1x1 and 7x5 clips exist (icons,
# broken exports) and would otherwise be dubbed at their centre.
MIN_SIDE = 16


def check_frame_size(video: Path, width: int, height: int) -> None:
    """Refuse frames too small to hold a mouth region."""
    if min(width, height) < MIN_SIDE:
        raise InputError(f"{video}: is {width}x{height} pixels; a dub needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE}")


def odd_size_warning(video: Path, info) -> str | None:
    """A warning for an odd width or height (a GIF, a screen grab): H.264 4:2:0 stores only even
    sizes, so the dub repeats the last column or row (media.writer) and is one pixel larger."""
    if not (info.width % 2 or info.height % 2):
        return None
    return (f"{video}: is {info.width}x{info.height} pixels; H.264 stores only even sizes, so the dub is "
            f"{info.width + info.width % 2}x{info.height + info.height % 2}, its last "
            f"{'column and row' if info.width % 2 and info.height % 2 else 'column' if info.width % 2 else 'row'} "
            "repeated")


def check_face_found(track: MouthTrack, face: FaceConfig) -> None:
    """--face-index N > 0 that matched no face in any frame is an error, not a dub at the
    frame centre: the user asked for a particular face."""
    if face.face_index > 0 and track.source == "centre":
        raise InputError(f"--face-index {face.face_index} asks for face number {face.face_index + 1} "
                         f"(0 = the largest), but fewer faces were found in every frame; use a lower "
                         f"--face-index, or --mouth X,Y")


def frames_to_track(info: VideoInfo, until_s: float | None) -> int | None:
    """The tracking bar's total: the frames before `until_s` (all without it); None where the
    header gives no length."""
    if info.duration <= 0:
        return None
    if until_s is None or until_s >= info.duration:
        return info.frame_count
    return min(info.frame_count, math.ceil(until_s * float(info.fps)))


def decoded_length(info: VideoInfo, frame_times: np.ndarray, restarted: bool = False) -> VideoInfo:
    """`info` with the length its decoded frames show where the header states none (a
    browser's MediaRecorder WebM, a Matroska file written to a pipe), or where their clock
    started again midway (`continuous_times`: the header's length is one part's): the last
    frame's time plus one frame, and the frames counted. Without it such a video read as one
    frame 0 s long, and its dub held the first frame throughout (a user tour)."""
    if (info.duration > 0 and not restarted) or not len(frame_times):
        return info
    return dataclasses.replace(info, duration=float(frame_times[-1]) + 1.0 / float(info.fps),
                               frame_count=len(frame_times), frame_count_exact=True)


def truncation_warning(video: Path, info, frame_times: np.ndarray) -> str | None:
    """A warning when clearly fewer frames decode than the header declares (a truncated or
    damaged file), saying how much was usable. A frame or two short is normal (edit lists);
    a count estimated from the duration (no frame count in the container) gets 10 % slack.
    Decoded frames that reach the stream's stated end are the whole video, however many the
    header counts: a stream-copied trim (ffmpeg -ss T -c copy) keeps the GOP before its cut,
    counted in the header and hidden by an edit list."""
    expected, decoded = info.frame_count, len(frame_times)
    slack = max(2, expected // 100) if info.frame_count_exact else max(2, expected // 10)
    if expected - decoded <= slack:
        return None
    frame = 1.0 / float(info.fps)
    if decoded and info.duration > 0 and frame_times[-1] + frame >= info.duration - 2 * frame:
        return None
    return (f"{video}: only {decoded} of {expected} frames could be decoded "
            f"({decoded * frame:.2f} of {info.duration:.2f} s); the file is truncated or "
            f"damaged, so the dub uses the readable part")


def check_mostly_decoded(video: Path, info, frame_times: np.ndarray, truncation: str | None) -> None:
    """Refuse a truncated or damaged video (`truncation`: its `truncation_warning`) of which less
    than half decodes (a download cut off early: 4 of 48 frames made a 1 s dub of 0.17 s played
    back and forth); more than that is dubbed from the readable part, with that warning."""
    if truncation and len(frame_times) < 0.5 * info.frame_count:
        frame = 1.0 / float(info.fps)
        raise InputError(f"{video}: only {len(frame_times)} of {info.frame_count} frames could be decoded "
                         f"({len(frame_times) * frame:.2f} of {info.duration:.2f} s); the file is truncated or "
                         "damaged, re-export it")


def unedited_warning(video: Path, track: MouthTrack, max_gap_s: float) -> str | None:
    """A warning where the mouth was not found for more than a second at a time, so those
    frames pass through as the source (the old mouth keeps talking there): the user is told
    how much, and how to have them dubbed (a user tour: 1.8 s of a 8 s clip left as it was, and
    only the --json count said so)."""
    if not track.passed_through:
        return None
    seconds = track.passed_through / track.fps
    return (f"{video}: no mouth was found on {track.passed_through} of {len(track)} frames ({seconds:.1f} s, in "
            f"stretches longer than {max_gap_s:g} s or shots without one); they are left as the source, so where the "
            "character is in view its old mouth shows: give its place with --mouth X,Y or --region X,Y,W,H to dub them")


def picture_warnings(video: Path) -> list[str]:
    """Warnings for what an MP4 dub cannot keep of the picture: transparent parts show the
    colour stored under them (often black, sometimes not); an interlaced picture is written as
    progressive frames without deinterlacing, so players that deinterlaced the source show its
    combing."""
    traits = picture_traits(video)
    warnings = []
    if traits.transparent:
        warnings.append(f"{video}: has transparent parts; the dub (MP4) cannot keep them, so they show the colour "
                        "stored under them; put the picture on a background first where that matters")
    if traits.interlaced:
        warnings.append(f"{video}: is interlaced; the dub is written as progressive frames without deinterlacing, "
                        "so moving edges may show combing; deinterlace it first (ffmpeg -i IN -vf bwdif OUT.mp4) "
                        "where that matters")
    return warnings


def hdr_warning(video: Path, info) -> str | None:
    """A warning for high-dynamic-range video the dub cannot keep HDR (not 10-bit 4:2:0,
    `VideoInfo.keeps_hdr`): the dub is standard range, converted by the YUV matrix alone (no
    tone mapping), so it shows flatter and less saturated than the source."""
    if info.hdr is None or info.keeps_hdr:
        return None
    return (f"{video}: is HDR video ({info.hdr}); the dub is standard-range BT.709 without tone mapping, "
            "so it looks flatter than the source; convert it to SDR first where colours matter")


def _track_mouth(video: Path, info, config: FaceConfig, progress: Progress,
                 until_s: float | None = None) -> tuple[MouthTrack, np.ndarray]:
    times = []
    with MouthTracker(config, fps=float(info.fps), frame_size=(info.width, info.height)) as tracker, \
            VideoReader(video) as reader, \
            progress.stage("tracking the mouth", frames_to_track(info, until_s)) as advance, \
            closing(prefetched(reader.iter_pictures(config.look_max_side, tracker.look_every),
                               PREFETCH_FRAMES)) as pictures:
        for picture in pictures:
            if until_s is not None and times and picture.time_s >= until_s:
                break
            # every frame's thumbnail lets the track follow a shaking camera between looks
            thumbnail = picture.grey(THUMBNAIL_SIDE) if tracker.look_every else None
            tracker.observe(picture.image if tracker.wants_picture() else None, thumbnail)
            times.append(picture.time_s)
            advance(1)
        # The source's own speech tells which of several mouths speaks (face/speaker.py), as
        # the sync expert hears it.
        speech = (lambda: _source_speech(video)) if info.has_audio else None
        return tracker.finish(float(info.fps), speech, SyncSpeakerJudge()), np.asarray(times)


def dub_settings(editor: Editor, options: DubOptions) -> dict:
    """What shapes a dub's output besides its two inputs: the options (less those about the
    output file) and the editor's `settings` (its class name where it has none)."""
    shaping = {k: v for k, v in asdict(options).items() if k not in ("overwrite", "compare")}
    return {"options": shaping, "editor": getattr(editor, "settings", type(editor).__name__)}


def heard(waveform: np.ndarray | None, options: DubOptions, editor: Editor) -> np.ndarray | None:
    """What the model, the quiet rule and the mouth bank read of a speech track: its speech
    alone (media.speech_gate) with `options.speech_gate`; the track itself without it, and
    for an editor that ignores audio (`hears_speech = False`: no detector is loaded)."""
    if waveform is None or not options.speech_gate or not getattr(editor, "hears_speech", True):
        return waveform
    return speech_only(waveform)


@dataclass(frozen=True)
class Hearing:
    """Both speech tracks as the dub reads them (`heard`): what `render` and `tune` read
    before editing, none of it from the tracking pass."""

    speech: np.ndarray          # the new speech
    features: object            # the editor's audio features of it (`prepare_audio`)
    source: np.ndarray | None   # the source's own speech, read once for the quiet rule, the mouth
                                # bank and the articulation map; None where none reads it or the video has none


def hear(waveform: np.ndarray, video: Path, editor: Editor, options: DubOptions,
         until_s: float | None = None) -> Hearing:
    """`Hearing` of the new speech `waveform` and of `video`'s own speech up to `until_s` (the
    part of the video analysed: the rules read it at the analysed frames only)."""
    speech = heard(waveform, options, editor)
    reads_source = options.keep_quiet_source or options.mouth_bank != "off" or options.articulation_floor < 1
    source = _source_speech(video) if reads_source else None
    if source is not None and until_s is not None:
        source = source[:math.ceil(until_s * SAMPLE_RATE)]
    return Hearing(speech, editor.prepare_audio(speech), heard(source, options, editor))


# How the video is stretched over a longer speech, as told to the user (DubOptions.extend).
EXTENDED = {Extend.pingpong: "played forwards and back", Extend.loop: "played from its start again",
            Extend.freeze: "held on its last frame"}


def length_warning(video: Path, audio: Path, video_seconds: float, audio_seconds: float, fps: float,
                   extend: Extend) -> str | None:
    """A warning where the speech, which sets the dub's length, is far from the video's: under
    one frame (the dub is one frame), or over the video's length by more than 10 % and half a
    second, so that the video is stretched (a user tour: a 0.2 s clip went back and forth 15
    times to fill 3 s of speech, without a word)."""
    if audio_seconds < 1.0 / fps:
        return f"{audio}: the speech lasts {1000 * audio_seconds:.0f} ms, less than one frame; the dub is one frame long"
    if audio_seconds > max(1.1 * video_seconds, video_seconds + 0.5):
        return (f"{audio}: the speech ({audio_seconds:.2f} s) is longer than the video ({video_seconds:.2f} s), so the "
                f"video is {EXTENDED[extend]} to fill it (--extend pingpong, loop or freeze)")
    return None


def no_speech_warning(audio: Path, waveform: np.ndarray, heard_speech: np.ndarray | None) -> str | None:
    """A warning where the voice detector heard no speech at all in a new track that is not
    silent (music, noise, a wrong file): the model then hears silence and closes the mouth."""
    if heard_speech is None or heard_speech is waveform or np.any(heard_speech):
        return None
    return (f"{audio}: the voice detector hears no speech in it (music or noise?), so the mouth is dubbed as "
            "silent; give speech, or --hear-everything to dub to the whole track")


def quiet_keep(analysis: VideoAnalysis, plan: np.ndarray, waveform: np.ndarray, source: np.ndarray | None,
               options: DubOptions) -> np.ndarray | None:
    """Per output frame, how much of it stays the source because both the new speech and the
    source's own speech (`source`, `Hearing.source`) are silent there (pipeline.quiet); None
    where nothing is kept."""
    if not options.keep_quiet_source or source is None:
        return None
    fps = float(analysis.info.fps)
    span = 1.0 / fps
    new_quiet = quiet_at(waveform, SAMPLE_RATE, np.arange(len(plan)) / fps, span)
    source_quiet = quiet_at(source, SAMPLE_RATE, analysis.frame_times[plan], span)
    keep = keep_source_weights(new_quiet, source_quiet, fps)
    return keep if keep.any() else None


def small_faces(track: MouthTrack, plan: np.ndarray, min_face_px: float) -> tuple[np.ndarray | None, str | None]:
    """(per output frame, the share that stays the source because the tracked face (`track`,
    source frames `plan`) is narrower than `min_face_px`: 1 at 0.75x that width and below, 0 at
    it and above, linear between; the warning that says so), or (None, None) where no frame is
    kept or the rule is off. A region the user gives (`--region`, `--mouth`) is always dubbed."""
    if min_face_px <= 0 or track.source == "override":
        return None, None
    face_width = track.side[plan] / REGION_SCALE
    keep = np.clip((min_face_px - face_width) / (0.25 * min_face_px), 0.0, 1.0).astype(np.float32)
    if not keep.any():
        return None, None
    return keep, (f"the face is about {np.median(face_width[keep > 0]):.0f} px wide in {int((keep > 0).sum())} of "
                  f"{len(keep)} frames, under {min_face_px:g} px: too small to redraw its mouth, so those frames "
                  "keep the source")


def either_kept(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    """Per frame, the share kept as the source by either rule: 1 - (1 - a)(1 - b)."""
    if first is None or second is None:
        return second if first is None else first
    return 1.0 - (1.0 - first) * (1.0 - second)


NO_MOUTH_BANK = ("--mouth-bank everywhere: nothing lent (the video has too little speech of its own, or the editor "
                 "reads no mouths from audio); dubbed without it")


def start_bank_collection(analysis: VideoAnalysis, editor: Editor, options: DubOptions) -> BankCollection | None:
    """The mouth bank's decoding pass, started in the background (`BankCollection`) where the
    editor reads mouths from audio, the video has a sound track (its own speech), and a dub may
    lend (`DubOptions.mouth_bank`) or read the articulation map (`articulation_floor`) from its
    crops; None otherwise."""
    if not hasattr(editor, "sound_keys") or not analysis.info.has_audio:
        return None
    if options.mouth_bank == "off" and options.articulation_floor >= 1:
        return None
    track = working_track(analysis.track, options.region_scale)
    return BankCollection(analysis.video, track, editor.region_size, MouthBankConfig().max_frames,
                          edit_every(float(analysis.info.fps), options.edit_rate))


def source_mouths(analysis: VideoAnalysis, plan: np.ndarray, editor: Editor, hearing: "Hearing",
                  options: DubOptions, collecting: BankCollection | None) -> tuple[MouthLending | None, np.ndarray | None]:
    """What the source's own mouths give a dub, from the bank's one decoding pass (`collecting`):
    the mouths lent to the output frames (`mouth_lender`) and the articulation map
    (`source_articulation`); each None where it does not apply."""
    lend = mouth_lender(analysis, plan, editor, hearing.speech, hearing.features, hearing.source, options, collecting)
    return lend, source_articulation(analysis, editor, options, hearing.source, collecting)


def source_articulation(analysis: VideoAnalysis, editor: Editor, options: DubOptions, source: np.ndarray | None,
                        collecting: BankCollection | None = None) -> np.ndarray | None:
    """Where the source's mouth moves while its own speech (`source`, `Hearing.source`) speaks:
    the edit's weight per working-region pixel (pipeline.articulation), read from the crops of
    the mouth bank's decoding pass (`collecting`, started here if not yet). None where it is
    off, the source has no speech (a silent character's still mouth must not keep the new
    speech's mouth from moving), or no map stands out."""
    if options.articulation_floor >= 1:
        return None
    crops = speaking_source_crops(analysis, editor, options, source, collecting)
    return None if crops is None else articulation_map(crops, options.articulation_floor)


def speaking_bank(analysis: VideoAnalysis, editor: Editor, options: DubOptions, source: np.ndarray | None,
                  collecting: BankCollection | None = None) -> tuple[MouthBank, np.ndarray] | None:
    """The mouth bank of the decoding pass `collecting` (started here if not yet) and, per bank
    frame, whether the source's own speech (`source`) speaks there; None where the source has no
    speech or no such pass runs."""
    if source is None or not np.any(source):
        return None
    if collecting is None:
        collecting = start_bank_collection(analysis, editor, options)
    bank = None if collecting is None else collecting.result()
    if bank is None:
        return None
    _, speaking = bank.speaking(source, analysis.frame_times, float(analysis.info.fps))
    return bank, speaking


def speaking_source_crops(analysis: VideoAnalysis, editor: Editor, options: DubOptions, source: np.ndarray | None,
                          collecting: BankCollection | None = None) -> np.ndarray | None:
    """(N, S, S, 3) uint8: the working-region crops of the mouth bank (`speaking_bank`) on the
    frames where the source's own speech speaks, in time order; None where there are none."""
    found = speaking_bank(analysis, editor, options, source, collecting)
    return None if found is None else found[0].crops[found[1]]


def model_self_test(analysis: VideoAnalysis, editor: Editor, source: np.ndarray | None, options: DubOptions,
                    collecting: BankCollection | None = None) -> np.ndarray | None:
    """pipeline.self_test's error terms of the editor's mouths against the source's, on the mouth
    bank's crops where the source's own speech (`source`, `Hearing.source`) speaks; None where the
    test is off, the editor is not a model, or the source speaks too little (or not at all)."""
    if not options.self_test or not hasattr(editor, "audio_features"):
        return None
    found = speaking_bank(analysis, editor, options, source, collecting)
    if found is None:
        return None
    bank, speaking = found
    return own_test_terms(editor, bank, editor.audio_features(source), speaking, analysis.frame_times[bank.indices])


def scaled_edit(shown: np.ndarray, edited: np.ndarray, scale: float) -> np.ndarray:
    """The crops `shown` to the editor changed by `scale` times its change (uint8)."""
    if scale >= 1.0:
        return edited
    change = edited.astype(np.float32) - shown
    return np.clip(np.rint(shown + scale * change), 0, 255).astype(np.uint8)


def trusted_share(video: Path, trust: np.ndarray | None, lent: bool,
                  share_rule: str = "no-harm") -> tuple[float, str | None]:
    """The share of the model's edit a dub shows after its own test (`model_self_test`'s terms;
    None: not tested, the whole edit) and, where it is below 1, what the dub says about it."""
    if trust is None:
        return 1.0, None
    scale = least_error_scale(trust) if share_rule == "least-error" else trusted_scale(trust)
    return scale, (untrusted_warning(video, gain_db(trust), scale, lent) if scale < 1.0 else None)


def untrusted_warning(video: Path, gain: float, scale: float, lent: bool) -> str:
    """What a dub says when its model lost its own test on this character (pipeline.self_test)."""
    if scale > 0:
        shown = f"the model's edit is shown at {100 * scale:.0f} % of its size, the share that test allows"
    else:
        kept = "the character's own mouths lent by the source" if lent else "the source's mouth as it is"
        shown = f"the network is left out and the dub shows {kept}"
    return (f"{video}: on this character's own speech the model's mouths came out {-gain:.2f} dB further from "
            f"the true ones than the source's, so {shown} (--no-self-test uses the whole edit)")


def mouth_lender(analysis: VideoAnalysis, plan: np.ndarray, editor: Editor, waveform: np.ndarray, features,
                 source: np.ndarray | None, options: DubOptions,
                 collecting: BankCollection | None = None) -> MouthLending | None:
    """What the bank lends the output frames: the source mouths the new speech (`waveform`, as
    heard) asks for (pipeline.mouth_bank), in its pauses only or everywhere (`options.mouth_bank`);
    None where the option is off, the editor reads no mouths from audio, the source (`source`:
    its own speech, `Hearing.source`) has no speech to read them from, or the new speech has no
    pause to lend in. `collecting`: the bank's pass already started (`start_bank_collection`)."""
    if options.mouth_bank == "off" or not hasattr(editor, "sound_keys") or source is None:
        return None
    fps = float(analysis.info.fps)
    pauses = pause_weights(quiet_at(waveform, SAMPLE_RATE, np.arange(len(plan)) / fps, 1.0 / fps), fps)
    if options.mouth_bank == "pauses" and not pauses.any():
        return None  # before the bank's decoding pass (or while it runs: the caller cancels it)
    config = MouthBankConfig()
    if collecting is None:
        collecting = start_bank_collection(analysis, editor, options)
    bank = None if collecting is None else collecting.result()
    if bank is None:
        return None
    gain = None if options.mouth_bank != "auto" else bank.sound_gain(editor, source, analysis.frame_times, fps, config)
    everywhere = options.mouth_bank == "everywhere" or (gain is not None and gain > 0)
    shown = np.ones(len(plan), np.float32) if everywhere else pauses
    if not shown.any():
        return None
    donors = bank.donors(editor, source, waveform, features, analysis.frame_times, plan, fps, config)
    if donors is None:
        return None
    return MouthLending(bank, donors, shown, config.max_shift, gain, np.where(pauses >= 0.5, options.pause_reach, 1.0))


def _source_speech(video: Path) -> np.ndarray | None:
    """The source video's own audio, or None where it cannot be read (it only guides tracking)."""
    try:
        return load_audio(video)
    except InputError:
        return None


def edit_frames(analysis: VideoAnalysis, plan: np.ndarray, editor: Editor, features, options: DubOptions,
                progress: Progress, emit: Callable[[Planes], None], keep: np.ndarray | None = None,
                lend: MouthLending | None = None,
                hdr: bool = False, articulation: np.ndarray | None = None, edit_scale: float = 1.0) -> int:
    """Pass 2 without the encoder: the output frames `plan` names (source frame indices), each
    with its working region edited and pasted back, handed to `emit` in order as yuv420p
    planes (`render` encodes them; `tune` shrinks them to its tiles); with `hdr` (a source
    whose `VideoInfo.keeps_hdr`) as the decoded 10-bit planes with the edit carried into them
    (`yuv.HdrPlanes`). `features`: the speech's `editor.prepare_audio`; `keep`: per output
    frame, the share that stays the source (`quiet_keep`, `small_faces`); `lend`: gives the crops the network
    sees other source mouths (`mouth_lender`); `articulation`: the edit's weight per crop pixel
    (`pipeline.articulation`); `edit_scale`: the share of the editor's change kept (`model_self_test`;
    0: the editor is not run, the crops keep what was lent to them). Returns how many output frames were written with an
    edit (the network's, or at the edit rate its neighbours'; a frame kept whole is not counted)."""
    video, info, track = analysis.video, analysis.info, analysis.track
    face_width = track.side / REGION_SCALE  # the gate looks for a mouth of the face's size
    track = working_track(track, options.region_scale)
    size = editor.region_size
    # A model with reference frames also sees the source at K other moments (pipeline.references).
    count = getattr(editor, "reference_frames", 0)
    references = reference_crops(video, track, size, count) if count else None
    pictures = {} if references is None else {"references": references}

    changed_frames = set()  # output frames written with an edit pasted in (not kept as the source)

    def edit(crops, times, mouth_xy):
        frames = np.rint(times * float(info.fps)).astype(int).clip(0, len(plan) - 1)
        if keep is not None and np.all(keep[frames] >= 1):
            return crops  # all in a pause of both speech tracks: the source is kept, nothing to edit
        shown = crops if lend is None else lend(crops, frames, mouth_xy)
        edited = scaled_edit(shown, editor.edit(shown, times, mouth_xy, features, **pictures), edit_scale) \
            if edit_scale > 0 else shown
        edited = keep_source_colours(edited, crops) if options.keep_colours else edited
        # nothing to redraw on a black frame or a blank screen
        return np.where(flat_crops(crops)[:, None, None, None], crops, edited)

    with VideoReader(video) as reader, progress.stage("dubbing", len(plan)) as advance:
        source = SourceFrames(reader, frame_count=len(track))
        source.start()

        gate = _mouth_gate(track, options.face)

        def may_edit(k: int, frame) -> bool:
            if not track.edits(k):
                return False
            return gate is None or gate.allows(k, lambda: frame.image, float(track.mouth_x[k]),
                                               float(track.mouth_y[k]), float(face_width[k]))

        def items() -> Iterator[SegmentItem]:
            seen = None  # the crop of the last frame whose mouth was found, not filled
            for j, k in enumerate(plan):
                new_shot = j > 0 and not track.same_shot(int(plan[j - 1]), int(k))
                if new_shot:
                    seen = None  # a cut: the frames filled at the new shot's start show that shot
                frame = source.get(int(k))
                box = track.box(int(k))
                # Only the part of the frame around the region goes through RGB (pipeline.window).
                window = window_of(frame.planes, box, size)
                crop = crop_from_window(window, box, size)
                if track.found[k]:
                    seen = crop
                # A filled frame (a short dropout) is edited only while it shows what the found
                # frames showed: a cutaway to another scene keeps its picture.
                editable = may_edit(int(k), frame) and (track.found[k] or seen is None or same_scene(crop, seen))
                yield SegmentItem(crop=crop, time=j / float(info.fps), mouth_xy=track.mouth_in_box(int(k)),
                                  payload=(frame, box, window, editable, j), new_shot=new_shot)

        def write(done: tuple[SegmentItem, np.ndarray]) -> None:
            item, edited = done
            frame, box, window, editable, j = item.payload
            edited = weigh_edit(item.crop, edited, articulation)
            if keep is not None and keep[j] > 0:  # a pause in both speech tracks, or a tiny face: the source
                edited = np.rint(keep[j] * item.crop + (1 - keep[j]) * edited.astype(np.float32)).astype(np.uint8)
            # No mouth near this frame (a long stretch without one), or nothing changed: the
            # decoded frame as is.
            if not editable or np.array_equal(edited, item.crop):
                emit(frame.hdr if hdr else frame.planes)
                return
            changed_frames.add(j)
            u, v = item.mouth_xy
            # A mouth lent whole in a pause is pasted whole (DubOptions.pause_reach)
            whole = lend is not None and lend.reaches_whole_mouth(j)
            chroma_focus = options.chroma_focus if options.keep_colours else 0.0
            # Only the pasted rectangle goes back through RGB -> YUV: every pixel outside it
            # reaches the encoder exactly as it was decoded.
            pasted = paste_into_planes(frame.planes, window, edited, box, options.feather, item.crop,
                                       (box.left + u * box.side, box.top + v * box.side), 0.0 if whole else options.focus,
                                       options.redrawn_levels, 0.0 if whole else chroma_focus)
            emit(paste_into_hdr(frame.hdr, frame.planes, pasted, box) if hdr else pasted)

        # Decoding runs ahead of the editor and pasting and encoding behind it, each in its
        # own thread (pipeline.prefetch): the network is not kept waiting for FFmpeg.
        depth = prefetch_depth(info)
        with closing(prefetched(items(), depth)) as ahead, Drain(write, depth) as behind:
            every = edit_every(float(info.fps), options.edit_rate)
            overlap = editor.overlap_frames if options.overlap_frames is None else options.overlap_frames
            for done in edit_at_cadence(ahead, edit, editor.segment_frames, overlap, every):
                behind(done)
                advance(1)
    return len(changed_frames)


# A filled frame's crop whose grey levels correlate less than this with the last found frame's
# shows another scene (a cutaway shorter than the gaps that are filled). Measured (stop 29): the
# filled frames of the 48 benchmark clips correlate at 0.21 at the least (a moving character),
# most at 0.5-0.95; a user tour's 0.8 s cutaway to a landscape at 0.05.
SAME_SCENE_CORRELATION = 0.15


def same_scene(crop: np.ndarray, other: np.ndarray) -> bool:
    """Whether two crops (S, S, 3) uint8 show one scene: their grey levels' correlation reaches
    SAME_SCENE_CORRELATION (flat crops, which correlate with nothing, count as the same)."""
    a = crop.astype(np.float32).mean(axis=2).ravel()
    b = other.astype(np.float32).mean(axis=2).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return norm < 1e-6 or float((a * b).sum()) / norm >= SAME_SCENE_CORRELATION


# A working region whose grey levels vary less than this (standard deviation, 8-bit levels)
# holds no mouth: a black frame in a fade, a blank screen. There the source is kept, whatever
# the model would paint (found by a user tour: a ghost mouth on the black frames of a fade).
FLAT_LEVELS = 2.0


def flat_crops(crops: np.ndarray) -> np.ndarray:
    """(F,) bool: which of the crops (F, S, S, 3) uint8 are flat (FLAT_LEVELS)."""
    grey = crops.astype(np.float32).mean(axis=3)
    return grey.reshape(len(crops), -1).std(axis=1) < FLAT_LEVELS


def edit_every(fps: float, edit_rate: float) -> int:
    """Edit every k-th frame (DubOptions.edit_rate): the largest k with fps / k >= edit_rate; 1
    when the rule is off (0) or the video is slower than twice the rate (48 fps at 24: every 2nd)."""
    if edit_rate <= 0:
        return 1
    return max(1, int(fps / edit_rate + 1e-9))


def _mouth_gate(track: MouthTrack, face: FaceConfig):
    """On localiser tracks, a second look at the final region before each edit (face.localiser)."""
    if track.source != "localiser":
        return None
    from omnisync_cli.face.localiser import MouthGate, open_localiser
    return MouthGate(open_localiser(face.localiser), max(1, round(face.localiser_every_s * track.fps)))


class _StageClock:
    """Wall time per named stage, for the --json summary."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 3)
