"""The audio probe: does the audio, not the source, decide the mouth?

    probe = audio_probe(model, dataset, pairs)   # {"own": .., "other": .., "null": .., "gap": ..}

On fixed validation pseudo-pairs (source = the scene with one utterance, target = the same
frames with another; `samples.validation_pairs`) the model predicts the clean clip in one
step from the progressive-initialisation level (sigma 0.92, the level a dub starts from)
three times, with the same noise: with the target's own audio, with another clip's audio,
and with the null audio. The error is measured at the mouth (the training loss's Gaussian
bump around each frame's mouth centre, normalised to a weighted mean), in [-1, 1] units.

A model that listens has `own` clearly below `other` and `null`; one that copies the
source has all three equal (the failure the model issue set out to kill). `gap` is
other - own. The training loop logs it at every sample check; the model card quotes the
final one.

The noised clip is built two ways: from the target (Eq. 2's path, the keys above), where
its faint mouth (8 % of the picture at sigma 0.92) tells the answer, and from the source
as a dub starts (Eq. 5, keys `dub_own`, `dub_other`, `dub_null`, `dub_gap`), where only the
audio can. Measured on the stage-5 model: own 0.0288 / null 0.0289 from the target, 0.0328
/ 0.0338 from the source, against 0.0454 for the unedited source mouth.
"""

import numpy as np
import torch

from omnisync_cli.data.pairs import Segment
from omnisync_cli.diffusion.flow import noise_path
from omnisync_cli.model.dit import clean_estimate
from omnisync_cli.train.data import to_model_range
from omnisync_cli.train.objectives import mouth_weight_map

PROBE_CLIPS = 16  # validation pseudo-pairs the training log probes (training clips, fixed by the seed)
PROBE_SIGMA = 0.92  # the default tau: the level a dub starts from
PROBE_RADIUS = 0.12  # the mouth bump's sd as a share of the crop (the training loss's default)


def mouth_error(x_hat: torch.Tensor, target: torch.Tensor, mouth_xy: torch.Tensor) -> float:
    """Mean squared error weighted by a bump at each frame's mouth (weights sum to 1 per frame)."""
    bump = mouth_weight_map(mouth_xy, target.shape[-1], 1.0, PROBE_RADIUS) - 1.0  # (B, F, 1, S, S)
    bump = bump / bump.sum(dim=(-2, -1), keepdim=True)
    per_frame = (((x_hat.float() - target.float()) ** 2).mean(2, keepdim=True) * bump).sum((-2, -1))
    return float(per_frame.mean())


@torch.no_grad()
def audio_probe(model, dataset, pairs: list[tuple[Segment, Segment]], sigma: float = PROBE_SIGMA,
                seed: int = 0) -> dict[str, float]:
    """Mouth error of one-step predictions with own / another clip's / null audio (see above)."""
    if len(pairs) < 2:
        raise ValueError("the audio probe needs at least two validation pairs (one lends the other its audio)")
    model.eval()
    device = next(model.parameters()).device
    sources = torch.stack([to_model_range(dataset.segment_crops(s)) for s, _ in pairs]).to(device)
    targets = torch.stack([to_model_range(dataset.segment_crops(t)) for _, t in pairs]).to(device)
    audio = torch.stack([dataset.segment_audio(t) for _, t in pairs]).to(device)
    mouth = torch.from_numpy(np.stack([dataset.segment_mouth(t) for _, t in pairs])).to(device)
    text = torch.zeros(len(pairs), model.config.text_dim, device=device)
    no_text = torch.ones(len(pairs), dtype=torch.bool, device=device)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(targets.shape, generator=gen).to(device)
    level = torch.full((len(pairs),), sigma, device=device)
    refs = None  # a model with reference frames gets them from the source's rendering, as in a dub
    if model.config.reference_frames:
        picks = np.random.default_rng(seed)
        refs = torch.stack([to_model_range(dataset.reference_crops(t, s, picks, model.config.reference_frames))
                            for s, t in pairs]).to(device)

    def error(x_sigma: torch.Tensor, clip_audio: torch.Tensor, drop: bool) -> float:
        drop_audio = torch.full((len(pairs),), drop, dtype=torch.bool, device=device)
        v = model(x_sigma, level, sources, clip_audio, text, drop_audio=drop_audio, drop_text=no_text,
                  references=refs)
        return mouth_error(clean_estimate(model.config, x_sigma, v, level), targets, mouth)

    result: dict[str, float] = {"sigma": sigma}
    # From the noised target (Eq. 2's path), then from the noised source as a dub starts (Eq. 5).
    for prefix, start in (("", targets), ("dub_", sources)):
        x_sigma = noise_path(start, noise, level)
        own = error(x_sigma, audio, False)
        other = error(x_sigma, audio.roll(1, dims=0), False)  # each pair hears the next pair's clip
        null = error(x_sigma, audio, True)
        result.update({f"{prefix}own": round(own, 5), f"{prefix}other": round(other, 5),
                       f"{prefix}null": round(null, 5), f"{prefix}gap": round(other - own, 5)})
    return result
