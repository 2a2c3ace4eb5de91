"""Does the source's own mouth motion tell how wide the dubbed mouth should open?

    python bench/source_amplitude.py CORPUS RESULTS [CORPUS RESULTS ...] [--write F]

RESULTS is an `omnisync bench` results.json of CORPUS with a `ds-cfg` variant. Each clip that
variant dubbed is dubbed again, without the model (`SourceReader`), to read what the dub reads
of the source: the articulation activity's peak (grey levels; `pipeline.articulation.map_peak` of the crops where
the source's own speech speaks). Beside it, from the results: the ground truth's and the dub's
mouth opening in speech (the opening meter). Reports the correlations and, by quartile of the
source's motion, how far the dub opens against the truth.
"""

import argparse
import json
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

import omnisync_cli.pipeline.dub as dub_module
from omnisync_cli.pipeline.articulation import map_peak
from omnisync_cli.pipeline.editor import PassthroughEditor

from markdown_out import emit  # bench/markdown_out.py


class SourceReader(PassthroughEditor):
    """Changes nothing, but has the model editor's `sound_keys`, so a dub collects the source's
    working-region crops for the articulation map as it does with the model (same 64 px side)."""

    def prepare_audio(self, waveform):
        return waveform

    def sound_keys(self, audio, times):
        return np.zeros((len(times), 1), np.float32)


def source_peaks(corpus: Path, clip_ids: list[str]) -> dict[str, float]:
    """Per clip id, the activity peak of the source crops the dub's articulation map reads
    (clips the dub reads no map from are left out)."""
    peaks, read = {}, []
    real_map = dub_module.articulation_map

    def reading(crops, floor):
        read.append(map_peak(crops)[0])
        return real_map(crops, floor)

    dub_module.articulation_map = reading
    editor = SourceReader(region_size=64)
    try:
        with TemporaryDirectory() as tmp:
            for clip_id in clip_ids:
                folder = corpus / "bench" / clip_id
                read.clear()
                dub_module.dub(folder / "source.mp4", folder / "speech.wav", Path(tmp) / "out.mp4", editor,
                               dub_module.DubOptions(overwrite=True, mouth_bank="off"))
                if read:
                    peaks[clip_id] = read[0]
    finally:
        dub_module.articulation_map = real_map
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
