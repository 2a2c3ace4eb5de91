"""What `omnisync tune` costs beyond its model (issue: real-time dubbing): a 3x3 grid of 3 s
previews on a 10 s 512x512 clip, in one process, the model loaded once.

Reported: tune's wall time, the time inside the editor's `edit` summed over the 9 previews
(the model time), their ratio (the issue asks for <= 1.3), and the one tracking pass.

    python bench/tune_cost.py [--write bench/results/tune.md]
"""

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from markdown_out import emit  # bench/markdown_out.py
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline.tune import TuneGrid, tune
from pipeline import render_clip, speech  # bench/pipeline.py


class TimedEditor:
    """An editor that adds the seconds spent in `edit` to `clock`."""

    def __init__(self, editor, clock: list[float]):
        self._editor, self._clock = editor, clock

    def edit(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._editor.edit(*args, **kwargs)
        finally:
            self._clock[0] += time.perf_counter() - start

    def __getattr__(self, name):
        return getattr(self._editor, name)


class StageTimes:
    """A Progress that adds up the seconds of the tracking stage."""

    def __init__(self):
        self.track = 0.0

    @contextmanager
    def stage(self, name: str, total: int | None):
        start = time.perf_counter()
        yield lambda steps=1: None
        if "tracking" in name:
            self.track += time.perf_counter() - start

    def warn(self, message: str) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video, audio = tmp / "clip.mp4", tmp / "speech.wav"
        render_clip(video, 10.0, 25.0, 512, 512, seed=3)
        speech(audio, 10.0, seed=4)
        model = load_editor(None, SamplerConfig(), "")
        clock, progress = [0.0], StageTimes()
        start = time.perf_counter()
        tune(video, audio, tmp / "grid.mp4", lambda cell: TimedEditor(model.with_sampler(cell), clock),
             SamplerConfig(), TuneGrid(), progress=progress)
        wall = time.perf_counter() - start
    emit(["# tune: a 3x3 grid of 3 s previews, 10 s 512x512 clip", "",
          f"`python bench/tune_cost.py`: one run in one process (model loaded before the clock starts), "
          f"{os.cpu_count()} CPU cores, torch {torch.__version__} with {torch.get_num_threads()} threads.", "",
          "| tune wall s | model time of the 9 previews s | wall / model time (<= 1.3) | tracking pass s |",
          "|---|---|---|---|",
          f"| {wall:.2f} | {clock[0]:.2f} | {wall / clock[0]:.2f} | {progress.track:.2f} |"], args.write)


if __name__ == "__main__":
    main()
