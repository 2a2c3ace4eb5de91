"""Training clips written as a benchmark split: does the model dub the clips it was trained on
better than unseen characters of the same families? (Underfitting vs not generalising.)

    python bench/trained_clips.py CORPUS OUT --identities 8
    omnisync bench OUT --clips 8 --variants no-op,ds-cfg

Renders training identities 0 .. N-1 of a corpus made by `omnisync synth` again, from the
configuration its index.json records (the clips it holds, pixel for pixel), with rendering 0
as the source and rendering 1 as the new speech and its ground truth: exactly a pseudo-pair
the model trained on, through the whole dub path.
"""

import argparse
import json
from pathlib import Path

from omnisync_cli.data.corpus import TRAIN, ClipJob, CorpusConfig, make_clip, write_bench_clip
from omnisync_cli.media.audio import SAMPLE_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a training corpus folder (omnisync synth)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--identities", type=int, default=8)
    args = parser.parse_args()
    config = CorpusConfig(**json.loads((args.corpus / "index.json").read_text())["config"])
    entries = [write_bench_clip(args.out, make_clip(ClipJob(TRAIN, "seen", i, 0, config), whole_frames=True))
               for i in range(args.identities)]
    manifest = {"format": "omnisync-bench", "version": 2, "seed": config.seed, "sample_rate": SAMPLE_RATE,
                "clips": entries}
    (args.out / "bench" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    print(f"{len(entries)} training clips in {args.out / 'bench'}")


if __name__ == "__main__":
    main()
