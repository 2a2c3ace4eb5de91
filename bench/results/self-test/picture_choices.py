"""Which pictures should the own test give the model? Against each clip's benchmark gain (the
whole edit's mouth PSNR minus the no-op's), the test's gain with each sound's picture taken as
  shipped: the middle far candidate (`pipeline.self_test.pair_moments`);
  pose:    the far candidate nearest it by the mouth bank's pose vectors;
  swap:    the truth's own crops with the shipped picture's mouth lent in (the mouth bank's swap),
           so that only the mouth differs, as in the benchmark's no-op.

    PYTHONPATH=$PWD:$PWD/bench python bench/results/self-test/picture_choices.py CORPUS RESULTS [CORPUS RESULTS ...]

RESULTS: an `omnisync bench` results.json of CORPUS with `no-op` and `no-self-test` variants.
"""
import json
import sys
from pathlib import Path

import numpy as np

from omnisync_cli.cli import build_sampler
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline.mouth_bank import MouthBankConfig, pose_vectors
from omnisync_cli.pipeline.self_test import SelfTestConfig, edit_error_terms, gain_db, pair_moments, segment_starts

from self_test import read_source  # bench/self_test.py

CHOICES = ("shipped", "pose", "swap")


def moments(choice, bank, speaking, times, length):
    """(picture start, sound start) pairs: the shipped ones, or each sound's pose-nearest far picture."""
    config = SelfTestConfig()
    starts = segment_starts(speaking, bank.follows(), length)
    if choice != "pose":
        return pair_moments(starts, times, config.pairs, config.min_gap_s)
    pose = pose_vectors(bank.crops, 16)
    chosen = []
    for u in starts[np.unique(np.linspace(0, len(starts) - 1, min(config.pairs, len(starts))).round().astype(int))]:
        far = starts[np.abs(times[starts] - times[u]) >= config.min_gap_s]
        if len(far):
            chosen.append((int(far[np.argmin([((pose[s:s + length] - pose[u:u + length]) ** 2).sum() for s in far])]),
                           int(u)))
    return chosen


def test_terms(choice, editor, bank, speaking, features, times):
    length = editor.segment_frames
    pairs = moments(choice, bank, speaking, times, length)
    if not pairs:
        return None
    terms = np.zeros(3)
    for s, u in pairs:
        truth, sound = bank.crops[u:u + length], times[u:u + length]
        if choice == "swap":
            picture = bank.lend(truth, bank.mouth_xy[u:u + length], np.arange(s, s + length), MouthBankConfig().max_shift)
            mouth_xy = bank.mouth_xy[u:u + length]
        else:
            picture, mouth_xy = bank.crops[s:s + length], bank.mouth_xy[s:s + length]
        edited = editor.edit(picture, sound, mouth_xy, features)
        terms += edit_error_terms(picture, edited, truth, bank.mouth_xy[u:u + length], SelfTestConfig().max_shift)
    return terms


def main() -> None:
    editor = load_editor(None, build_sampler(0.92, 2, "ds", 2.0, 1.0, 0.15, 1.5, 0, "auto", "auto"), "")
    rows = []
    for corpus, results in zip(sys.argv[1::2], sys.argv[2::2]):
        for clip in json.loads(Path(results).read_text())["clips"]:
            whole, noop = clip["variants"]["no-self-test"], clip["variants"]["no-op"]
            read = read_source(editor, Path(corpus) / "bench" / clip["id"]) if whole.get("ok") else None
            terms = None if read is None else [test_terms(c, editor, *read) for c in CHOICES]
            if terms is None or any(t is None for t in terms):
                continue
            rows.append([whole["scores"]["mouth_psnr"] - noop["scores"]["mouth_psnr"], *map(gain_db, terms)])
            print(Path(corpus).name, clip["id"], clip["kind"], " ".join(f"{v:+.2f}" for v in rows[-1]), flush=True)
    a = np.array(rows)
    print(f"{len(a)} clips; r(test, benchmark gain): " +
          ", ".join(f"{c} {np.corrcoef(a[:, 0], a[:, k + 1])[0, 1]:.2f}" for k, c in enumerate(CHOICES)))


if __name__ == "__main__":
    main()
