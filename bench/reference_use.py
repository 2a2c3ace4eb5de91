"""Does a model with reference frames read them? The audio probe's mouth error with four kinds of references.

    python bench/reference_use.py CORPUS [CORPUS ...] --weights DIR [--pairs 16]
        [--fit-references STEPS --lr 1e-3 --out DIR] [--write FILE]

On the training log's probe pairs (`train.samples.validation_pairs`, seed 0), the mouth error
(x 1000) of one-step predictions at sigma 0.92 from the noised source, as a dub starts, with the
clip's own audio and:
  - its references: K frames of the source's rendering at other moments (as training and the
    dub give them);
  - none (the plain network's path);
  - another probe clip's references (another character);
  - the target window's own frames (an oracle: the answer, never shown in training).
A model that copies this character's mouth from its references is best with its own or the
oracle's and worse with another character's; one that ignores them reads the same four times.

`--fit-references STEPS`: first train only the reference attention (every other weight frozen)
for STEPS batches of 8 at `--lr` with the run's own loss weights (training.json beside the
weights; no sync loss), save it to `--out`, and probe that: whether the attention can learn to
use the references at all when nothing else moves.

`--hide-source-mouth`: in the fit and the probe, the source clip's mouth box (`model.mouth_hiding.HIDDEN_SIDE` of the
crop around each frame's mouth centre) is filled with the frame's mean colour, so the references
are the only place where this character's mouth can be seen: does the attention read them then?
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate

from omnisync_cli.diffusion.flow import noise_path
from omnisync_cli.model.dit import clean_estimate
from omnisync_cli.model.mouth_hiding import hide_mouth
from omnisync_cli.model.weights import load_model, save_model
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.data import StreamSampler, TrainingExamples, to_model_range
from omnisync_cli.train.loop import batch_loss
from omnisync_cli.train.probe import PROBE_SIGMA, mouth_error
from omnisync_cli.train.samples import validation_pairs

from markdown_out import emit  # bench/markdown_out.py


def fit_references(model, dataset: TrainingExamples, steps: int, lr: float, seed: int = 7,
                   hide: bool = False) -> list[float]:
    """Train the reference attention alone (the rest frozen); returns the loss per step."""
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("reference_") or ".ref_attn." in name)
    params = [p for p in model.parameters() if p.requires_grad]
    # the run's own loss (train.loop.batch_loss) without its sync and viseme terms
    config = replace(dataset.config, sync_loss_weight=0.0, viseme_loss_weight=0.0)
    loader = DataLoader(dataset, batch_size=8, sampler=StreamSampler(len(dataset), seed), collate_fn=default_collate)
    optimizer = torch.optim.AdamW(params, lr=lr)
    batches, losses = iter(loader), []
    model.train()
    for step in range(steps):
        b = next(batches)
        if hide:
            b["source"] = hide_mouth(b["source"], b["mouth_xy"])
        loss = batch_loss(model, model, b, config, None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}: loss {np.mean(losses[-50:]):.4f}", flush=True)
    model.eval().requires_grad_(False)
    return losses


@torch.no_grad()
def reference_errors(model, dataset: TrainingExamples, pairs, hide: bool = False) -> dict[str, float]:
    """Mouth error x 1000 of the dub-start prediction with each kind of references (and the
    source's mouth hidden with `hide`; the no-op error is always the visible source's)."""
    sources = torch.stack([to_model_range(dataset.segment_crops(s)) for s, _ in pairs])
    targets = torch.stack([to_model_range(dataset.segment_crops(t)) for _, t in pairs])
    audio = torch.stack([dataset.segment_audio(t) for _, t in pairs])
    mouth = torch.from_numpy(np.stack([dataset.segment_mouth(t) for _, t in pairs]))
    noop = 1000 * mouth_error(sources, targets, mouth)
    if hide:
        sources = hide_mouth(sources, mouth)
    k, f = model.config.reference_frames, model.config.segment_frames
    picks = np.random.default_rng(0)
    own = torch.stack([to_model_range(dataset.reference_crops(t, s, picks, k)) for s, t in pairs])
    oracle = targets[:, np.linspace(0, f - 1, k).round().astype(int)]
    noise = torch.randn(targets.shape, generator=torch.Generator().manual_seed(0))
    level = torch.full((len(pairs),), PROBE_SIGMA)
    x_sigma = noise_path(sources, noise, level)
    text = torch.zeros(len(pairs), model.config.text_dim)
    kinds = {"no-op": None, "own references": own, "none": None, "another clip's": own.roll(1, dims=0),
             "target frames (oracle)": oracle}
    out = {"no-op": noop}
    for name, refs in list(kinds.items())[1:]:
        v = model(x_sigma, level, sources, audio, text, drop_audio=torch.zeros(len(pairs), dtype=torch.bool),
                  drop_text=torch.ones(len(pairs), dtype=torch.bool), references=refs)
        out[name] = 1000 * mouth_error(clean_estimate(model.config, x_sigma, v, level), targets, mouth)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--fit-references", type=int, default=0, metavar="STEPS")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, default=None, help="where --fit-references saves its model")
    parser.add_argument("--hide-source-mouth", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.weights).eval()
    if not model.config.reference_frames:
        parser.error(f"{args.weights} holds a model without reference frames")
    run = json.loads((args.weights / "training.json").read_text())["config"]
    dataset = TrainingExamples(open_corpus([str(c) for c in args.corpus]), model.config,
                               TrainConfig.from_dict({**run, "seed": 7}))
    probed = args.weights
    if args.fit_references:
        if args.out is None:
            parser.error("--fit-references needs --out")
        fit_references(model, dataset, args.fit_references, args.lr, hide=args.hide_source_mouth)
        save_model(model, args.out)
        probed = args.out
    errors = reference_errors(model, dataset, validation_pairs(dataset, args.pairs, 0), args.hide_source_mouth)
    fitted = f", its reference attention then trained alone for {args.fit_references} steps at lr {args.lr:g}" \
        if args.fit_references else ""
    lines = ["# Does the model read its references?", "",
             f"`python bench/reference_use.py {' '.join(map(str, args.corpus))} --weights {args.weights} "
             f"--pairs {args.pairs}" + (f" --fit-references {args.fit_references} --lr {args.lr:g} --out {args.out}"
                                         if args.fit_references else "")
             + (" --hide-source-mouth" if args.hide_source_mouth else "") + "`",
             f"(`{probed}`{fitted}): mouth error x 1000 of the one-step prediction at sigma {PROBE_SIGMA} from "
             "the noised source, own audio, on the training log's probe pairs"
             + (" (the source's mouth hidden; the no-op is the visible source's)" if args.hide_source_mouth else "")
             + ".", "",
             "| " + " | ".join(errors) + " |", "|" + "---|" * len(errors),
             "| " + " | ".join(f"{v:.2f}" for v in errors.values()) + " |"]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
