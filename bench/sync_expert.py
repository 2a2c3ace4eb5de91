"""The sync expert on a corpus's benchmark split: held-out accuracy and ground truth vs no-op.

    python bench/sync_expert.py /work/corpus-v2-bench [--weights weights/sync-expert] [--write bench/results/sync-expert.json]

Per style group (seen, each held-out family, all held-out together):
  - shift: share of (window, shift) pairs, 3 <= |shift| <= 15 frames, where a 5-frame window of
    the ground-truth dub is nearer its own audio than the shifted audio;
  - other: share of windows nearer their own audio than another clip's speech at that time;
  - offset_ok: share of clips whose best offset over +-15 frames is within +-1 of 0;
  - LSE-C / LSE-D of the ground truth (target.mp4) and of the no-op (source.mp4 re-timed to
    the new speech) against speech.wav.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from omnisync_cli.bench.sync import SyncScorer, load_sync_expert
from omnisync_cli.bench.sync_check import load_sync_clips, reference_table, window_accuracy
from omnisync_cli.bundled import bundled_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="corpus folder with a benchmark split (bench/manifest.json)")
    parser.add_argument("--weights", default=str(bundled_weights("sync-expert")))
    parser.add_argument("--write", default="", help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    scorer = SyncScorer(load_sync_expert(args.weights))
    clips = load_sync_clips(args.corpus)
    results = {"corpus": args.corpus, "weights": args.weights,
               "accuracy": window_accuracy(scorer, clips), "reference": reference_table(scorer, clips)}
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=1))
    if args.write:
        Path(args.write).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
