"""Does the source's own mouth motion tell how wide the dubbed mouth should open?

    python bench/source_amplitude.py CORPUS RESULTS [CORPUS RESULTS ...] [--write F]

RESULTS is an `omnisync bench` results.json of CORPUS with a `ds-cfg` variant. For each clip that
variant dubbed, the source is read as the dub reads it, without the model or an output: the
analysis, the source's own speech and the mouth bank's crops where it speaks
(`pipeline.dub.speaking_source_crops`), whose articulation activity peaks at what
`pipeline.articulation.map_peak` gives (grey levels). Beside it, from the results: the ground
truth's and the dub's mouth opening in speech (the opening meter). Reports the correlations and,
by quartile of the source's motion, how far the dub opens against the truth.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.pipeline.articulation import map_peak
from omnisync_cli.pipeline.analysis import analyse, analysis_span
from omnisync_cli.pipeline.dub import hear, speaking_source_crops
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import PassthroughEditor

from markdown_out import emit  # bench/markdown_out.py


class SourceReader(PassthroughEditor):
    """Changes nothing, but has the model editor's `sound_keys`, so the mouth bank's pass collects
    the source's working-region crops as it does for the model (same 64 px side)."""

    def prepare_audio(self, waveform):
        return waveform

    def sound_keys(self, audio, times):
        return np.zeros((len(times), 1), np.float32)


def source_peaks(corpus: Path, clip_ids: list[str]) -> dict[str, float]:
    """Per clip id, the activity peak of the source crops a dub's articulation map reads
    (clips whose source has no speech of its own are left out)."""
    editor, options = SourceReader(region_size=64), DubOptions(mouth_bank="off")
    peaks = {}
    for clip_id in clip_ids:
        folder = corpus / "bench" / clip_id
        speech = load_speech(folder / "speech.wav")
        span = analysis_span(len(speech) / SAMPLE_RATE)  # the part of the video a dub analyses
        analysis = analyse(folder / "source.mp4", options, until_s=span)
        crops = speaking_source_crops(analysis, editor, options, hear(speech, folder / "source.mp4", editor, options,
                                                                      span).source)
        if crops is not None:
            peaks[clip_id] = map_peak(crops)[0]
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+", help="CORPUS RESULTS pairs")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = []
    for corpus, results in zip(args.pairs[::2], args.pairs[1::2]):
        clips = [c for c in json.loads(Path(results).read_text())["clips"] if c["variants"]["ds-cfg"].get("ok")]
        peaks = source_peaks(Path(corpus), [c["id"] for c in clips])
        rows += [(peaks[c["id"]], c["truth_opening"]["speech_open"], c["variants"]["ds-cfg"]["scores"]["speech_open"])
                 for c in clips if c["id"] in peaks]
    a = np.array(rows, float)
    lines = [f"# The source's own mouth motion against the mouth opening in speech ({len(a)} clips)", "",
             f"`python bench/source_amplitude.py {' '.join(args.pairs)}`", "",
             f"- r(source motion peak, ground truth's opening): {np.corrcoef(a[:, 0], a[:, 1])[0, 1]:.2f}",
             f"- r(source motion peak, dub's opening): {np.corrcoef(a[:, 0], a[:, 2])[0, 1]:.2f}",
             f"- r(ground truth's opening, dub's opening): {np.corrcoef(a[:, 1], a[:, 2])[0, 1]:.2f}", "",
             "| source motion quartile | clips | peak (grey levels) | truth's opening | dub's opening | dub / truth (median) |",
             "|---|---|---|---|---|---|"]
    quartile = np.digitize(a[:, 0], np.quantile(a[:, 0], [0.25, 0.5, 0.75]))
    for q in range(4):
        m = quartile == q
        lines.append(f"| {q + 1} | {m.sum()} | {a[m, 0].min():.1f}-{a[m, 0].max():.1f} | {a[m, 1].mean():.3f} | "
                     f"{a[m, 2].mean():.3f} | {np.median(a[m, 2] / a[m, 1]):.2f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
