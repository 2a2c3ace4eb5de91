"""Does the model's own test on a video predict whether its dub beats leaving the video alone?

    python bench/self_test.py CORPUS RESULTS [CORPUS RESULTS ...] [--pairs 6,4] [--write F]

RESULTS is an `omnisync bench` results.json of CORPUS with a `no-self-test` variant (the network
used on every clip) and a `no-op`. For each clip, the source is read as the dub reads it (the
analysis, the source's own speech, the mouth bank's crops) and the shipped model's test is run
with each number of pairs (`pipeline.self_test.own_test_terms`, `gain_db`); beside it, the clip's benchmark gain:
the dub's mouth PSNR minus the no-op's. Reports the correlation, and for each floor how many clips
the test leaves out and what their benchmark gain was.
"""

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from omnisync_cli.cli import build_sampler
from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.pipeline.analysis import analyse, analysis_span
from omnisync_cli.pipeline.dub import hear, speaking_bank
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline.self_test import SelfTestConfig, gain_db, own_test_terms

from markdown_out import emit  # bench/markdown_out.py

FLOORS = (-1.0, -0.5, -0.25, 0.0)


def read_source(editor, folder: Path):
    """A benchmark clip's source read as the dub reads it: (bank, speaking, features, times) for
    `pipeline.self_test.own_test_terms`; None where its source has no speech of its own."""
    options = DubOptions()
    speech = load_speech(folder / "speech.wav")
    span = analysis_span(len(speech) / SAMPLE_RATE)
    analysis = analyse(folder / "source.mp4", options, until_s=span)
    source = hear(speech, folder / "source.mp4", editor, options, span).source
    found = speaking_bank(analysis, editor, options, source)
    if found is None:
        return None
    bank, speaking = found
    return bank, speaking, editor.audio_features(source), analysis.frame_times[bank.indices]


def source_test_arguments(bank, speaking, features, times) -> tuple:
    """`read_source`'s four in the order `own_test_terms` takes them (bank, features, speaking, times)."""
    return bank, features, speaking, times


def clip_gains(editor, folder: Path, pair_counts: list[int]) -> dict[int, float | None]:
    """The model's own test on one benchmark clip's source, per number of pairs."""
    read = read_source(editor, folder)
    gains = {}
    for k in pair_counts:
        terms = None if read is None else own_test_terms(editor, *source_test_arguments(*read),
                                                          dataclasses.replace(SelfTestConfig(), pairs=k))
        gains[k] = None if terms is None else gain_db(terms)
    return gains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+", help="CORPUS RESULTS pairs")
    parser.add_argument("--pairs", dest="pair_counts", default="6,4", help="numbers of segment pairs to test with")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    counts = [int(k) for k in args.pair_counts.split(",")]
    editor = load_editor(None, build_sampler(0.92, 2, "ds", 2.0, 1.0, 0.15, 1.5, 0, "auto", "auto"), "")
    rows = []
    for corpus, results in zip(args.pairs[::2], args.pairs[1::2]):
        for clip in json.loads(Path(results).read_text())["clips"]:
            dubbed, noop = clip["variants"]["no-self-test"], clip["variants"]["no-op"]
            if not dubbed.get("ok"):
                continue
            gain = dubbed["scores"]["mouth_psnr"] - noop["scores"]["mouth_psnr"]
            tested = clip_gains(editor, Path(corpus) / "bench" / clip["id"], counts)
            rows.append((Path(corpus).name, clip["id"], clip["group"], gain, tested))
            print(rows[-1], flush=True)
    lines = [f"# The model's own test against its benchmark gain ({len(rows)} clips)", "",
             f"`python bench/self_test.py {' '.join(args.pairs)} --pairs {args.pair_counts}`", "",
             "Benchmark gain: the dub's mouth PSNR (network on every clip, `no-self-test`) minus the no-op's.", ""]
    for k in counts:
        tested = [(g, t[k]) for _, _, _, g, t in rows if t[k] is not None]
        a = np.array(tested)
        lines += [f"## {k} pairs", "",
                  f"- clips tested: {len(a)} of {len(rows)} (the others' sources speak too little)",
                  f"- r(own test, benchmark gain): {np.corrcoef(a[:, 0], a[:, 1])[0, 1]:.2f}", "",
                  "| floor dB | clips left out | their benchmark gains (dB) | mean over all clips if left as the no-op |",
                  "|---|---|---|---|"]
        for floor in FLOORS:
            out = a[a[:, 1] < floor]
            mean_after = (np.sum(a[:, 0]) - np.sum(out[:, 0])) / len(a)
            lines.append(f"| {floor:g} | {len(out)} | {', '.join(f'{g:+.2f}' for g in sorted(out[:, 0]))} | "
                         f"{mean_after:+.2f} (all dubbed: {a[:, 0].mean():+.2f}) |")
        lines.append("")
    lines += ["| split | clip | group | benchmark gain | " + " | ".join(f"own test, {k} pairs" for k in counts) + " |",
              "|---|---|---|---|" + "---|" * len(counts)]
    for split, clip_id, group, gain, tested in rows:
        cells = " | ".join("–" if tested[k] is None else f"{tested[k]:+.2f}" for k in counts)
        lines.append(f"| {split} | {clip_id} | {group} | {gain:+.2f} | {cells} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
