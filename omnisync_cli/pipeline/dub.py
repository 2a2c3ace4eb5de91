"""`dub`: the one function that knows the order of the stages, in two halves.

analyse (once per video; pipeline.analysis): probe -> pass 1: mouth track over every frame.
render (once per speech; here): load audio -> plan the output frames (length rules) -> what
the source shows of itself (its quiet stretches, its own mouths, the model's own test on it)
-> pass 2 (pipeline.editing): fetch source frames, crop the working region, edit in
overlapping segments, paste back with a feathered edge -> encode with the new audio ->
atomic rename into place. The settings of every stage: pipeline.options.DubOptions.

Two passes over the video keep memory flat: the first keeps a few numbers per frame, the
second holds one segment of frames.
"""

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from omnisync_cli.errors import InputError, OutputError
from omnisync_cli.face.region import REGION_SCALE
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.audio import SAMPLE_RATE, length_note, load_speech, native_audio, track_note
from omnisync_cli.media.loudness import quiet_at
from omnisync_cli.media.speech_gate import speech_only
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.pipeline.analysis import (VideoAnalysis, analysed, analysis_span, check_plan_path, source_speech,
                                            working_track)
from omnisync_cli.pipeline.articulation import articulation_map
from omnisync_cli.pipeline.compare import check_comparison, comparison_path, write_comparison
from omnisync_cli.pipeline.editing import edit_every, edit_frames
from omnisync_cli.pipeline.editor import Editor, EditorLoader
from omnisync_cli.pipeline.forked import ForkedCall
from omnisync_cli.pipeline.mouth_bank import BankCollection, CollectedBank, MouthBank, MouthBankConfig, MouthLending
from omnisync_cli.pipeline.options import DubOptions, check_options, dub_settings
from omnisync_cli.pipeline.paths import check_paths, check_unchanged, input_versions, provenance
from omnisync_cli.pipeline.progress import Progress, SilentProgress
from omnisync_cli.pipeline.quiet import keep_source_weights, pause_weights
from omnisync_cli.pipeline.self_test import gain_db, least_error_scale, own_test_terms, trusted_scale
from omnisync_cli.pipeline.stage_clock import StageClock
from omnisync_cli.pipeline.timeline import Extend, plan_source_frames


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
    track_summary: str = ""  # face.mouth_track.MouthTrack.summary(): where the mouth came from, what was filled
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
    # wall seconds per stage; "load model" (an EditorLoader's) runs beside "probe", "track" and
    # "bank pass" (the mouth bank's decoding pass, where the forked tracking pass collected it)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # also sent to progress.warn as they arise
    comparison: str | None = None  # the --compare video
    plan: str | None = None  # the --plan file: "read" (analysis reused), "written" or "not written"

    def to_dict(self) -> dict:
        return asdict(self)


def dub(video: Path, audio: Path, output: Path, editor: Editor | EditorLoader,
        options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
        plan: Path | None = None) -> DubReport:
    """Write `output`: `video` with its mouth re-rendered to follow `audio`, carrying `audio`.

    The two halves, `analyse` then `render`; the speech is read first, so that a bad speech
    track fails before the slow tracking pass. With `plan`, the analysis is read from that
    file when it was made for this video and these face settings, and saved there otherwise
    (a re-dub of the same video with new speech skips the tracking pass). An `EditorLoader`
    is loaded while the tracking pass runs in a forked process (pipeline.forked), which then
    collects the mouth bank's crops too where the loader says their side (`analysed_and_banked`)."""
    video, audio, output = Path(video), Path(audio), Path(output)
    check_options(options)
    check_paths(video, audio, output, options.overwrite)
    if options.compare:
        check_comparison(output, options.overwrite, (video, audio))
    if plan is not None:
        check_plan_path(Path(plan), video, audio, output, comparison_path(output) if options.compare else None)
    versions = input_versions(video, audio)  # before either is read: the dub is made of these versions
    analysing = None
    loading = StageClock()  # the model's load, beside the tracking pass: the stages overlap
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="omnisync-hearing") as pool:
            try:
                waveform = load_speech(audio)
                span = analysis_span(len(waveform) / SAMPLE_RATE)
                bank_side = None
                if isinstance(editor, EditorLoader):
                    bank_side = editor.bank_side
                    analysing = ForkedCall(analysed_and_banked, video, options, progress, plan, span, bank_side)
                    with loading("load model"):
                        editor = editor.load()
                # Reading the two speech tracks (the voice detector, the model's audio features) needs
                # nothing from the tracking pass: it runs beside it, on the core that pass leaves idle.
                hearing = pool.submit(hear, waveform, video, editor, options, None if plan else span)
                analysis, plan_use, banked = (analysing.result() if analysing is not None
                                              else (*analysed(video, options, progress, plan, span), None))
                heard_now = hearing.result()
            except Exception:
                check_unchanged(versions)  # a failure that an input's change caused is told as that change
                raise
            # the loaded editor reads no mouths, or at another side than its loader said: not its bank
            fits = hasattr(editor, "sound_keys") and getattr(editor, "region_size", None) == bank_side
            report = render(analysis, audio, output, editor, options, progress, waveform, heard_now, versions,
                            banked if fits else None)
    finally:
        if analysing is not None:
            analysing.cancel()  # a model that failed to load: the tracking child is stopped
    report.plan = plan_use
    passes = {"bank pass": banked.seconds} if banked is not None else {}  # in the forked pass, after "track"
    report.seconds = {**loading.seconds, **report.seconds, **passes}
    return report


def render(analysis: VideoAnalysis, audio: Path, output: Path, editor: Editor,
           options: DubOptions = DubOptions(), progress: Progress = SilentProgress(),
           waveform: np.ndarray | None = None, hearing: "Hearing | None" = None,
           versions: dict | None = None, collecting: CollectedBank | None = None) -> DubReport:
    """Write `output` from an analysed video and a speech track (the second pass): plan the
    output frames (length rules), edit the working region in overlapping segments, paste
    back, encode with the new audio. `waveform`: the speech already read at 16 kHz, if it
    was; `hearing`: that waveform's `hear`, if it was made. `versions`: the inputs'
    `paths.input_versions` when the dub began (default: now); a dub of inputs that changed
    since is not written. `collecting`: the mouth bank collected already (`analysed_and_banked`;
    default: its decoding pass starts here, where the dub wants it)."""
    audio, output = Path(audio), Path(output)
    check_options(options)
    check_paths(analysis.video, audio, output, options.overwrite)
    versions = input_versions(analysis.video, audio) if versions is None else versions
    if options.compare:
        check_comparison(output, options.overwrite, (analysis.video, audio))
    info, track = analysis.info, analysis.track
    clock = StageClock()
    if collecting is None:
        collecting = start_bank_collection(analysis, editor, options)
    try:
        with clock("audio"):
            waveform = load_speech(audio) if waveform is None else waveform
            audio_seconds = len(waveform) / SAMPLE_RATE
            plan = plan_source_frames(analysis.frame_times, info.fps, info.duration, audio_seconds, options.extend)
            if hearing is None:
                hearing = hear(waveform, analysis.video, editor, options, analysis.info.duration)
            speech, features, source = hearing.speech, hearing.features, hearing.source
            quiet = quiet_keep(analysis, plan, speech, source, options, hearing.gated)
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
    except Exception:
        check_unchanged(versions)  # the video's frames read again for the tests: a failure a change caused
        raise
    finally:
        if collecting is not None:
            collecting.cancel()  # not wanted after all (no pause to lend in), or the dub failed

    with clock("render"):
        try:
            native = native_audio(audio)  # read again as the frames are written: memory flat in its length
            hdr = info.hdr if info.keeps_hdr else None
            with VideoWriter(output, info.width, info.height, info.fps, native,
                             crf=options.crf, hdr=hdr, overwrite=options.overwrite,
                             comment=provenance(analysis.video, audio, dub_settings(editor, options)),
                             pixel_aspect=info.pixel_aspect, verify=lambda: check_unchanged(versions)) as writer:
                emit = writer.write_planes if hdr is None else writer.write_hdr_planes
                edited = edit_frames(analysis, plan, editor, features, options, progress, emit, keep, lend,
                                     hdr=hdr is not None, articulation=articulation, edit_scale=scale)
        except Exception:
            check_unchanged(versions)  # a video replaced by one of another size: say so, not "expected planes"
            raise
    comparison = None
    if options.compare:
        with clock("compare"):
            try:
                unchanged = functools.partial(check_unchanged, versions, "the comparison was not written")
                comparison = str(write_comparison(analysis.video, output, plan, progress, options.overwrite, unchanged))
            except OutputError as error:  # the dub is whole and stays: say so (a user tour read it as lost)
                raise OutputError(f"{error}; the dub itself is written: {output}") from None
            except InputError as error:  # the source changed after the dub was in place
                raise InputError(f"{error}; the dub itself is written: {output}") from None

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


def heard(waveform: np.ndarray | None, options: DubOptions, editor: Editor) -> np.ndarray | None:
    """What the model, the quiet rule and the mouth bank read of a speech track: its speech
    alone (media.speech_gate) with `options.speech_gate`; the track itself without it, and
    for an editor that ignores audio (`hears_speech = False`: no detector is loaded)."""
    if waveform is None or not gates(options, editor):
        return waveform
    return speech_only(waveform)


def gates(options: DubOptions, editor: Editor) -> bool:
    """Whether the dub hears both tracks through the speech gate (`heard`); the new speech's
    pauses are then where the gate muted it (`media.loudness.quiet_at`'s `gated`)."""
    return options.speech_gate and getattr(editor, "hears_speech", True)


@dataclass(frozen=True)
class Hearing:
    """Both speech tracks as the dub reads them (`heard`): what `render` and `tune` read
    before editing, none of it from the tracking pass."""

    speech: np.ndarray          # the new speech
    features: object            # the editor's audio features of it (`prepare_audio`)
    source: np.ndarray | None   # the source's own speech, read once for the quiet rule, the mouth
                                # bank and the articulation map; None where none reads it or the video has none
    gated: bool = False         # both are the speech gate's (`gates`): the new speech's pauses are where it muted it


def hear(waveform: np.ndarray, video: Path, editor: Editor, options: DubOptions,
         until_s: float | None = None) -> Hearing:
    """`Hearing` of the new speech `waveform` and of `video`'s own speech up to `until_s` (the
    part of the video analysed: the rules read it at the analysed frames only)."""
    speech = heard(waveform, options, editor)
    reads_source = options.keep_quiet_source or options.mouth_bank != "off" or options.articulation_floor < 1
    source = source_speech(video) if reads_source else None
    if source is not None and until_s is not None:
        source = source[:math.ceil(until_s * SAMPLE_RATE)]
    return Hearing(speech, editor.prepare_audio(speech), heard(source, options, editor), gates(options, editor))


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
               options: DubOptions, gated: bool = False) -> np.ndarray | None:
    """Per output frame, how much of it stays the source because both the new speech and the
    source's own speech (`source`, `Hearing.source`) are silent there (pipeline.quiet); None
    where nothing is kept. `gated`: the new speech is heard through the speech gate (`gates`), so
    its pauses are where the gate muted it; the source's are read by level (`MouthBank.speaking`)."""
    if not options.keep_quiet_source or source is None:
        return None
    fps = float(analysis.info.fps)
    span = 1.0 / fps
    new_quiet = quiet_at(waveform, SAMPLE_RATE, np.arange(len(plan)) / fps, span, gated)
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
    editor reads mouths from audio and the dub wants a bank (`wants_bank`); None otherwise."""
    if not hasattr(editor, "sound_keys") or not wants_bank(analysis, options):
        return None
    return BankCollection(*bank_pass(analysis, editor.region_size, options))


def analysed_and_banked(video: Path, options: DubOptions, progress: Progress, plan: Path | None,
                        until_s: float | None, bank_side: int | None) -> tuple[VideoAnalysis, str | None,
                                                                                   CollectedBank | None]:
    """`analysed`, then, for an editor that reads mouths from crops of side `bank_side`
    (`EditorLoader.bank_side`; None: none), the mouth bank's decoding pass where the dub wants a
    bank (`wants_bank`): the dub runs both passes over the video in its forked process, beside
    the model's load, instead of waiting for the bank's after it (a second on a 10 s clip)."""
    analysis, plan_use = analysed(video, options, progress, plan, until_s)
    if bank_side is None or not wants_bank(analysis, options):
        return analysis, plan_use, None
    clock = StageClock()
    with clock("bank pass"):
        bank = MouthBank.collect(*bank_pass(analysis, bank_side, options))
    return analysis, plan_use, CollectedBank(bank, clock.seconds["bank pass"])


def wants_bank(analysis: VideoAnalysis, options: DubOptions) -> bool:
    """Whether a dub reads the mouth bank: the video has a sound track (its own speech), and the
    dub may lend from it (`DubOptions.mouth_bank`) or read the articulation map
    (`articulation_floor`) from its crops."""
    return analysis.info.has_audio and not (options.mouth_bank == "off" and options.articulation_floor >= 1)


def bank_pass(analysis: VideoAnalysis, side: int, options: DubOptions) -> tuple:
    """`MouthBank.collect`'s arguments for crops of `side` px along the dub's working track."""
    track = working_track(analysis.track, options.region_scale)
    return (analysis.video, track, side, MouthBankConfig().max_frames,
            edit_every(float(analysis.info.fps), options.edit_rate))


def source_mouths(analysis: VideoAnalysis, plan: np.ndarray, editor: Editor, hearing: "Hearing",
                  options: DubOptions, collecting: BankCollection | None) -> tuple[MouthLending | None, np.ndarray | None]:
    """What the source's own mouths give a dub, from the bank's one decoding pass (`collecting`):
    the mouths lent to the output frames (`mouth_lender`) and the articulation map
    (`source_articulation`); each None where it does not apply."""
    lend = mouth_lender(analysis, plan, editor, hearing.speech, hearing.features, hearing.source, options, collecting,
                        hearing.gated)
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
                 collecting: BankCollection | None = None, gated: bool = False) -> MouthLending | None:
    """What the bank lends the output frames: the source mouths the new speech (`waveform`, as
    heard) asks for (pipeline.mouth_bank), in its pauses only or everywhere (`options.mouth_bank`);
    None where the option is off, the editor reads no mouths from audio, the source (`source`:
    its own speech, `Hearing.source`) has no speech to read them from, or the new speech has no
    pause to lend in. `collecting`: the bank's pass already started (`start_bank_collection`);
    `gated`: `waveform` is the speech gate's (`Hearing.gated`), so its pauses are where it is muted."""
    if options.mouth_bank == "off" or not hasattr(editor, "sound_keys") or source is None:
        return None
    fps = float(analysis.info.fps)
    pauses = pause_weights(quiet_at(waveform, SAMPLE_RATE, np.arange(len(plan)) / fps, 1.0 / fps, gated), fps)
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
    donors = bank.donors(editor, source, waveform, features, analysis.frame_times, plan, fps, config, gated)
    if donors is None:
        return None
    return MouthLending(bank, donors, shown, config.max_shift, gain, np.where(pauses >= 0.5, options.pause_reach, 1.0))
