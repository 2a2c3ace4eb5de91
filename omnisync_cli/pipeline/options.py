"""The settings of a dub (`DubOptions`), checked before any work, and the settings a dub's
provenance tag records."""

from dataclasses import asdict, dataclass, field

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.pipeline.editor import Editor
from omnisync_cli.pipeline.timeline import Extend


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


def dub_settings(editor: Editor, options: DubOptions) -> dict:
    """What shapes a dub's output besides its two inputs: the options (less those about the
    output file) and the editor's `settings` (its class name where it has none)."""
    shaping = {k: v for k, v in asdict(options).items() if k not in ("overwrite", "compare")}
    return {"options": shaping, "editor": getattr(editor, "settings", type(editor).__name__)}
