"""Does the audio know the mouth, and does the network use what it knows?

    python bench/audio_use.py CORPUS [CORPUS ...] --weights DIR [DIR ...] [--pairs 48] [--write FILE]

For each model, on fixed pseudo-pairs of the training corpora (the training log's probe pairs
and more; `train.samples.validation_pairs`, seed 0):
  - what the audio embedding knows: Pearson r between the viseme head's read-out of each
    frame's audio embedding and the mouth parameters that drew the frame (open, width, round,
    teeth, tongue);
  - what the network does with it: the audio probe (`train.probe.audio_probe`), the mouth error
    of one-step predictions at sigma 0.92 with the clip's own audio, another clip's and the
    null audio, from the noised target (Eq. 2's path) and from the noised source (a dub's
    start, Eq. 5), beside the error of leaving the source mouth as it is.
An embedding that knows the mouth (r near 1) while own ~ null says the network does not turn
that knowledge into pixels.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from omnisync_cli.data.visemes import MOUTH_FIELDS
from omnisync_cli.model.weights import load_model
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.data import TrainingExamples, to_model_range
from omnisync_cli.train.probe import audio_probe, mouth_error
from omnisync_cli.train.samples import validation_pairs

from markdown_out import emit  # bench/markdown_out.py


@torch.no_grad()
def viseme_correlations(model, dataset, pairs) -> dict[str, float]:
    predicted = np.concatenate([model.audio_visemes(dataset.segment_audio(t)[None])[0].numpy() for _, t in pairs])
    truth = np.concatenate([dataset.segment_visemes(t).numpy() for _, t in pairs])
    out = {}
    for i, name in enumerate(MOUTH_FIELDS):
        known = ~np.isnan(truth[:, i])
        out[name] = float(np.corrcoef(predicted[known, i], truth[known, i])[0, 1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--weights", type=Path, nargs="+", required=True)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    source = open_corpus([str(c) for c in args.corpus])
    # The pairs and their no-op error depend on the corpus and the model's clip shape only
    # (the weights compared share a preset): made once.
    dataset = TrainingExamples(source, load_model(args.weights[0]).config, TrainConfig())
    pairs = validation_pairs(dataset, args.pairs, 0)
    sources = torch.stack([to_model_range(dataset.segment_crops(s)) for s, _ in pairs])
    targets = torch.stack([to_model_range(dataset.segment_crops(t)) for _, t in pairs])
    mouth = torch.from_numpy(np.stack([dataset.segment_mouth(t) for _, t in pairs]))
    noop = mouth_error(sources, targets, mouth)
    rows = []
    for weights in args.weights:
        model = load_model(weights)
        rows.append((weights, viseme_correlations(model, dataset, pairs), audio_probe(model, dataset, pairs), noop))
        print(rows[-1], flush=True)
    lines = ["# Does the audio know the mouth, and does the network use it?", "",
             f"`python bench/audio_use.py {' '.join(map(str, args.corpus))} --weights "
             f"{' '.join(map(str, args.weights))} --pairs {args.pairs}`: {args.pairs} training pseudo-pairs "
             "(seed 0). Viseme r: the viseme head's read-out of the audio embedding vs the parameters that drew "
             "each frame. Mouth error (x 1000, [-1, 1] units, mouth-weighted) of one-step predictions at sigma 0.92 "
             "with own / another clip's / null audio, from the noised target and from the noised source (a dub).", "",
             "| weights | viseme r (" + ", ".join(MOUTH_FIELDS) + ") | no-op | from target: own / other / null "
             "| from source: own / other / null |", "|---|---|---|---|---|"]
    for weights, r, probe, noop in rows:
        lines.append(f"| `{weights}` | {' / '.join(f'{r[k]:.2f}' for k in MOUTH_FIELDS)} | {1000 * noop:.2f} | "
                     f"{1000 * probe['own']:.2f} / {1000 * probe['other']:.2f} / {1000 * probe['null']:.2f} | "
                     f"{1000 * probe['dub_own']:.2f} / {1000 * probe['dub_other']:.2f} / "
                     f"{1000 * probe['dub_null']:.2f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
