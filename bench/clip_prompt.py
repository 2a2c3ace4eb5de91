"""Every benchmark clip dubbed with its own articulation prompt (the one its truth was
rendered with): how far the prompt pathway could carry a speaker's articulation (stop 25).

    python bench/clip_prompt.py CORPUS OUT     # one thread; OUT/<clip>/ and OUT/rows.json

Compare with `omnisync bench CORPUS --variants no-op,ds-cfg` on the same clips
(bench/results/edit-amplitude/).
"""

import json
import sys

import cv2
import torch

from omnisync_cli.bench.runner import run_benchmark
from omnisync_cli.bench.variants import Variant
from omnisync_cli.model.editor import SamplerConfig


def main() -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    corpus, out = sys.argv[1], sys.argv[2]
    rows = []
    for clip in json.load(open(f"{corpus}/bench/manifest.json"))["clips"]:
        variant = Variant("clip-prompt", "the clip's own articulation prompt", SamplerConfig(), prompt=clip["prompt"])
        doc = run_benchmark(corpus, [variant], f"{out}/{clip['id']}", clips=[clip["id"]], strip_clips=0)
        scores = doc["clips"][0]["variants"]["clip-prompt"]["scores"]
        rows.append((clip["id"], clip["target_utterance"]["level"], scores["mouth_psnr"], scores.get("open_r"),
                     scores.get("sync_r")))
        print(rows[-1], flush=True)
    json.dump(rows, open(f"{out}/rows.json", "w"))


if __name__ == "__main__":
    main()
