"""The first half of a dub, once per video: probe -> pass 1, the mouth track over every frame
(`analyse`), or the analysis a `--plan` file saved (`analysed`); with the checks and warnings
about the video that it makes on the way."""

import dataclasses
import math
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omnisync_cli.errors import ConfigError, InputError, OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.motion import THUMBNAIL_SIDE
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoInfo, VideoReader, picture_traits, probe_video, video_track_note
from omnisync_cli.pipeline.frames import PREFETCH_FRAMES
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.plan_cache import cache_key, is_plan_file, load_analysis, save_analysis
from omnisync_cli.pipeline.prefetch import prefetched
from omnisync_cli.pipeline.progress import Progress, SilentProgress
from omnisync_cli.pipeline.speaker_judge import SyncSpeakerJudge
from omnisync_cli.pipeline.stage_clock import StageClock
from omnisync_cli.pipeline.timeline import continuous_times, playback_rate


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
    key = cache_key(video, options.face)  # the version analysed: a video edited meanwhile is analysed again
    analysis = analyse(video, options, progress)
    try:
        save_analysis(analysis, options.face, plan, key)
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


def check_plan_path(plan: Path, video: Path, audio: Path, output: Path, comparison: Path | None = None) -> None:
    """The plan file is never one of the inputs or the outputs (`comparison`: the --compare video)."""
    outputs = ((output, "the output"),) + (((comparison, "where --compare writes"),) if comparison else ())
    for path, role in ((video, "the video"), (audio, "the speech"), *outputs):
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


def analyse(video: Path, options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
            until_s: float | None = None) -> VideoAnalysis:
    """Probe the video and track the mouth over every frame (the first pass); with `until_s`
    only over the frames shown before that time (a preview needs no more), and the analysis
    then describes that part of the video."""
    video = Path(video)
    clock = StageClock()
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


def working_track(track: MouthTrack, region_scale: float) -> MouthTrack:
    """The track with its regions scaled to the side the editor works on (DubOptions.region_scale);
    a region the user gave, or the frame-centre guess, as given."""
    if track.source in ("override", "centre"):
        return track
    return dataclasses.replace(track, side=track.side * region_scale)


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
    warnings = [note] if (note := video_track_note(video)) else []
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
            closing(prefetched(reader.iter_pictures(config.look_max_side, tracker.look_every,
                                                    # every frame's thumbnail lets the track follow
                                                    # a shaking camera between looks
                                                    THUMBNAIL_SIDE if tracker.look_every else 0),
                               PREFETCH_FRAMES)) as pictures:
        for picture in pictures:
            if until_s is not None and times and picture.time_s >= until_s:
                break
            tracker.observe(picture.image if tracker.wants_picture() else None, picture.thumbnail)
            times.append(picture.time_s)
            advance(1)
        # The source's own speech tells which of several mouths speaks (face/speaker.py), as
        # the sync expert hears it.
        speech = (lambda: source_speech(video)) if info.has_audio else None
        return tracker.finish(float(info.fps), speech, SyncSpeakerJudge()), np.asarray(times)


def source_speech(video: Path) -> np.ndarray | None:
    """The source video's own audio, or None where it cannot be read (it only guides tracking)."""
    try:
        return load_audio(video)
    except InputError:
        return None
