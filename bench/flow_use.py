"""How far does a model's displacement head (`train --output-flow`) move the source's pixels?

    python bench/flow_use.py CORPUS [CORPUS ...] --weights DIR [DIR ...] [--pairs 16] [--write FILE]

On the training log's probe pairs (`train.samples.validation_pairs`, seed 0), one forward at
sigma 0.92 from the noised source (a dub's start) with the clip's own audio; the head's
displacement field is read per pixel: its mean length within 8 px of each frame's mouth,
beyond 20 px of it, and its 99th percentile and maximum. A head that has learned its job
moves pixels at the mouth (a lip's travel is a few pixels) and leaves the rest still.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from omnisync_cli.model.dit import FLOW_PIXELS
from omnisync_cli.model.weights import load_model
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.data import TrainingExamples, to_model_range
from omnisync_cli.train.probe import PROBE_SIGMA
from omnisync_cli.train.samples import validation_pairs

from markdown_out import emit  # bench/markdown_out.py


@torch.no_grad()
def displacement(model, dataset, pairs) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, F, S, S) displacement lengths in pixels and distances to the mouth in pixels."""
    source = torch.stack([to_model_range(dataset.segment_crops(s)) for s, _ in pairs])
    audio = torch.stack([dataset.segment_audio(t) for _, t in pairs])
    mouth = torch.from_numpy(np.stack([dataset.segment_mouth(t) for _, t in pairs])).float()  # (B, F, 2) in [0, 1]
    noise = torch.randn(source.shape, generator=torch.Generator().manual_seed(0))
    x = (1 - PROBE_SIGMA) * source + PROBE_SIGMA * noise
    fields = []
    hook = model.flow_head.register_forward_hook(lambda m, i, out: fields.append(out))
    model(x, torch.full((len(pairs),), PROBE_SIGMA), source, audio)
    hook.remove()
    size = source.shape[-1]
    length = (FLOW_PIXELS * model.unpatchify(fields[0], size)).norm(dim=2)
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    centre = mouth * size
    distance = ((xs - centre[..., 0, None, None]) ** 2 + (ys - centre[..., 1, None, None]) ** 2).sqrt()
    return length, distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--weights", nargs="+", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = ["# How far the displacement head moves the source's pixels", "",
             f"`python bench/flow_use.py {' '.join(map(str, args.corpus))} --weights "
             f"{' '.join(map(str, args.weights))} --pairs {args.pairs}`: one forward at sigma {PROBE_SIGMA} from "
             "the noised source with the clip's own audio, on the training log's probe pairs; lengths in pixels "
             "of the 64 px working region.", "",
             "| weights | mean within 8 px of the mouth | mean beyond 20 px | 99th percentile | max |",
             "|---|---|---|---|---|"]
    for weights in args.weights:
        model = load_model(weights, "cpu").eval()
        if model.flow_head is None:
            lines.append(f"| `{weights}` | no displacement head | | | |")
            continue
        dataset = TrainingExamples(open_corpus([str(c) for c in args.corpus]), model.config, TrainConfig())
        length, distance = displacement(model, dataset, validation_pairs(dataset, args.pairs, 0))
        lines.append(f"| `{weights}` | {length[distance < 8].mean():.3f} | {length[distance > 20].mean():.3f} | "
                     f"{length.flatten().quantile(0.99):.3f} | {length.max():.3f} |")
    emit(lines, args.write)


if __name__ == "__main__":
    main()
