"""Pass 2 of a dub without the encoder (`edit_frames`): the output frames a plan names, each
with its working region edited by the editor in overlapping segments and pasted back."""

from contextlib import closing
from typing import Callable, Iterator

import numpy as np

from omnisync_cli.face.colours import keep_source_colours
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import REGION_SCALE
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.video import VideoReader
from omnisync_cli.media.yuv import Planes
from omnisync_cli.pipeline.analysis import VideoAnalysis, working_track
from omnisync_cli.pipeline.articulation import weigh_edit
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.frames import SourceFrames, prefetch_depth
from omnisync_cli.pipeline.mouth_bank import MouthLending
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.prefetch import Drain, prefetched
from omnisync_cli.pipeline.progress import Progress
from omnisync_cli.pipeline.references import reference_crops
from omnisync_cli.pipeline.segments import SegmentItem, edit_at_cadence
from omnisync_cli.pipeline.window import crop_from_window, paste_into_hdr, paste_into_planes, window_of


def scaled_edit(shown: np.ndarray, edited: np.ndarray, scale: float) -> np.ndarray:
    """The crops `shown` to the editor changed by `scale` times its change (uint8)."""
    if scale >= 1.0:
        return edited
    change = edited.astype(np.float32) - shown
    return np.clip(np.rint(shown + scale * change), 0, 255).astype(np.uint8)


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
