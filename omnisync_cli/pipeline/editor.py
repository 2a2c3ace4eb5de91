"""The editing step of the dub pipe: what the pipeline asks of a model.

The pipeline crops the working region, hands segments of crops to an `Editor`, and pastes
what comes back. `model.editor.ModelEditor` is the OmniSync editor; `PassthroughEditor`
returns the crops untouched, which measures the pipeline alone and proves that everything
outside the edit is carried through bit for bit.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from omnisync_cli.bundled import bundled_weights

# The model trained by this project and shipped with it (OMNISYNC_WEIGHTS overrides).
BUNDLED_WEIGHTS = bundled_weights("cpu-small")


class Editor(Protocol):
    segment_frames: int  # frames the editor takes at once
    overlap_frames: int  # frames shared by consecutive segments, cross-faded by the pipeline
    region_size: int  # side in pixels of the crops edit() takes and returns
    # An editor may also have `reference_frames` K > 0: edit() then takes `references`, K crops
    # of the source at other moments (pipeline.references); editors without it are called without.
    # An editor with `hears_speech = False` ignores the audio: the pipeline then runs no voice
    # detector for it (pipeline.dub.heard); editors without the attribute hear.
    # An editor's `settings` (JSON-able) say what shapes its output: a dub's provenance tag
    # holds a hash of them (pipeline.options.dub_settings); editors without it are named by class.

    def prepare_audio(self, waveform: np.ndarray) -> Any:
        """Whole-track audio features from 16 kHz mono float32, computed once per dub."""

    def edit(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray,
             audio: Any) -> np.ndarray:
        """Edited crops (F, S, S, 3) uint8 for crops (F, S, S, 3) at frame_times (F,) seconds
        on the audio's clock, with the mouth centre of each crop at mouth_xy (F, 2) in [0, 1]."""


@dataclass(frozen=True)
class EditorLoader:
    """An editor not loaded yet: `load()` builds it. `pipeline.dub.dub` calls it while the
    tracking pass runs in a forked process (pipeline.forked), so that loading a model (PyTorch's
    import, the weights) and tracking the mouth take a core each. `bank_side`: where the loaded
    editor reads mouths from audio (a model's `sound_keys`), its region size, known without
    loading it (the weights' config); the forked pass then collects the mouth bank's crops too
    (pipeline.mouth_bank), which the dub would otherwise wait for after the load."""

    load: Callable[[], Editor]
    bank_side: int | None = None


class PassthroughEditor:
    """Returns every crop unchanged."""

    hears_speech = False
    settings = {"editor": "passthrough"}

    def __init__(self, segment_frames: int = 8, overlap_frames: int = 2, region_size: int = 64):
        self.segment_frames = segment_frames
        self.overlap_frames = overlap_frames
        self.region_size = region_size

    def prepare_audio(self, waveform: np.ndarray) -> None:
        return None

    def edit(self, crops: np.ndarray, frame_times: np.ndarray, mouth_xy: np.ndarray,
             audio: Any) -> np.ndarray:
        return crops


def default_weights_dir() -> Path:
    return Path(os.environ.get("OMNISYNC_WEIGHTS", BUNDLED_WEIGHTS))


def load_editor(weights: Path | None, sampler, prompt: str = ""):
    """The OmniSync editor (model.editor.ModelEditor) from a weights directory (default: the
    bundled model), run with `sampler` (model.editor.SamplerConfig)."""
    from omnisync_cli.model.editor import ModelEditor  # torch loads only when a model runs

    return ModelEditor.from_dir(weights or default_weights_dir(), sampler, prompt)
