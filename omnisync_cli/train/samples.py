"""Validation samples during training: dub a few pseudo-pairs with the EMA weights, exactly
as `omnisync dub` would (model.editor.ModelEditor: progressive init + DS-CFG), and write one
PNG per check: a row per clip, source | sampled | target, each a strip of the clip's frames.

The source is the scene rendered with one utterance, the target the same scene with
another; the sample gets the source pixels and the target's audio, so a good model turns
the left strip into the right one.
"""

from pathlib import Path

import cv2
import numpy as np
import torch

from omnisync_cli.data.pairs import Segment
from omnisync_cli.model.editor import ModelEditor, SamplerConfig

GAP = 4  # white pixels between the three strips


def validation_pairs(dataset, count: int, seed: int) -> list[tuple[Segment, Segment]]:
    """(source, target) pseudo-pairs from distinct clips, fixed by the seed."""
    rng = np.random.default_rng([seed, 0x5A3])
    clips = sorted({c for c, _ in dataset.index.targets if dataset.index.has_pseudo_pair(c)})
    pairs = []
    for clip in rng.permutation(clips)[:count]:
        start = int(rng.integers(dataset.index.max_start(int(clip)) + 1))
        pairs.append((Segment(int(clip), 0, start), Segment(int(clip), 1, start)))
    return pairs


@torch.no_grad()
def write_samples(model, dataset, pairs: list[tuple[Segment, Segment]], path: str | Path,
                  steps: int, device: torch.device, seed: int = 0) -> Path | None:
    """Sample every pair with `model` and write the PNG grid to `path`; None if no pairs."""
    if not pairs:
        return None
    sampler = SamplerConfig(steps=steps, seed=seed, device=str(device))
    rows = []
    for source_seg, target_seg in pairs:
        clip = dataset.clip(target_seg.clip)
        editor = ModelEditor(model, sampler, prompt=clip.prompts[target_seg.rendering],
                             audio_frontend=dataset.frontend, text_encoder=dataset.text_encoder)
        source = dataset.segment_crops(source_seg)  # (F, S, S, 3) uint8
        target = dataset.segment_crops(target_seg)
        times = (target_seg.start + np.arange(len(target))) / clip.fps
        audio = editor.prepare_audio(clip.waveforms[target_seg.rendering])
        sampled = editor.edit(source, times, dataset.segment_mouth(target_seg), audio)
        gap = np.full((source.shape[1], GAP, 3), 255, np.uint8)
        strips = [np.concatenate(list(c), axis=1) for c in (source, sampled, target)]  # (S, F*S, 3)
        rows.append(np.concatenate([strips[0], gap, strips[1], gap, strips[2]], axis=1))
        rows.append(np.full((GAP, rows[-1].shape[1], 3), 255, np.uint8))
    grid = np.concatenate(rows[:-1], axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path
