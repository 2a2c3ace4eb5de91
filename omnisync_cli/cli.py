"""The `omnisync` command: thin typed commands that parse, validate, call the library, report.

Every user error is an `OmniSyncError`: printed on one line, exit code 2, nothing left at
the output path.
"""

import dataclasses
import functools
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from omnisync_cli import __version__
from omnisync_cli.errors import ConfigError, InputError, OmniSyncError, OutputError, internal_error
from omnisync_cli.face.config import FaceConfig, parse_mouth, parse_region
from omnisync_cli.flags import TRAIN_STEPS, check_cfg_mode, check_finite, check_flags, shown
from omnisync_cli.pipeline.paths import check_out_folder, check_paths, check_run_folder
from omnisync_cli.pipeline.timeline import Extend
from omnisync_cli.stopping import Stopped, stop_on_signals
from omnisync_cli.terminal import TerminalProgress

# The library (torch, MediaPipe, PyAV, ...) is imported inside the commands that use it, so
# that `omnisync --help` and argument errors answer at once.

class NoFlagPlaceholder:
    """On/off flags (--help included) take no value: no `<bool>` placeholder in help screens."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return params


JSON_ERRORS = "omnisync.json_errors"  # ctx.meta: the command line asked for --json


class Command(NoFlagPlaceholder, TyperCommand):
    """A command whose path arguments and options refuse an empty path."""

    def parse_args(self, ctx, args):
        # --json: a usage error (a flag's bad value, a missing -o) is a JSON object on stdout
        # too, as every other failure is (`dubbing`; a user tour: a script read empty stdout)
        ctx.meta[JSON_ERRORS] = "--json" in args and any(param.name == "json_summary" for param in self.params)
        # The values as typed, before typer turns "" into Path("."), the current folder (a user
        # tour: `synth ""` filled it); parsed a second time only where a value may be empty.
        maybe_empty = any(arg == "" or arg.endswith("=") for arg in args)
        typed = self.make_parser(ctx).parse_args(args=list(args))[0] if maybe_empty else {}
        rest = super().parse_args(ctx, args)
        for param in self.get_params(ctx):
            is_path = any(isinstance(value, PurePath) for value in as_list(ctx.params.get(param.name)))
            if is_path and "" in as_list(typed.get(param.name)):
                raise typer.BadParameter('an empty path; give a path ("." for the current folder)', ctx=ctx,
                                         param=param)
        return rest


def as_list(value) -> list:
    """A parameter's value or values (an argument that takes several is a list or a tuple)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Group(NoFlagPlaceholder, TyperGroup):
    """A wrong or missing argument, option or command is one line and exit code 2, like every
    other user error (click would print the usage and a boxed message)."""

    def make_context(self, info_name, args, parent=None, **extra):
        with one_line_usage_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with one_line_usage_errors():  # the command's own arguments are parsed in here
            return super().invoke(ctx)


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        # click's UsageError, known by name: typer may bring its own copy of click
        names = {kind.__name__ for kind in type(error).__mro__}
        if "UsageError" not in names or "NoArgsIsHelpError" in names:  # bare `omnisync`: help
            raise
        ctx = getattr(error, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        if ctx is not None and ctx.meta.get(JSON_ERRORS):
            print(json.dumps({"error": f"{error.format_message()}{where}", "exit_code": 2}))
        err_console.print(f"error: {error.format_message()}{where}", highlight=False, soft_wrap=True,
                          markup=False)
        raise typer.Exit(2) from None


app = typer.Typer(
    name="omnisync",
    cls=Group,
    help="Mask-free diffusion-transformer video dubbing (OmniSync).\n\n"
         "Example: omnisync dub input.mp4 speech.wav -o out.mp4",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, markup=False, emoji=False)  # paths may hold "[...]" (not markup), ":ok:" (not an emoji)


def show_version(value: bool) -> None:
    if value:
        print(f"omnisync {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Mask-free diffusion-transformer video dubbing (OmniSync)."""


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """(device, inode, modification ns) of the file at `path`, None where there is none: a file
    written in its place since has another."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_mtime_ns


def progress_for(quiet: bool) -> TerminalProgress:
    return TerminalProgress(err_console, quiet=quiet)


def fail(error: OmniSyncError) -> None:
    err_console.print(Text.assemble(("error:", "red"), f" {error}"), highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def dubbing(output: Path, json_summary: bool = False) -> Iterator[None]:
    """Around a command that writes results (a video, a model, a corpus, a run): user errors
    exit 2 with one line; SIGTERM, SIGHUP and Ctrl-C unwind (partial files and temporary
    folders are removed; training first saves a checkpoint) and exit 128 + the signal. With
    `json_summary` (--json) the failure is also a JSON object on stdout, as success is."""
    before = file_identity(output)
    try:
        with stop_on_signals():
            yield
    except OmniSyncError as error:
        if json_summary:
            print(json.dumps({"error": str(error), "exit_code": 2}))
        fail(error)
    except Stopped as stop:
        if output.is_dir():
            what = f"nothing more written to {output}" if any(output.iterdir()) else f"nothing written to {output}"
        elif file_identity(output) not in (None, before):  # the stop came after it was in place (--compare's video next)
            what = f"{output} was written; what was to follow it was not"
        else:
            what = f"{output} was not written"
        if json_summary:
            print(json.dumps({"error": f"stopped by {stop.signal_name}: {what}", "exit_code": stop.code}))
        err_console.print(f"stopped by {stop.signal_name}: {what}", highlight=False, soft_wrap=True)
        raise typer.Exit(stop.code) from None
    except Exception as error:
        if is_click_exit(error) or os.environ.get(TRACEBACK_VARIABLE):
            raise
        # A bug, not the user's doing: one line, as batch-dub says it of an item, and exit 1; the
        # output path holds nothing half-written either way (a user met an ONNX Runtime error's
        # ten-line traceback on a CPU without native bf16).
        message = (f"{internal_error(error)}; this is a bug: please report it with the output of the same "
                   f"command run with {TRACEBACK_VARIABLE}=1")
        if json_summary:
            print(json.dumps({"error": message, "exit_code": 1}))
        err_console.print(Text.assemble(("error:", "red"), f" {message}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


TRACEBACK_VARIABLE = "OMNISYNC_TRACEBACK"  # set: a bug's traceback is shown instead of its one line


def is_click_exit(error: Exception) -> bool:
    """Whether `error` is click's way to end a command (Exit, Abort, a usage error), known by
    name: typer may bring its own copy of click."""
    return bool({"Exit", "Abort", "ClickException"} & {kind.__name__ for kind in type(error).__mro__})


def entries(folder: Path) -> dict[str, int]:
    """The names in `folder` and their modification times: what a command changed there."""
    return {path.name: path.lstat().st_mtime_ns for path in folder.iterdir()} if folder.is_dir() else {}


@contextmanager
def nothing_half_written(folder: Path) -> Iterator[None]:
    """Around a command that fills `folder` with a corpus, inside `dubbing`: where it fails or is
    stopped, what it wrote goes where the folder was new (with the folders made above it) or
    empty (left empty), so no half-written corpus is left; a folder that held files before is
    left as it is, and a warning says that a part of a corpus was written into it."""
    made = next((path for path in reversed([folder, *folder.parents]) if not path.exists()), None)
    before = entries(folder)
    try:
        yield
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        elif not before:
            for path in folder.iterdir() if folder.is_dir() else ():
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        elif entries(folder) != before:
            err_console.print(f"warning: {folder} held files before, so it is left as it is, with the part of a "
                              "corpus written into it (no index.json: not a corpus)", highlight=False, soft_wrap=True)
        raise




# Options shared by `dub` and `batch-dub`: typer reads them from the signature, so they are
# declared once here and spelled out in both commands. `--help` shows them in these panels.
IO, LENGTH, FACE, MODEL, GUIDANCE, DEVICE = ("Input and output", "Length", "Face", "Model and sampling",
                                             "Guidance", "Device")
WeightsOpt = Annotated[Optional[Path], typer.Option("--weights", help="Model directory (config.json + model.safetensors); default: the bundled model.", rich_help_panel=MODEL)]
TauOpt = Annotated[float, typer.Option(help="Progressive-init noise level: edit from the noised source at tau (paper 0.92; 1 = from pure noise).", rich_help_panel=MODEL)]
StepsOpt = Annotated[int, typer.Option(help="Sampler steps actually run, from tau down to 0.", rich_help_panel=MODEL)]
CfgModeOpt = Annotated[str, typer.Option(help="Guidance: ds (dynamic spatiotemporal), static (one scale), none.", rich_help_panel=GUIDANCE)]
CfgPeakOpt = Annotated[float, typer.Option(help="Guidance scale at the mouth centre (and the static scale).", rich_help_panel=GUIDANCE)]
CfgSilencePeakOpt = Annotated[Optional[float], typer.Option(help="DS-CFG peak on frames where the new speech is silent, to close the mouth there (e.g. 4: measured to close it partly at about -0.25 dB mouth PSNR; default: --cfg-peak everywhere).", rich_help_panel=GUIDANCE)]
CfgBaseOpt = Annotated[float, typer.Option(help="Guidance scale far from the mouth.", rich_help_panel=GUIDANCE)]
CfgSigmaOpt = Annotated[float, typer.Option(help="Spread of the mouth Gaussian, fraction of the region side.", rich_help_panel=GUIDANCE)]
CfgGammaOpt = Annotated[float, typer.Option(help="Decay of guidance over the noise level (paper 1.5).", rich_help_panel=GUIDANCE)]
PromptOpt = Annotated[str, typer.Option(help='Speaking style, e.g. "speaking loudly with clear teeth".', rich_help_panel=MODEL)]
SeedOpt = Annotated[int, typer.Option(help="Noise seed (same seed, same output).", rich_help_panel=MODEL)]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.", rich_help_panel=DEVICE)]
DtypeOpt = Annotated[str, typer.Option(help="auto (fp16 on CUDA; on the CPU bf16 where it has native bf16, else fp32), fp32, fp16 or bf16 (on a CPU without native bf16, AMX or AVX-512 BF16, bf16 is emulated and a few times slower than fp32).", rich_help_panel=DEVICE)]
RuntimeOpt = Annotated[str, typer.Option(help="What runs the network: auto (ONNX Runtime with int8 weights for fp32 on the CPU, else torch), torch, onnx (fp32) or onnx-int8.", rich_help_panel=DEVICE)]
ExtendOpt = Annotated[Extend, typer.Option(help="How a video shorter than the audio is extended.", rich_help_panel=LENGTH)]
FaceIndexOpt = Annotated[int, typer.Option(help="Which face to dub, 0 = largest.", rich_help_panel=FACE)]
LandmarkerOpt = Annotated[Optional[Path], typer.Option(help="MediaPipe Tasks face_landmarker.task to use instead of the built-in face mesh.", rich_help_panel=FACE)]
MouthOpt = Annotated[Optional[str], typer.Option(help="Mouth centre X,Y in pixels (skips face detection); with --region, where in that region the mouth is (the guidance centres on it; the region is what is edited).", rich_help_panel=FACE)]
RegionOpt = Annotated[Optional[str], typer.Option(help="Working region X,Y,W,H in pixels (skips face detection).", rich_help_panel=FACE)]
CentreFallbackOpt = Annotated[bool, typer.Option("--centre-fallback", help="Where no mouth is found at all, edit the frame centre instead of stopping.", rich_help_panel=FACE)]
FeatherOpt = Annotated[float, typer.Option(help="Width of the soft paste edge, fraction of the region.", rich_help_panel=FACE)]
CrfOpt = Annotated[Optional[int], typer.Option(help="H.264 quality, 0-51, lower is better (default 9 at x264 preset ultrafast: near-transparent and fast; 18-23 for smaller files).", rich_help_panel=IO)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", rich_help_panel=IO, help="Replace existing output files.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel=IO, help="No progress output (warnings and errors still print).")]
AudioGateOpt = Annotated[bool, typer.Option("--audio-gate", rich_help_panel=MODEL, help="Keep only the part of the edit where the audio changed the model's prediction; elsewhere the source (a gentler edit: about half the change).")]
AnyColoursOpt = Annotated[bool, typer.Option("--any-colours", rich_help_panel=MODEL, help="Let the edit bring hues the source region lacks, and change colour away from the mouth (default: held to the source's own colours, its colour change fading with the distance from the mouth).")]
NoSelfTestOpt = Annotated[bool, typer.Option("--no-self-test", rich_help_panel=MODEL, help="Show the model's whole edit even where its own test on the video's speech says part of it does harm to this character's mouth (default: only the share that does no harm there; none where any share harms).")]
EditPausesOpt = Annotated[bool, typer.Option("--edit-pauses", rich_help_panel=MODEL, help="Re-render the mouth also where the new speech and the video's own speech are both silent (default: the source frame is kept there).")]
HearEverythingOpt = Annotated[bool, typer.Option("--hear-everything", rich_help_panel=MODEL, help="Let the model and the pause rule hear the whole speech tracks, music and noise included (default: only what a voice detector calls speech; the audio written is never changed).")]
PauseReachOpt = Annotated[float, typer.Option("--pause-reach", rich_help_panel=MODEL, help="In the new speech's pauses, the character's own closed mouth lent there reaches this many times the usual mouth area and is pasted whole, so that a mouth wide for its face closes entirely. 1: pauses are pasted like speech.")]
MinFaceOpt = Annotated[float, typer.Option("--min-face", rich_help_panel=MODEL, help="Faces narrower than this many pixels keep the source (a mouth of a few pixels only gets smeared); the edit fades in from 0.75x this width. 0: dub every face. --region and --mouth are always dubbed.")]
EditRateOpt = Annotated[float, typer.Option("--edit-rate", rich_help_panel=MODEL, help="On videos at twice this rate or faster, the network edits every k-th frame (at least this many a second) and the frames between take their neighbours' edits blended: a 60 fps video costs half the model time at the same measured quality. 0: edit every frame.")]
MouthBankOpt = Annotated[str, typer.Option("--mouth-bank", rich_help_panel=MODEL, help="Where the model is shown, at each frame, the mouth of the video's own frame whose speech sounds most like the new speech: auto (everywhere where the video's own speech tells its mouths apart, tested on the video itself; in the pauses otherwise), pauses (in the new speech's pauses, where the video's speaker may still be talking: the mouth closes there), everywhere, or off. Needs speech in the video.")]
AdaptSecondsOpt = Annotated[float, typer.Option("--adapt-seconds", rich_help_panel=MODEL, help="Adaptation: training time budget in seconds.")]
AdaptStepsOpt = Annotated[int, typer.Option("--adapt-steps", rich_help_panel=MODEL, help="Adaptation: a fixed number of training steps instead of the time budget (0: use the budget).")]
PassthroughOpt = Annotated[bool, typer.Option("--passthrough", rich_help_panel=MODEL, help="Skip the model: only the length rules, re-encode and new audio.")]


# The sampler's flags: typed beside --passthrough, they would do nothing.
# tune's default grid: rows of tau, columns of DS-CFG peak (the defaults' 0.92 and 1.25 among them)
TUNE_TAUS, TUNE_PEAKS = "0.85,0.92,1.0", "1.25,2,4"
SAMPLER_FLAGS = ("tau", "steps", "cfg_mode", "cfg_peak", "cfg_silence_peak", "cfg_base", "cfg_sigma", "cfg_gamma",
                 "seed", "device", "dtype", "runtime", "audio_gate")


def typed_flags(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """Of the command's parameters `names`, those given on the command line (or by an
    environment variable), not left at their defaults."""
    sources = {name: ctx.get_parameter_source(name) for name in names}
    # by name: typer may bring its own copy of click, with its own ParameterSource
    return [name for name, source in sources.items() if source is not None
            and source.name in ("COMMANDLINE", "ENVIRONMENT")]


def check_passthrough(ctx: typer.Context, passthrough: bool, **model_flags) -> None:
    """A pass-through dub runs no model: a model flag given with it is a mistake to say, not
    to ignore (a user tour: `--passthrough --weights missing-folder` ran without a word; a later
    one: `--passthrough --tau 0.5`)."""
    named = [name for name, value in model_flags.items() if value] + (typed_flags(ctx, SAMPLER_FLAGS) if passthrough else [])
    given = [f"--{name.replace('_', '-')}" for name in named]
    if passthrough and given:
        raise ConfigError(f"--passthrough runs no model, so {', '.join(given)} would do nothing; drop one of them")


def build_editor(passthrough: bool, weights: Optional[Path], sampler, prompt: str):
    from omnisync_cli.pipeline.editor import PassthroughEditor, load_editor
    if passthrough:
        return PassthroughEditor()
    return load_editor(weights, sampler, prompt)


def check_sampler_flags(tau, steps, cfg_mode, cfg_peak, cfg_base, cfg_sigma, cfg_gamma, seed, silence_peak=None,
                        **unchecked):
    """`build_sampler`'s flags checked without building anything (no torch import); `unchecked`:
    the rest of its flags (device, dtype, ...), checked when the sampler is built."""
    check_flags(tau=tau, steps=steps, cfg_peak=cfg_peak, cfg_base=cfg_base, cfg_sigma=cfg_sigma,
                cfg_gamma=cfg_gamma, seed=seed, cfg_silence_peak=silence_peak)
    check_cfg_mode(cfg_mode)


def model_editor(weights: Optional[Path], prompt: str, sampler_flags: dict):
    """The model's editor with `build_sampler(**sampler_flags)`; `omnisync dub` has the dub load
    it while the tracking pass runs (pipeline.editor.EditorLoader)."""
    return build_editor(False, weights, build_sampler(**sampler_flags), prompt)


def build_sampler(tau, steps, cfg_mode, cfg_peak, cfg_base, cfg_sigma, cfg_gamma, seed, device, dtype,
                  audio_gate=False, passthrough=False, silence_peak=None, runtime="auto"):
    """The sampler settings, flags checked; None for a pass-through dub, which then never
    imports torch (about 1.5-3 s of its start-up)."""
    check_sampler_flags(tau, steps, cfg_mode, cfg_peak, cfg_base, cfg_sigma, cfg_gamma, seed, silence_peak)
    if passthrough:
        return None
    from omnisync_cli.guidance.dscfg import GuidanceConfig
    from omnisync_cli.model.editor import SamplerConfig
    guidance = GuidanceConfig(mode=cfg_mode, w_peak=cfg_peak, w_base=cfg_base, s=cfg_sigma, gamma=cfg_gamma)
    return SamplerConfig(tau=tau, steps=steps, seed=seed, guidance=guidance, device=device, dtype=dtype,
                         audio_gate=audio_gate, silence_peak=silence_peak, runtime=runtime)


def build_adapt_config(seconds: float, steps: int, hear_everything: bool = False):
    from omnisync_cli.pipeline.adapt import AdaptConfig
    check_flags(adapt_seconds=seconds, adapt_steps=steps)
    return AdaptConfig(seconds=seconds, steps=steps, speech_gate=not hear_everything)


def build_options(extend, face_index, landmarker, mouth, region, feather, crf, overwrite, centre_fallback=False,
                  any_colours=False, edit_pauses=False, mouth_bank="auto", hear_everything=False, min_face=0.0,
                  edit_rate=24.0, pause_reach=1.15, self_test=True):
    from omnisync_cli.pipeline.options import DubOptions, check_options
    check_flags(face_index=face_index, feather=feather, crf=crf)
    mouth_xy = parse_mouth(mouth) if mouth else None
    box = parse_region(region) if region else None
    for flag, values in (("--mouth", mouth_xy), ("--region", box)):
        if values is not None:
            check_finite(flag, values)
    face = FaceConfig(face_index=face_index, landmarker=landmarker, mouth=mouth_xy, region=box,
                      centre_fallback=centre_fallback)
    options = DubOptions(extend=extend, face=face, feather=feather, crf=crf, overwrite=overwrite,
                         keep_colours=not any_colours, keep_quiet_source=not edit_pauses, mouth_bank=mouth_bank,
                         speech_gate=not hear_everything, min_face_px=min_face, edit_rate=edit_rate,
                         pause_reach=pause_reach, self_test=self_test)
    check_options(options)  # before any model loads
    return options


@app.command(cls=Command)
def dub(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video (or still image, held for the speech's length) whose speaker gets the new speech.")],
    audio: Annotated[Path, typer.Argument(help="New speech: wav, flac, mp3, m4a, or a video's audio track.")],
    output: Annotated[Path, typer.Option("-o", "--output", rich_help_panel=IO, help="Output MP4 (never one of the inputs).")],
    weights: WeightsOpt = None, tau: TauOpt = 0.92, steps: StepsOpt = 1,
    cfg_mode: CfgModeOpt = "ds", cfg_peak: CfgPeakOpt = 1.25, cfg_silence_peak: CfgSilencePeakOpt = None,
    cfg_base: CfgBaseOpt = 1.0,
    cfg_sigma: CfgSigmaOpt = 0.15, cfg_gamma: CfgGammaOpt = 1.5, prompt: PromptOpt = "",
    seed: SeedOpt = 0, device: DeviceOpt = "auto", dtype: DtypeOpt = "auto", runtime: RuntimeOpt = "auto",
    extend: ExtendOpt = Extend.pingpong, face_index: FaceIndexOpt = 0,
    landmarker: LandmarkerOpt = None, mouth: MouthOpt = None, region: RegionOpt = None,
    centre_fallback: CentreFallbackOpt = False, any_colours: AnyColoursOpt = False,
    edit_pauses: EditPausesOpt = False, mouth_bank: MouthBankOpt = "auto", hear_everything: HearEverythingOpt = False,
    min_face: MinFaceOpt = 0.0, edit_rate: EditRateOpt = 24.0, pause_reach: PauseReachOpt = 1.15,
    no_self_test: NoSelfTestOpt = False,
    audio_gate: AudioGateOpt = False,
    feather: FeatherOpt = 0.2, crf: CrfOpt = None, overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_summary: Annotated[bool, typer.Option("--json", rich_help_panel=IO, help="Print a JSON summary on stdout.")] = False,
    compare: Annotated[bool, typer.Option("--compare", rich_help_panel=IO, help="Also write <output name>.compare.<its extension>: source | dubbed side by side, with the speech.")] = False,
    passthrough: PassthroughOpt = False,
    plan: Annotated[Optional[Path], typer.Option("--plan", rich_help_panel=IO, help="Analysis cache file (e.g. in.plan.npz): read when it was made for this video and face flags, written otherwise; a re-dub with new speech then skips tracking.")] = None,
    adapt: Annotated[bool, typer.Option("--adapt", rich_help_panel=MODEL, help="First fine-tune a copy of the model on the video's own speech (about 2 min), keep it only if it validates better.")] = False,
    adapt_seconds: AdaptSecondsOpt = 120.0, adapt_steps: AdaptStepsOpt = 0,
) -> None:
    """Re-render the mouth in VIDEO to follow AUDIO and write the result to -o.

    Examples:

      omnisync dub input.mp4 speech.wav -o out.mp4

      omnisync dub in.mp4 speech.wav -o out.mp4 --tau 0.92 --cfg-peak 4 --prompt "speaking loudly, clear teeth"

      omnisync dub clip.mov voice.m4a -o out.mp4 --extend loop --face-index 1

      omnisync dub in.mp4 take2.wav -o take2.mp4 --plan in.plan.npz
    """
    from omnisync_cli.pipeline.dub import dub as run_dub
    progress = progress_for(quiet or json_summary)
    with dubbing(output, json_summary):
        options = build_options(extend, face_index, landmarker, mouth, region, feather, crf, overwrite, centre_fallback,
                                any_colours, edit_pauses, mouth_bank, hear_everything, min_face,
                                edit_rate, pause_reach, not no_self_test)
        options = dataclasses.replace(options, compare=compare)
        sampler_flags = dict(tau=tau, steps=steps, cfg_mode=cfg_mode, cfg_peak=cfg_peak, cfg_base=cfg_base,
                             cfg_sigma=cfg_sigma, cfg_gamma=cfg_gamma, seed=seed, device=device, dtype=dtype,
                             audio_gate=audio_gate, silence_peak=cfg_silence_peak, runtime=runtime)
        check_sampler_flags(**sampler_flags)
        check_paths(video, audio, output, overwrite)  # before the model loads: fail fast
        if plan is not None and adapt:
            raise ConfigError("--plan and --adapt do not combine yet; use one of them")
        if not adapt and (adapt_seconds != 120.0 or adapt_steps != 0):
            raise ConfigError("--adapt-seconds and --adapt-steps set the --adapt budget; add --adapt (or drop them)")
        check_passthrough(ctx, passthrough, weights=weights, prompt=prompt, adapt=adapt)
        adapted = None
        if adapt and not passthrough:
            from omnisync_cli.pipeline.adapt import dub_adapted
            from omnisync_cli.pipeline.editor import default_weights_dir
            config = build_adapt_config(adapt_seconds, adapt_steps, hear_everything)
            report, adapted = dub_adapted(video, audio, output, weights or default_weights_dir(),
                                          build_sampler(**sampler_flags), prompt, config, options, progress)
        else:
            from omnisync_cli.model.config import check_weights_dir
            from omnisync_cli.pipeline.editor import EditorLoader, PassthroughEditor, default_weights_dir
            if passthrough:
                editor = PassthroughEditor()
            else:  # a missing or damaged folder: told before anything runs
                config = check_weights_dir(weights or default_weights_dir())
                editor = EditorLoader(functools.partial(model_editor, weights, prompt, sampler_flags),
                                      bank_side=config.region_size)
            report = run_dub(video, audio, output, editor, options, progress, plan)
    if json_summary:
        summary = report.to_dict()
        if adapted is not None:
            summary["adaptation"] = adapted.to_dict()
        print(json.dumps(summary, indent=2))
    elif not quiet:
        if adapted is not None:
            progress.line(adapted.notice)
        progress.line(f"wrote {report.output}: {report.output_frames} frames at {report.fps:g} fps, "
                      f"{report.audio_seconds:.2f} s; {report.track_summary}")
        if report.comparison:
            progress.line(f"wrote {report.comparison}: source | dubbed")


@app.command(cls=Command, name="adapt")
def adapt_command(
    video: Annotated[Path, typer.Argument(help="Video whose own speech teaches the model this character.")],
    output: Annotated[Path, typer.Option("-o", "--output", rich_help_panel=IO, help="Folder for the adapted model (config.json, model.safetensors, README.md card).")],
    weights: WeightsOpt = None, adapt_seconds: AdaptSecondsOpt = 120.0, adapt_steps: AdaptStepsOpt = 0,
    seed: SeedOpt = 0, device: DeviceOpt = "auto",
    face_index: FaceIndexOpt = 0, landmarker: LandmarkerOpt = None, mouth: MouthOpt = None,
    region: RegionOpt = None, centre_fallback: CentreFallbackOpt = False, hear_everything: HearEverythingOpt = False,
    overwrite: OverwriteOpt = False, quiet: QuietOpt = False,
    json_summary: Annotated[bool, typer.Option("--json", rich_help_panel=IO, help="Print a JSON summary on stdout.")] = False,
) -> None:
    """Fine-tune a copy of the model on VIDEO's own speech and write it to -o for reuse.

    The last fifth of the speech is held out: the adapted model is kept only if it syncs better there than the base model (otherwise -o gets the base model and the card says why).

    Example: omnisync adapt speaker.mp4 -o speaker/ && omnisync dub speaker.mp4 new.wav -o out.mp4 --weights speaker/
    """
    from omnisync_cli.pipeline.adapt import adapt as run_adapt, adapting_folder, check_adapt_output, check_base_weights
    from omnisync_cli.pipeline.analysis import analyse
    from omnisync_cli.pipeline.editor import default_weights_dir
    progress = progress_for(quiet or json_summary)
    with dubbing(output, json_summary):  # --json: a failure is a JSON object on stdout too, as dub's
        if not video.is_file():
            raise InputError(f"{video}: no such video file")
        weights = weights or default_weights_dir()
        check_adapt_output(output, video, overwrite, weights)
        check_base_weights(weights)  # before the video is tracked
        output = output.resolve()  # "-o ." has no name to put the partial folder beside
        config = build_adapt_config(adapt_seconds, adapt_steps, hear_everything)
        options = build_options(Extend.pingpong, face_index, landmarker, mouth, region, 0.2, None, overwrite,
                                centre_fallback, hear_everything=hear_everything)
        sampler = build_sampler(0.92, 2, "ds", 2.0, 1.0, 0.15, 1.5, seed, device, "auto")
        # Written beside the output and renamed into place: never a half-written model at -o.
        with adapting_folder(output) as partial:
            report = run_adapt(analyse(video, options, progress), weights, partial, config, sampler, progress)
            if output.exists():  # check_adapt_output: only a model folder, holding nothing else
                if not overwrite:  # a user tour: a folder made at -o while this ran was deleted
                    raise OutputError(f"{output}: a folder of this name appeared while this model was adapted; "
                                      "it was kept, and this model discarded (pass --overwrite to replace it, or "
                                      "choose another name)")
                check_adapt_output(output, video, overwrite, weights)  # what it holds now
                shutil.rmtree(output)
            try:
                partial.rename(output)
            except OSError:  # another run's folder got there first
                raise OutputError(f"{output}: a folder of this name appeared while this model was adapted; it was "
                                  "kept, and this model discarded (choose another name)") from None
            report.weights = str(output)
    if json_summary:
        print(json.dumps(report.to_dict(), indent=2))
    elif not quiet:
        progress.line(f"{report.notice}; wrote {report.weights}")


@app.command(cls=Command)
def tune(
    video: Annotated[Path, typer.Argument(help="Video to preview.")],
    audio: Annotated[Path, typer.Argument(help="New speech.")],
    output: Annotated[Path, typer.Option("-o", "--output", rich_help_panel=IO, help="Grid MP4 to write.")] = Path("tune.mp4"),
    taus: Annotated[str, typer.Option("--tau", rich_help_panel=MODEL, help="Comma-separated tau values (grid rows).")] = TUNE_TAUS,
    peaks: Annotated[str, typer.Option("--cfg-peak", rich_help_panel=GUIDANCE, help="Comma-separated CFG peaks (grid columns).")] = TUNE_PEAKS,
    seconds: Annotated[float, typer.Option(rich_help_panel=LENGTH, help="Preview length from the start of the speech.")] = 3.0,
    weights: WeightsOpt = None, steps: StepsOpt = 1,
    cfg_mode: CfgModeOpt = "ds", cfg_base: CfgBaseOpt = 1.0, cfg_sigma: CfgSigmaOpt = 0.15,
    cfg_gamma: CfgGammaOpt = 1.5, prompt: PromptOpt = "", seed: SeedOpt = 0,
    device: DeviceOpt = "auto", dtype: DtypeOpt = "auto", runtime: RuntimeOpt = "auto",
    face_index: FaceIndexOpt = 0, landmarker: LandmarkerOpt = None, mouth: MouthOpt = None,
    region: RegionOpt = None,
    centre_fallback: CentreFallbackOpt = False, overwrite: OverwriteOpt = False, quiet: QuietOpt = False,
    any_colours: AnyColoursOpt = False, edit_pauses: EditPausesOpt = False, mouth_bank: MouthBankOpt = "auto",
    hear_everything: HearEverythingOpt = False, min_face: MinFaceOpt = 0.0, edit_rate: EditRateOpt = 24.0,
    pause_reach: PauseReachOpt = 1.15, no_self_test: NoSelfTestOpt = False,
) -> None:
    """Dub a short preview with every tau x CFG-peak combination and tile them into one video.

    Example: omnisync tune in.mp4 speech.wav --tau 0.85,0.92,1.0 --cfg-peak 2,4,6 -o grid.mp4
    """
    from omnisync_cli.pipeline.editor import load_editor
    from omnisync_cli.pipeline.tune import TuneGrid
    from omnisync_cli.pipeline.tune import tune as run_tune
    with dubbing(output):
        check_flags(seconds=seconds)
        grid = TuneGrid(taus=parse_list(taus, "--tau", TUNE_TAUS),
                        cfg_peaks=parse_list(peaks, "--cfg-peak", TUNE_PEAKS), seconds=seconds)
        for tau in grid.taus:
            check_flags(tau=tau)
        for peak in grid.cfg_peaks:
            check_flags(cfg_peak=peak)
        options = build_options(Extend.pingpong, face_index, landmarker, mouth, region, 0.2, None, overwrite,
                                centre_fallback, any_colours, edit_pauses, mouth_bank, hear_everything, min_face,
                                edit_rate, pause_reach, not no_self_test)
        sampler = build_sampler(grid.taus[0], steps, cfg_mode, grid.cfg_peaks[0], cfg_base, cfg_sigma,
                                cfg_gamma, seed, device, dtype, runtime=runtime)
        check_paths(video, audio, output, overwrite)
        model = load_editor(weights, sampler, prompt)
        run_tune(video, audio, output, lambda cell: model.with_sampler(cell), sampler, grid, options,
                 progress_for(quiet))
    if not quiet:
        err_console.print(f"wrote {output}: rows tau {','.join(f'{t:g}' for t in grid.taus)}, "
                          f"columns cfg peak {','.join(f'{p:g}' for p in grid.cfg_peaks)}")


def parse_list(text: str, flag: str, example: str) -> tuple[float, ...]:
    """Comma-separated numbers; a value given twice is kept once, where it first stands."""
    try:
        return tuple(dict.fromkeys(float(v) for v in text.split(",")))
    except ValueError:
        raise ConfigError(f"{flag} takes comma-separated numbers such as {example}, got {text!r}") from None


@app.command("batch-dub", cls=Command)
def batch_dub(
    ctx: typer.Context,
    videos: Annotated[Optional[Path], typer.Argument(help="Folder of videos and still images (or give --manifest).", show_default=False)] = None,
    audio: Annotated[Optional[Path], typer.Option("--audio", rich_help_panel=IO, help="Folder of speech files named like the videos, or one speech file for all (with --manifest: for items without their own).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", rich_help_panel=IO, help="Output folder: one <video name>.mp4 each, and batch-report.json.")] = ...,
    manifest: Annotated[Optional[Path], typer.Option(rich_help_panel=IO, help="CSV or JSON list of items: video, audio, output name, and per-item extend, face_index, mouth, region, feather, crf.")] = None,
    shard: Annotated[str, typer.Option(rich_help_panel=IO, help="i/n: dub every n-th video from the i-th (cluster jobs, torchrun ranks).")] = "0/1",
    jobs: Annotated[int, typer.Option(rich_help_panel=DEVICE, help="Processes dubbing at once, each loading the model once.")] = 1,
    weights: WeightsOpt = None, tau: TauOpt = 0.92, steps: StepsOpt = 1,
    cfg_mode: CfgModeOpt = "ds", cfg_peak: CfgPeakOpt = 1.25, cfg_silence_peak: CfgSilencePeakOpt = None,
    cfg_base: CfgBaseOpt = 1.0,
    cfg_sigma: CfgSigmaOpt = 0.15, cfg_gamma: CfgGammaOpt = 1.5, prompt: PromptOpt = "",
    seed: SeedOpt = 0, device: DeviceOpt = "auto", dtype: DtypeOpt = "auto", runtime: RuntimeOpt = "auto",
    extend: ExtendOpt = Extend.pingpong, face_index: FaceIndexOpt = 0,
    landmarker: LandmarkerOpt = None, mouth: MouthOpt = None, region: RegionOpt = None,
    centre_fallback: CentreFallbackOpt = False, any_colours: AnyColoursOpt = False,
    edit_pauses: EditPausesOpt = False, mouth_bank: MouthBankOpt = "auto", hear_everything: HearEverythingOpt = False,
    min_face: MinFaceOpt = 0.0, edit_rate: EditRateOpt = 24.0, pause_reach: PauseReachOpt = 1.15,
    no_self_test: NoSelfTestOpt = False,
    audio_gate: AudioGateOpt = False,
    feather: FeatherOpt = 0.2, crf: CrfOpt = None, overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False, passthrough: PassthroughOpt = False,
    json_summary: Annotated[bool, typer.Option("--json", rich_help_panel=IO, help="Print the batch report on stdout: as written to the output folder, plus its path (\"report\").")] = False,
) -> None:
    """Dub every video in VIDEOS (or every item of --manifest) with one model load; finished
    outputs are verified and skipped, so a rerun resumes. A JSON report goes to the output folder.

    Examples:

      omnisync batch-dub ./videos --audio ./speech -o ./dubbed --shard 0/4

      omnisync batch-dub --manifest jobs.csv -o ./dubbed
    """
    from omnisync_cli.pipeline.batch import batch_dub as run_batch_dub
    from omnisync_cli.pipeline.batch import batch_dub_jobs, check_batch, parse_shard, report_path
    from omnisync_cli.media.audio import load_speech
    from omnisync_cli.pipeline.manifest import items_from_folder, items_from_manifest
    progress = progress_for(quiet or json_summary)
    with dubbing(output, json_summary):
        if (videos is None) == (manifest is None):
            raise ConfigError("give a VIDEOS folder or --manifest (one of them)")
        if manifest is not None:
            items = items_from_manifest(manifest, default_audio=audio)
        elif audio is None:
            raise ConfigError("--audio is needed with a VIDEOS folder: a folder of speech files or one file")
        else:
            items = items_from_folder(videos, audio)
        if audio is not None and audio.is_file():
            load_speech(audio)  # one speech file for every item: a bad one is one error, not N failures
        options = build_options(extend, face_index, landmarker, mouth, region, feather, crf, overwrite, centre_fallback,
                                any_colours, edit_pauses, mouth_bank, hear_everything, min_face,
                                edit_rate, pause_reach, not no_self_test)
        sampler = build_sampler(tau, steps, cfg_mode, cfg_peak, cfg_base, cfg_sigma, cfg_gamma, seed,
                                device, dtype, audio_gate=audio_gate, passthrough=passthrough,
                                silence_peak=cfg_silence_peak, runtime=runtime)
        shard_range = parse_shard(shard)
        check_flags(jobs=jobs)
        check_passthrough(ctx, passthrough, weights=weights, prompt=prompt)
        reports = (report_path(output, shard_range),
                   *(report_path(output, shard_range, (j, jobs)) for j in range(jobs) if jobs > 1))
        check_batch(items, output, audio if videos is not None and audio.is_dir() else None,
                    reports)  # before the model loads
        if jobs > 1:
            report = batch_dub_jobs(items, output, functools.partial(build_editor, passthrough, weights, sampler, prompt),
                                    options, shard_range, jobs, functools.partial(progress_for, quiet or json_summary))
        else:
            editor = build_editor(passthrough, weights, sampler, prompt)
            report = run_batch_dub(items, output, editor, options, shard_range, progress)
    if json_summary:
        print(json.dumps({**report.to_dict(), "report": str(report_path(output, shard_range))}, indent=2))
    failed = report.with_status("failed")  # per item: a manifest may dub one video twice
    videos = [item.video for item in failed]
    for item in failed:  # most reasons name the file already
        reason = item.error or ""
        line = reason if reason.startswith(item.video) else f"{item.video}: {reason}"
        # a video that failed under several outputs (a manifest's languages): which one
        progress.line(f"failed: {line}" + (f" (output {item.output})" if videos.count(item.video) > 1 else ""))
    pending = report.with_status("pending")  # a --jobs process died before them
    progress.line(f"{len(report.done)} dubbed, {len(report.skipped)} already done (verified), "
                  f"{len(failed)} failed{f', {len(pending)} not reached' if pending else ''}; "
                  f"report: {report_path(output, shard_range)}")
    if failed:
        raise typer.Exit(1)


@app.command(cls=Command)
def synth(
    out: Annotated[Path, typer.Argument(help="Folder for the corpus (must not hold one yet).")],
    preset: Annotated[str, typer.Option(help="Corpus preset: default, tiny (tests) or silence (benchmark clips only, built to measure the mouth in pauses: clear speech, a 1-2.5 s pause in every utterance).")] = "default",
    seed: Annotated[int, typer.Option(help="Everything is drawn from this seed.")] = 0,
    identities: Annotated[Optional[int], typer.Option(help="Training characters (overrides the preset).")] = None,
    workers: Annotated[int, typer.Option(help="Parallel processes (the output does not depend on it).")] = 1,
    clip_seconds: Annotated[Optional[float], typer.Option(help="Length of every clip (overrides the preset; long sources for `bench/adapt.py`).")] = None,
    region_offset: Annotated[float, typer.Option(help="Training crops sit up to this far off the mouth (face widths), as a tracker's lasting error.")] = 0.0,
    bench_speech: Annotated[str, typer.Option(help="The benchmark's new speech: espeak (synthesized) or recorded (a person: Debian's Asterisk prompts, force-aligned with pocketsphinx); same sources either way.")] = "espeak",
    keep_style_share: Annotated[float, typer.Option(help="Share of training clips whose renderings keep one speaking style (articulation level), as the benchmark's do; 0: each rendering draws its own.")] = 0.0,
    wide_mouth_share: Annotated[float, typer.Option(help="Share of characters (training and benchmark) whose mouth spans 0.4-0.9 of the head's width (a frog, a hippo).")] = 0.0,
    quiet: QuietOpt = False,
) -> None:
    """Generate the synthetic talking-character corpus (training shards + held-out benchmark).

    Example: omnisync synth corpus/ --preset default --workers 2
    """
    from omnisync_cli.data.corpus import PRESETS as CORPUS_PRESETS
    from omnisync_cli.data.corpus import build_corpus
    with dubbing(out), nothing_half_written(out):
        check_flags(identities=identities, workers=workers, seed=seed)
        check_out_folder(out, "the folder")
        if preset not in CORPUS_PRESETS:
            raise ConfigError(f"--preset must be one of {sorted(CORPUS_PRESETS)}, got {preset!r}")
        overrides = dict(seed=seed, workers=workers, region_offset=region_offset, bench_speech=bench_speech,
                         keep_style_share=keep_style_share, wide_mouth_share=wide_mouth_share)
        if identities is not None:
            overrides["identities"] = identities
        if clip_seconds is not None:
            overrides["clip_seconds"] = clip_seconds
        config = dataclasses.replace(CORPUS_PRESETS[preset], **overrides)
        config.validate()
        with progress_for(quiet).stage("rendering clips", None) as advance:
            index = build_corpus(out, config, progress=lambda done, total: advance(1))
    if not quiet:
        err_console.print(f"wrote corpus to {out}: {json.dumps({k: v for k, v in index.items() if isinstance(v, (int, float, str))})}")


@app.command(cls=Command, name="train-localiser")
def train_localiser_command(
    out: Annotated[Path, typer.Option("--out", help="Run folder: the localiser's weights, config, log and checkpoint. An existing run resumes.")] = Path("runs/localiser"),
    samples: Annotated[int, typer.Option(help="Corpus-v2 frames rendered to train on.")] = 6000,
    steps: Annotated[int, typer.Option(help="Optimizer steps in total (raise it to extend a finished run).")] = 2500,
    batch_size: Annotated[int, typer.Option(help="Frames per step.")] = 24,
    workers: Annotated[int, typer.Option(help="Processes rendering the frames.")] = 2,
    threads: Annotated[int, typer.Option(help="torch threads for training (0: the library default).")] = 2,
    lr: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 2e-3,
    init_from: Annotated[Optional[Path], typer.Option(help="Fine-tune these localiser weights instead of starting fresh.")] = None,
    captions: Annotated[float, typer.Option(help="Share of frames with burned-in text (subtitles, captions, timecodes), never over a mouth.")] = 0.0,
    wide_mouths: Annotated[float, typer.Option(help="Share of characters whose mouth spans 0.4-0.9 of the head's width (a frog, a hippo).")] = 0.0,
    slit_eyes: Annotated[float, typer.Option(help="Share of characters with slit-pupil eyes (a frog's), the eyes most like a closed mouth.")] = 0.0,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Train the mouth localiser on corpus-v2 frames (seen style families only).

    Example: omnisync train-localiser --out runs/localiser   (the shipped one: weights/mouth-localiser)
    """
    from omnisync_cli.train.localiser import LocaliserTrainConfig, train_localiser
    with dubbing(out):
        check_flags(workers=workers, seed=seed, samples=samples, batch_size=batch_size, threads=threads, lr=lr)
        check_out_folder(out, "--out")
        check_run_folder(out, "--out", {"the --init-from localiser": init_from})
        TRAIN_STEPS.check("--steps", steps)
        for flag, share, of in (("--captions", captions, "frames"), ("--wide-mouths", wide_mouths, "characters"),
                                ("--slit-eyes", slit_eyes, "characters")):
            if not 0 <= share <= 1:
                raise ConfigError(f"{flag} is a share of the {of}, between 0 and 1; got {share}")
        config = LocaliserTrainConfig(out_dir=str(out), samples=samples, steps=steps, batch_size=batch_size, lr=lr,
                                      seed=seed, workers=workers, threads=threads,
                                      init_from=str(init_from) if init_from else None, captions=captions,
                                      wide_mouths=wide_mouths, slit_eyes=slit_eyes)
        path = train_localiser(config, say=(lambda line: None) if quiet else err_console.print)
    if not quiet:
        err_console.print(f"wrote the mouth localiser to {path}")


@app.command(cls=Command, name="train-sync")
def train_sync_command(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus folder(s) with training shards (`omnisync synth`).")],
    out: Annotated[Path, typer.Option("--out", help="Run folder: checkpoint, log, the expert's weights. An existing run resumes.")] = Path("runs/sync-expert"),
    steps: Annotated[int, typer.Option(help="Optimizer steps in total (raise it to extend a finished run).")] = 5000,
    batch_size: Annotated[int, typer.Option(help="Video windows per step.")] = 64,
    lr: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 1e-3,
    max_clips: Annotated[int, typer.Option(help="Clips read from each corpus (0: all).")] = 0,
    val_corpus: Annotated[Optional[Path], typer.Option(help="Corpus whose benchmark split (held-out families) is measured at each checkpoint.")] = None,
    threads: Annotated[int, typer.Option(help="torch threads (0: the library default).")] = 1,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Train the sync expert (SyncNet-style mouth/audio encoders behind the LSE-C / LSE-D scores).

    Example: omnisync train-sync corpus/ --out runs/sync-expert   (the shipped one: weights/sync-expert)
    """
    from omnisync_cli.train.sync import SyncTrainConfig, train_sync
    with dubbing(out):
        check_flags(batch_size=batch_size, lr=lr, threads=threads, seed=seed)
        check_out_folder(out, "--out")
        check_run_folder(out, "--out", {**{f"corpus {c}": c for c in corpus}, "the --val-corpus": val_corpus})
        TRAIN_STEPS.check("--steps", steps)
        if max_clips < 0:
            raise ConfigError(f"--max-clips must be 0 (all) or more, got {max_clips}")
        if val_corpus is not None:  # read at the first checkpoint: a wrong path must not cost the training first
            from omnisync_cli.bench.runner import load_manifest
            load_manifest(val_corpus)
        config = SyncTrainConfig(corpus=tuple(str(c) for c in corpus), out_dir=str(out), steps=steps, batch_size=batch_size, lr=lr,
                                 max_clips=max_clips, val_corpus=str(val_corpus or ""), threads=threads, seed=seed)
        path = train_sync(config, say=(lambda line: None) if quiet else err_console.print)
    if not quiet:
        err_console.print(f"wrote the sync expert to {path}")


@app.command(cls=Command)
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus folder(s): `omnisync synth` or `omnisync prepare-data` output.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, samples, final weights. An existing run resumes.")] = Path("runs/train"),
    preset: Annotated[str, typer.Option(help="Model preset: tiny, cpu-small, paper.")] = "cpu-small",
    steps: Annotated[int, typer.Option(help="Optimizer steps in total (raise it to extend a finished run).")] = 3000,
    batch_size: Annotated[int, typer.Option(help="Clips per step per process.")] = 8,
    lr: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 3e-4,
    seed: SeedOpt = 0,
    init_from: Annotated[Optional[Path], typer.Option(help="Weights directory to fine-tune from (same preset; a different audio frontend restarts only the audio encoder).")] = None,
    pair_threshold: Annotated[float, typer.Option(help="Eq. 3: noise level above which the condition is a pseudo-pair (paper 0.85).")] = 0.85,
    loss_weighting: Annotated[str, typer.Option(help="velocity (Eq. 2 as written) or x (sigma^2 x Eq. 2: the clean-clip error).")] = "velocity",
    mouth_loss_weight: Annotated[float, typer.Option(help="Extra loss weight at the mouth centre (0: none).")] = 0.0,
    change_loss_weight: Annotated[float, typer.Option(help="Extra loss weight on the pixels where a pseudo-pair's target differs from its condition, per unit of change (0: none).")] = 0.0,
    viseme_loss_weight: Annotated[float, typer.Option(help="Auxiliary audio -> mouth-parameter loss on synthetic clips (0: none).")] = 0.0,
    sync_loss_weight: Annotated[float, typer.Option(help="Sync-expert loss on the predicted mouth (Wav2Lip's lever; 0: none).")] = 0.0,
    sync_expert: Annotated[Optional[Path], typer.Option(help="Sync expert for --sync-loss-weight (default: the bundled one).")] = None,
    source_start_sigma: Annotated[float, typer.Option(help="From this noise level up, pseudo-pairs start from the noised source as a dub does (Eq. 5) instead of the noised target (0: off).")] = 0.0,
    sigma_dist: Annotated[str, typer.Option(help="Training noise levels: mixture (a fifth uniform, the rest logit-normal), uniform, logit_normal, or sampler (a fifth uniform, the rest at the shipped sampler's levels 0.92 and 0.46).")] = "mixture",
    hide_mouth_share: Annotated[float, typer.Option(help="Share of examples whose source has a box around its mouth hidden, so the mouth must come from the audio and the references (0: never, the paper's mask-free training).")] = 0.0,
    lend_mouth_share: Annotated[float, typer.Option(help="Share of examples whose source shows, at each frame, its own mouth from the moment that best fits the target's sound, as `dub --mouth-bank` does (0: never).")] = 0.0,
    region_scale: Annotated[float, typer.Option(help="Train on the central part of each stored crop: the region at this x the face width, as the dub frames it (its default 0.8); 1: the stored crops.")] = 1.0,
    output_flow: Annotated[bool, typer.Option("--output-flow", help="Let the model move the source's pixels (a displacement head) under its residual; with --init-from a model without it, grows it.")] = False,
    depth: Annotated[int, typer.Option(help="Transformer blocks (0: the preset's); with --init-from a shallower model, new blocks start as the identity between its own.")] = 0,
    reference_frames: Annotated[int, typer.Option(help="Show the model this many crops of the source at other moments (a reference attention in every block); with --init-from a model without them, grows it (0: none).")] = 0,
    warmup_steps: Annotated[int, typer.Option(help="Linear learning-rate warm-up steps.")] = 200,
    threads: Annotated[int, typer.Option(help="CPU threads (0: one per core; 1 is faster on busy cores).")] = 0,
    max_minutes: Annotated[float, typer.Option(help="Also stop (checkpoint and write weights) after this many minutes of this call; rerun to go on (0: no limit; one process only).")] = 0.0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Train (or resume) a model on corpus shards; writes EMA weights usable with --weights.

    Examples:

      omnisync train corpus/ --out runs/cpu-small --steps 3000

      omnisync train corpus/ --out runs/tune --init-from weights/cpu-small --output-flow --pair-threshold 0.1 --loss-weighting x --mouth-loss-weight 10 --viseme-loss-weight 1

      torchrun --nproc_per_node 2 --no-python omnisync train corpus/ --out runs/ddp
    """
    from omnisync_cli.model.config import check_weights_dir
    from omnisync_cli.train import train as run_training
    from omnisync_cli.train.config import keeping_parts_of
    with dubbing(out):
        TRAIN_STEPS.check("--steps", steps)
        check_flags(batch_size=batch_size, lr=lr, seed=seed, pair_threshold=pair_threshold,
                    mouth_loss_weight=mouth_loss_weight, viseme_loss_weight=viseme_loss_weight,
                    sync_loss_weight=sync_loss_weight, threads=threads, change_loss_weight=change_loss_weight,
                    max_minutes=max_minutes)
        check_out_folder(out, "--out")
        check_run_folder(out, "--out", {"the --init-from weights": init_from, "the --sync-expert": sync_expert,
                                        **{f"corpus {c}": c for c in corpus}})
        if sync_expert is not None:  # a wrong path is told at once, whether or not the sync loss uses it
            from omnisync_cli.bench.sync import load_sync_expert
            load_sync_expert(sync_expert)
            if not sync_loss_weight:
                err_console.print("warning: --sync-expert is used only with a --sync-loss-weight above 0; this run "
                                  "trains without it", highlight=False, soft_wrap=True)
        config = training_config(preset=preset, out_dir=str(out), steps=steps, batch_size=batch_size, lr=lr,
                                 seed=seed, init_from=str(init_from or ""), pair_threshold=pair_threshold,
                                 loss_weighting=loss_weighting, mouth_loss_weight=mouth_loss_weight,
                                 change_loss_weight=change_loss_weight, viseme_loss_weight=viseme_loss_weight,
                                 sync_loss_weight=sync_loss_weight,
                                 sync_expert=str(sync_expert or ""), source_start_sigma=source_start_sigma,
                                 sigma_dist=sigma_dist,
                                 hide_mouth_share=hide_mouth_share, lend_mouth_share=lend_mouth_share, region_scale=region_scale, output_flow=output_flow, depth=depth,
                                 reference_frames=reference_frames, warmup_steps=warmup_steps,
                                 threads=threads, max_seconds=60.0 * max_minutes, device=device)
        if init_from is not None:
            config, kept = keeping_parts_of(config, check_weights_dir(init_from))
            if kept and not quiet:
                err_console.print(f"fine-tuning with {' '.join(kept)}, as {init_from} has it", highlight=False)
        result = run_training(config, [str(c) for c in corpus], progress=not quiet)
    if not quiet:
        err_console.print(f"weights in {result} (use: omnisync dub ... --weights {result})")


def training_config(**settings):
    """TrainConfig(**settings), a refusal naming the flag that set the value (--pair-threshold),
    not the field (pair_threshold). The fields `train` sets from a flag of another name
    (--out, --max-minutes) are checked before."""
    from omnisync_cli.train.config import TrainConfig, TrainConfigError
    try:
        return TrainConfig(**settings)
    except TrainConfigError as error:
        value = shown(error.value) if isinstance(error.value, (int, float)) else repr(error.value)
        raise ConfigError(f"--{error.field.replace('_', '-')} {error.rule}, got {value}") from None


@app.command("prepare-data", cls=Command)
def prepare_data(
    videos: Annotated[Path, typer.Argument(help="Folder of your talking videos (sub-folders = characters).")],
    out: Annotated[Path, typer.Argument(help="Folder for the training shards (must not hold a corpus yet).")],
    clip_seconds: Annotated[float, typer.Option(help="Length of each clip cut from a video.")] = 3.0,
    prompt: PromptOpt = "",
    face_index: FaceIndexOpt = 0, landmarker: LandmarkerOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Turn real talking videos into training shards for `omnisync train`.

    Example: omnisync prepare-data ./my_videos ./my_corpus && omnisync train ./corpus ./my_corpus
    """
    from omnisync_cli.data.prepare import PrepareConfig
    from omnisync_cli.data.prepare import prepare_data as run_prepare
    with dubbing(out), nothing_half_written(out):
        check_flags(clip_seconds=clip_seconds, face_index=face_index)
        shortest = PrepareConfig.min_clip_seconds  # a shorter clip is dropped, as a video's short tail is
        if clip_seconds < shortest:
            raise ConfigError(f"--clip-seconds must be at least {shortest:g}, got {clip_seconds:g} (shorter clips are dropped)")
        check_out_folder(out, "the folder")
        config = PrepareConfig(clip_seconds=clip_seconds, prompt=prompt,
                               face=FaceConfig(face_index=face_index, landmarker=landmarker))
        with progress_for(quiet).stage("preparing videos", None) as advance:
            index = run_prepare(videos, out, config, progress=lambda *args: advance(1))
    for name, reason in index.get("skipped", {}).items():  # also in index.json
        err_console.print(f"skipped: {reason}" if name in reason else f"skipped {name}: {reason}",
                          highlight=False, soft_wrap=True)
    if not quiet:
        err_console.print(f"wrote {out}: {json.dumps({k: v for k, v in index.items() if isinstance(v, (int, float, str))})}")


@app.command(cls=Command)
def bench(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder holding bench/manifest.json (omnisync synth).")],
    weights: WeightsOpt = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Benchmark the EMA weights of a training checkpoint.pt instead.")] = None,
    clips: Annotated[Optional[str], typer.Option(help="N clips spread over the categories, or comma-separated clip ids (default: all).")] = None,
    variants: Annotated[str, typer.Option(help="Comma-separated variants, for example no-op (the source with the new audio), ds-cfg (the defaults), tau=1, static-low, static-high, none, steps=4, prompt-loud, min-face=32, region=1; a name that is not one lists them all.")] = "no-op,tau=1,static-low,static-high,ds-cfg",
    out: Annotated[Path, typer.Option("--out", help="Results folder: results.json, report.md, PNGs, videos/.")] = Path("bench/results/quality"),
    max_drop: Annotated[float, typer.Option(help="Success: mouth PSNR at most this many dB below the no-op's.")] = 1.0,
    threads: Annotated[int, typer.Option(help="torch and OpenCV threads (0: their defaults).")] = 1,
    true_track: Annotated[bool, typer.Option(help="Dub at the generator's true mouth positions instead of the tracker's (a diagnosis: what the tracker costs).")] = False,
    true_part: Annotated[str, typer.Option(help="With --true-track: all, or only the tracker's mouth position or region scale replaced by the truth (position, scale).")] = "all",
    track_offset: Annotated[float, typer.Option(help="With --true-track: move its mouth centres this many face widths (below, right, above, left clip by clip), as a tracker's lasting error.")] = 0.0,
    localiser: Annotated[Optional[Path], typer.Option(help="Mouth-localiser weights folder to track with (default: the bundled one), to judge a candidate localiser by its dubs.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the results of an earlier run in --out.")] = False,
) -> None:
    """Dub the held-out benchmark clips with each variant and score them against the ground truth.

    Example: omnisync bench corpus/ --clips 12 --variants no-op,ds-cfg --out runs/bench
    """
    import cv2
    import torch

    from omnisync_cli.bench.export import export_weights
    from omnisync_cli.bench.report import summary_table
    from omnisync_cli.bench.runner import TRUE_TRACK_PARTS, check_results_folder, dubbed_clips, run_benchmark
    from omnisync_cli.bench.scores import DEFAULT_METRICS, SuccessRule
    from omnisync_cli.bench.variants import get_variants

    with dubbing(out):
        check_flags(max_drop=max_drop, threads=threads)
        check_out_folder(out, "--out")
        if true_part not in TRUE_TRACK_PARTS:
            raise ConfigError(f"--true-part must be one of {', '.join(TRUE_TRACK_PARTS)}, got {true_part!r}")
        if track_offset and not (true_track and true_part != "scale"):
            raise ConfigError("--track-offset moves the true mouth positions: give it with --true-track")
        if not 0 <= track_offset <= 1:  # also refuses NaN
            raise ConfigError(f"--track-offset must be between 0 and 1 face widths, got {track_offset}")
        check_results_folder(out, overwrite)
        if threads:
            torch.set_num_threads(threads)
            cv2.setNumThreads(threads)
        chosen = get_variants(variants)
        wanted = None
        if clips:
            wanted = int(clips) if clips.isdigit() else [c.strip() for c in clips.split(",")]
        label = ""
        if checkpoint is not None:  # exported beside the results, so the run can be repeated
            weights = out / "weights"
            label = f"EMA weights of {checkpoint} at step {export_weights(checkpoint, weights)}"
            err_console.print(label)
        elif weights is not None:  # a bad folder is one line before any dub, whatever the variants
            from omnisync_cli.model.config import check_weights_dir
            check_weights_dir(weights)
        results = run_benchmark(corpus, chosen, out, clips=wanted, weights=weights,
                                progress=lambda line: err_console.print(line, highlight=False),
                                rule=SuccessRule(max_mouth_drop_db=max_drop), label=label,
                                face=FaceConfig(localiser=localiser),
                                true_track=true_part if true_track else "", track_offset=track_offset)
        if not dubbed_clips(results):  # the report is written first: it says why each clip failed
            total = len(results["clips"]) + len(results["untracked"])
            raise InputError(f"no benchmark clip could be dubbed ({total} tried); {out / 'report.md'} says why")
    if label:
        print(label + "\n")
    print(summary_table(results, DEFAULT_METRICS, "all"))
    print(f"\nper category: {out / 'report.md'}")
