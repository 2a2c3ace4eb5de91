"""What the benchmark compares: named ways to dub a clip (DESIGN.md "Benchmark" baselines).

A variant is a name plus the editor it dubs with: the pass-through editor (the source video
with the new audio), or the OmniSync model under one `SamplerConfig`. Everything else about
the dub (face tracking, paste, encode) is the pipeline's default, as a user gets it.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from omnisync_cli.errors import ConfigError
from omnisync_cli.guidance.dscfg import GuidanceConfig
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import Editor, PassthroughEditor, load_editor


@dataclass(frozen=True)
class Variant:
    name: str
    description: str  # one line for the report
    sampler: SamplerConfig | None = None  # None: no model, the pass-through editor
    # Builds the editor from the weights directory instead (a custom editor; tests).
    factory: Callable[[Path | None], Editor] | None = None
    focus: float | None = None  # paste focus (DubOptions.focus); None: the pipeline's default
    prompt: str = ""  # the text prompt of every dub (paper appendix D); "" = none
    keep_colours: bool = True  # DubOptions.keep_colours
    region_scale: float | None = None  # DubOptions.region_scale; None: the pipeline's default
    keep_quiet_source: bool = True  # DubOptions.keep_quiet_source
    mouth_bank: str | None = None  # DubOptions.mouth_bank; None: the pipeline's default
    speech_gate: bool = True  # DubOptions.speech_gate
    min_face_px: float | None = None  # DubOptions.min_face_px; None: the pipeline's default
    edit_rate: float | None = None  # DubOptions.edit_rate; None: the pipeline's default
    redrawn_levels: float | None = None  # DubOptions.redrawn_levels; None: the pipeline's default
    overlap_frames: int | None = None  # DubOptions.overlap_frames; None: the model's own
    chroma_focus: float | None = None  # DubOptions.chroma_focus; None: the pipeline's default
    articulation_floor: float | None = None  # DubOptions.articulation_floor; None: the pipeline's default
    pause_reach: float | None = None  # DubOptions.pause_reach; None: the pipeline's default
    self_test: bool | None = None  # DubOptions.self_test; None: the pipeline's default
    share_rule: str | None = None  # DubOptions.share_rule; None: the pipeline's default

    def editor(self, weights: Path | None) -> Editor:
        if self.factory is not None:
            return self.factory(weights)
        if self.sampler is None:
            return PassthroughEditor()
        return load_editor(weights, self.sampler, self.prompt)

    def dub_overrides(self) -> dict:
        """The DubOptions fields this variant sets (None: the pipeline's default)."""
        chosen = {name: getattr(self, name) for name in DUB_FIELDS}
        return {name: value for name, value in chosen.items() if value is not None}

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "sampler": None if self.sampler is None else asdict(self.sampler), "prompt": self.prompt,
                **{name: getattr(self, name) for name in DUB_FIELDS}}


# The Variant fields that are DubOptions fields, set on the dub by name (None: the pipeline's default).
DUB_FIELDS = tuple(f.name for f in fields(Variant) if f.name in {option.name for option in fields(DubOptions)})


# The baselines of DESIGN.md: each model variant changes one thing from the defaults
# (`ds-cfg`), so a difference in the table has one cause. Static scales bracket DS-CFG's
# peaks: 1.5 is barely guided (a little above the default peak, 1.25, but everywhere), 6 is
# strong enough to show CFG's artefacts.
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("no-op", "source video with the new audio (no edit)"),
    Variant("tau=1", "DS-CFG, sampled from pure noise (no progressive init)",
            SamplerConfig(tau=1.0)),
    Variant("static-low", "progressive init, static CFG 1.5 everywhere",
            SamplerConfig(guidance=GuidanceConfig(mode="static", w_peak=1.5))),
    Variant("static-high", "progressive init, static CFG 6 everywhere",
            SamplerConfig(guidance=GuidanceConfig(mode="static", w_peak=6.0))),
    Variant("ds-cfg", "progressive init + DS-CFG (the defaults)", SamplerConfig()),
    # The sweep that picks DS-CFG's peak: the defaults with only w_peak changed.
    Variant("ds-peak1.25", "progressive init + DS-CFG with peak 1.25",
            SamplerConfig(guidance=GuidanceConfig(w_peak=1.25))),
    Variant("ds-peak1.5", "progressive init + DS-CFG with peak 1.5",
            SamplerConfig(guidance=GuidanceConfig(w_peak=1.5))),
    Variant("ds-peak2", "progressive init + DS-CFG with peak 2",
            SamplerConfig(guidance=GuidanceConfig(w_peak=2.0))),
    Variant("ds-peak4", "progressive init + DS-CFG with peak 4",
            SamplerConfig(guidance=GuidanceConfig(w_peak=4.0))),
    Variant("ds-peak6", "progressive init + DS-CFG with peak 6",
            SamplerConfig(guidance=GuidanceConfig(w_peak=6.0))),
    Variant("ds-to-cond", "DS-CFG whose decay ends at the conditional prediction (w -> 1), not the unconditional",
            SamplerConfig(guidance=GuidanceConfig(decay_to="cond"))),
    Variant("hide-mouth", "the defaults with a box of 0.4 x the region around the source's mouth hidden from "
            "the model (for models trained with --hide-mouth-share)", SamplerConfig(hide_mouth=0.4)),
    Variant("hide-mouth-0.5", "the same with a box of 0.5 x the region (training's area at the dub's region scale)",
            SamplerConfig(hide_mouth=0.5)),
    Variant("mouth-bank", "the defaults, the network shown at every frame the source's own mouth whose speech "
            "sounds most like the new speech (dub --mouth-bank everywhere)", SamplerConfig(), mouth_bank="everywhere"),
    Variant("pause-bank", "the defaults with the source's own mouths lent in the new speech's pauses only "
            "(dub --mouth-bank pauses; the default before stop 36)", SamplerConfig(), mouth_bank="pauses"),
    Variant("no-bank", "the defaults without the source's own mouths lent anywhere "
            "(dub --mouth-bank off)", SamplerConfig(), mouth_bank="off"),
    Variant("pause-reach=1", "the defaults, the mouth lent in the new speech's pauses at the usual size and "
            "pasted with the mouth focus, as in speech (dub --pause-reach 1; the default before stop 37)",
            SamplerConfig(), pause_reach=1.0),
    Variant("pause-reach=1.3", "the defaults with the mouth lent in the new speech's pauses at 1.3x the usual "
            "size (instead of 1.15x), pasted whole", SamplerConfig(), pause_reach=1.3),
    Variant("no-self-test", "the defaults with the network used whatever its own test on the source's speech "
            "says (dub --no-self-test)", SamplerConfig(), self_test=False),
    Variant("least-error-share", "the defaults showing the share of the edit nearest the truth on the model's "
            "own test (instead of the largest share that does no harm there)", SamplerConfig(), share_rule="least-error"),
    Variant("hear-everything", "the defaults, the model and the quiet rule reading the whole speech tracks "
            "(no voice detector: music and noise included)", SamplerConfig(), speech_gate=False),
    Variant("audio-gate", "the defaults keeping only the edit the audio asked for (dub --audio-gate)",
            SamplerConfig(audio_gate=True)),
    # Speed (the real-time issue): the defaults with other step counts, and the previous defaults.
    Variant("steps=8", "the defaults with 8 sampler steps instead of 1", SamplerConfig(steps=8)),
    Variant("steps=4", "the defaults with 4 sampler steps instead of 1", SamplerConfig(steps=4)),
    Variant("steps=2", "the defaults with 2 sampler steps instead of 1", SamplerConfig(steps=2)),
    Variant("two-steps", "2 sampler steps with DS-CFG peak 2 (the defaults before stop 47)",
            SamplerConfig(steps=2, guidance=GuidanceConfig(w_peak=2.0))),
    Variant("reuse-guidance", "two-steps with the unconditional pass at the first step only "
            "(the second reuses its guidance direction: 3 passes a segment instead of 4)",
            SamplerConfig(steps=2, guidance=GuidanceConfig(w_peak=2.0, reuse_direction=True))),
    Variant("fp32", "the defaults with the network in fp32 (auto picks bf16 on CPUs with native bf16)",
            SamplerConfig(dtype="fp32")),
    Variant("bf16", "the defaults with the network under bf16 autocast", SamplerConfig(dtype="bf16")),
    Variant("onnx-fp32", "the defaults with the network in fp32 in ONNX Runtime (auto quantises its weights "
            "to int8 on the CPU)", SamplerConfig(runtime="onnx")),
    Variant("int8", "the defaults with the network's weights quantised to int8 (ONNX Runtime, dynamic)",
            SamplerConfig(runtime="onnx-int8")),
    Variant("runtime=torch", "the defaults with the network in eager PyTorch (auto runs the CPU network in "
            "ONNX Runtime, int8 weights)", SamplerConfig(runtime="torch")),
    Variant("none", "progressive init, conditional prediction only (no CFG)",
            SamplerConfig(guidance=GuidanceConfig(mode="none"))),
    # The prompt's effect (paper appendix D): the defaults with an articulation prompt.
    Variant("prompt-loud", "the defaults with the prompt \"speaking loudly, clear teeth\"",
            SamplerConfig(), prompt="speaking loudly, clear teeth"),
    Variant("prompt-soft", "the defaults with the prompt \"speaking softly, barely moving the lips\"",
            SamplerConfig(), prompt="speaking softly, barely moving the lips"),
    Variant("any-colours", "the defaults without holding the edit to the source's hues",
            SamplerConfig(), keep_colours=False),
    Variant("silence-peak4", "the defaults with DS-CFG peak 4 on frames where the new speech is silent",
            SamplerConfig(silence_peak=4.0)),
    Variant("silence-peak6", "the defaults with DS-CFG peak 6 on frames where the new speech is silent",
            SamplerConfig(silence_peak=6.0)),
    Variant("edit-pauses", "the defaults, re-rendering the mouth also where both speech tracks are silent",
            SamplerConfig(), keep_quiet_source=False),
    Variant("focus=0", "the defaults, the edit pasted evenly over the working region (no mouth focus)",
            SamplerConfig(), focus=0.0),
    Variant("focus=0.2", "the defaults with the edit's mouth focus narrowed to sd 0.2 of the region side",
            SamplerConfig(), focus=0.2),
    Variant("focus=0.15", "the defaults with the edit's mouth focus narrowed to sd 0.15 of the region side",
            SamplerConfig(), focus=0.15),
    Variant("focus=0.1", "the defaults with the edit's mouth focus narrowed to sd 0.1 of the region side",
            SamplerConfig(), focus=0.1),
    *(Variant(f"redrawn={levels:g}", f"the defaults, the source's fine detail dropped where the edit reaches {levels:g} "
              "levels" if levels else "the defaults, the source's fine detail kept under every edit",
              SamplerConfig(), redrawn_levels=float(levels)) for levels in (0, 12, 24, 48)),
    *(Variant(f"min-face={px:g}", f"the defaults, faces narrower than {px:g} px kept as the source" if px else
              "the defaults, every face dubbed however small", SamplerConfig(), min_face_px=float(px))
      for px in (0, 24, 32, 48)),
    *(Variant(f"edit-rate={rate:g}", f"the defaults, the network editing every k-th frame of fast videos (at least "
              f"{rate:g} a second), the frames between blended from their neighbours' edits" if rate else
              "the defaults, the network editing every frame", SamplerConfig(), edit_rate=float(rate))
      for rate in (0, 12, 24)),
    *(Variant(f"overlap={frames}", f"the defaults, consecutive network segments sharing {frames} frame(s) "
              "(the default model's own: 1)", SamplerConfig(), overlap_frames=frames) for frames in (0, 1, 2)),
    *(Variant(f"chroma-focus={sd:g}", f"the defaults, the edit's chroma change fading from the mouth with sd {sd:g} of "
              "the region side" if sd else "the defaults, the edit's whole chroma change kept", SamplerConfig(),
              chroma_focus=float(sd)) for sd in (0, 0.15, 0.2, 0.3)),
    *(Variant(f"articulation={floor:g}", "the defaults, the edit kept where the source's mouth moves and faded to "
              f"{floor:g} where it never moves" if floor < 1 else "the defaults, the whole edit everywhere",
              SamplerConfig(), articulation_floor=float(floor)) for floor in (0, 0.25, 0.5, 1)),
    *(Variant(f"region={scale:g}", f"the defaults with the working region {scale:g} x the face width",
              SamplerConfig(), region_scale=scale) for scale in (1.0, 0.9, 0.8, 0.7)),
)}


def get_variants(names: str | list[str]) -> list[Variant]:
    """Variants by name, from a list or a comma-separated string ("no-op,ds-cfg"); a name given
    twice is run once, where it first stands."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        what = f"unknown benchmark variant(s) {unknown}" if unknown else "no benchmark variant given"
        raise ConfigError(f"{what}; choose from {', '.join(VARIANTS)} (comma-separated)")
    return [VARIANTS[n] for n in names]
