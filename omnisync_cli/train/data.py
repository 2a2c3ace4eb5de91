"""Training examples from a corpus of clips: target segment, Eq. 3 condition, audio, prompt.

Every random choice of an example (segment start, sigma, pair branch and condition,
dropout, augmentation, noise) is drawn from generators seeded by (run seed, epoch, item),
so an example is a pure function of its key; `StreamSampler` hands out the keys in a
seeded order, sharded per DDP rank. Resuming at step k is starting the stream at position
k x batch, and two ranks never need to agree on anything but the seed.
"""

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from omnisync_cli.data.mouth_swap import swap_mouths
from omnisync_cli.data.pairs import ClipInfo, PairIndex, Segment, draw_dropout, sample_pair
from omnisync_cli.diffusion.flow import source_start_noise
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.model.audio import AudioFeatures, build_audio_frontend, windows_at
from omnisync_cli.model.config import ModelConfig
from omnisync_cli.model.dit import MOUTH_PARAMETERS
from omnisync_cli.model.mouth_hiding import hide_mouth
from omnisync_cli.model.text import build_text_encoder
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.schedules import sigma_sampler


@dataclass(frozen=True)
class ClipData:
    """One clip (scene) with all its renderings, as the corpus stores it."""

    crops: list[np.ndarray]  # per rendering (T, S0, S0, 3) uint8 working-region crops
    mouth_xy: list[np.ndarray]  # per rendering (T, 2) mouth centre in [0, 1] crop coordinates
    waveforms: list[np.ndarray]  # per rendering mono float32 at 16 kHz; frame j at j / fps s
    fps: float
    prompts: list[str]  # per rendering ("" for none)
    visemes: list[np.ndarray] = field(default_factory=list)  # per rendering (T, 5); [] if unknown


# Whole-utterance features kept in memory, each computed once per run instead of once per
# example: a 3 s track is ~230 KB of Whisper rows (150 x 384) or ~100 KB of log-mel, so the
# default corpus's 1152 renderings take ~270 MB; 4096 bounds a larger corpus at ~1 GB.
FEATURE_CACHE = 4096


class ClipSource(Protocol):
    """A corpus the dataset can read: light metadata for pair sampling, pixels on demand."""

    def __len__(self) -> int: ...
    def info(self, i: int) -> ClipInfo: ...
    def load(self, i: int) -> ClipData: ...


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """(F, S0, S0, 3) uint8 -> (F, size, size, 3); area filter when shrinking."""
    if crops.shape[1] == size:
        return crops
    interp = cv2.INTER_AREA if crops.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(c, (size, size), interpolation=interp) for c in crops])


def central_crops(crops: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(F, S0, S0, 3) -> (F, size, size, 3): the centred square of `scale` x S0 side, by the
    pipeline's own resampling rule (face.region.crop_region); scale 1 is resize_crops."""
    if scale == 1.0:
        return resize_crops(crops, size)
    side = crops.shape[1]
    box = RegionBox(side / 2, side / 2, scale * side)
    return np.stack([crop_region(c, box, size) for c in crops])


def central_mouth(mouth_xy: np.ndarray, scale: float) -> np.ndarray:
    """Mouth positions (..., 2) in [0, 1] of a crop -> in its centred `scale` part, clipped
    to [0, 1] as the pipeline's MouthTrack.mouth_in_box does."""
    if scale == 1.0:
        return mouth_xy
    return np.clip(0.5 + (np.asarray(mouth_xy) - 0.5) / scale, 0.0, 1.0).astype(np.float32)


def reference_picks(frames: int, count: int, rng: np.random.Generator,
                    excluded: range = range(0)) -> np.ndarray:
    """(count,) sorted frame indices of a rendering for the reference frames, uniform without
    repeats (with repeats when too few remain), never inside `excluded` (the target window when
    the references come from the target's own rendering: its own lips would leak)."""
    allowed = np.array([j for j in range(frames) if j not in excluded])
    if len(allowed) == 0:
        raise ValueError(f"no frame left for reference frames outside {excluded} of {frames}")
    return np.sort(rng.choice(allowed, count, replace=len(allowed) < count))


def to_model_range(crops: np.ndarray) -> torch.Tensor:
    """(F, S, S, 3) uint8 -> (F, 3, S, S) float32 in [-1, 1] (as model.editor.crops_to_tensor)."""
    return torch.from_numpy(np.ascontiguousarray(crops)).float().permute(0, 3, 1, 2) / 127.5 - 1.0


def color_jitter(x: torch.Tensor, brightness: float, contrast: float, saturation: float) -> torch.Tensor:
    """Scale brightness, contrast (about the clip mean) and saturation (about the grey value)
    of (F, 3, S, S) clips in [-1, 1] by (1 + each factor); clamps to [-1, 1]."""
    x = (x + 1) * (1 + brightness) - 1
    x = (x - x.mean()) * (1 + contrast) + x.mean()
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])  # (F, 1, S, S)
    x = grey + (x - grey) * (1 + saturation)
    return x.clamp(-1, 1)


def _cached(cache: OrderedDict, key, make, capacity: int):
    """cache[key], made on a miss; least recently used entries go beyond `capacity`."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    cache[key] = value = make()
    if len(cache) > capacity:
        cache.popitem(last=False)
    return value


# A lent mouth is one of this many nearest by mouth parameters: a dub reads them from sound,
# imperfectly, so training does not hand over the exact one.
LENT_CANDIDATES = 3


class TrainingExamples(Dataset):
    """Map-style dataset whose keys are (epoch, item); `item` indexes `index.targets`."""

    def __init__(self, source: ClipSource, model_config: ModelConfig, config: TrainConfig,
                 cache_clips: int = 32):
        self.source = source
        self.model_config = model_config
        self.config = config
        self.index = PairIndex([source.info(i) for i in range(len(source))], model_config.segment_frames)
        if not self.index.targets:
            raise ValueError("the corpus has no clip usable as a training target (each needs "
                             f"{model_config.segment_frames} frames and another window of its character)")
        self.frontend = build_audio_frontend(model_config)
        self.text_encoder = build_text_encoder(model_config)
        self._clips: OrderedDict[int, ClipData] = OrderedDict()
        self._features: OrderedDict[tuple[int, int], AudioFeatures] = OrderedDict()
        self._cache_clips = cache_clips

    def __len__(self) -> int:
        return len(self.index.targets)

    def clip(self, i: int) -> ClipData:
        """Clip `i`, from a small LRU cache (one example reads two clips at most)."""
        return _cached(self._clips, i, lambda: self.source.load(i), self._cache_clips)

    def features(self, clip: int, rendering: int) -> AudioFeatures:
        """Whole-utterance audio features of a rendering (cached: the frontend costs more
        than the rest of an example; a Whisper chunk ~0.15 s)."""
        return _cached(self._features, (clip, rendering),
                       lambda: self.frontend.features(self.clip(clip).waveforms[rendering]),
                       FEATURE_CACHE)

    def segment_crops(self, seg: Segment) -> np.ndarray:
        """(F, S, S, 3) uint8 crops of a segment at the model's region size."""
        f = self.model_config.segment_frames
        return central_crops(self.clip(seg.clip).crops[seg.rendering][seg.start:seg.start + f],
                             self.config.region_scale, self.model_config.region_size)

    def segment_audio(self, seg: Segment) -> torch.Tensor:
        """(F, W, C) audio windows of the segment's own utterance at its frame times."""
        clip = self.clip(seg.clip)
        times = (seg.start + np.arange(self.model_config.segment_frames)) / clip.fps
        return windows_at(self.features(seg.clip, seg.rendering), times, self.model_config.audio_window_s)

    def segment_mouth(self, seg: Segment) -> np.ndarray:
        f = self.model_config.segment_frames
        mouth = np.asarray(self.clip(seg.clip).mouth_xy[seg.rendering][seg.start:seg.start + f], np.float32)
        return central_mouth(mouth, self.config.region_scale)

    def segment_visemes(self, seg: Segment) -> torch.Tensor:
        """(F, 5) mouth parameters that drove the segment's rendering; NaN where unknown
        (real videos), which the viseme loss skips."""
        f = self.model_config.segment_frames
        known = self.clip(seg.clip).visemes
        if not known:
            return torch.full((f, MOUTH_PARAMETERS), float("nan"))
        return torch.from_numpy(np.asarray(known[seg.rendering][seg.start:seg.start + f], np.float32))

    def reference_crops(self, target: Segment, condition: Segment, rng: np.random.Generator,
                        count: int | None = None) -> np.ndarray:
        """(K, S, S, 3) uint8 crops of the condition's rendering at random moments: what a dub
        gives as references (the source video at other times). Frames of the target window
        are never taken from the target's own rendering. K: `count`, else the model's."""
        f = self.model_config.segment_frames
        k = self.model_config.reference_frames if count is None else count
        crops = self.clip(condition.clip).crops[condition.rendering]
        same = (condition.clip, condition.rendering) == (target.clip, target.rendering)
        picks = reference_picks(len(crops), k, rng, range(target.start, target.start + f) if same else range(0))
        return central_crops(crops[picks], self.config.region_scale, self.model_config.region_size)

    def lent_mouths(self, target: Segment, condition: Segment, rng: np.random.Generator) -> np.ndarray:
        """(F, S, S, 3) uint8: the condition's crops, each with the mouth of the condition's
        rendering at the frame whose mouth parameters are among the 3 nearest the target
        frame's (the sound reading of a dub's mouth bank, with its misses)."""
        f = self.model_config.segment_frames
        clip = self.clip(condition.clip)
        wanted = np.asarray(self.clip(target.clip).visemes[target.rendering][target.start:target.start + f], np.float32)
        bank = np.asarray(clip.visemes[condition.rendering], np.float32)  # (T, 5)
        distance = ((wanted[:, None] - bank[None]) ** 2).sum(-1)  # (F, T)
        nearest = np.argsort(distance, axis=1)[:, :LENT_CANDIDATES]
        donors = nearest[np.arange(f), rng.integers(nearest.shape[1], size=f)]
        scale, size = self.config.region_scale, self.model_config.region_size
        all_crops = clip.crops[condition.rendering]
        all_mouths = np.asarray(clip.mouth_xy[condition.rendering], np.float32)
        crops = central_crops(all_crops[condition.start:condition.start + f], scale, size)
        mouth = central_mouth(all_mouths[condition.start:condition.start + f], scale)
        return swap_mouths(crops, mouth, central_crops(all_crops[donors], scale, size),
                           central_mouth(all_mouths[donors], scale))

    def text(self, seg: Segment) -> torch.Tensor | None:
        return self.text_encoder(self.clip(seg.clip).prompts[seg.rendering])

    def __getitem__(self, key: tuple[int, int]) -> dict:
        epoch, item = key
        cfg, mcfg = self.config, self.model_config
        rng = np.random.default_rng([cfg.seed, epoch, item])
        gen = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
        clip, rendering = self.index.targets[item]
        target = Segment(clip, rendering, int(rng.integers(self.index.max_start(clip) + 1)))
        draw_sigma = sigma_sampler(cfg.sigma_dist, gen, cfg.sigma_mean, cfg.sigma_std,
                                   cfg.sigma_uniform_weight, tuple(cfg.sampler_sigmas), cfg.sampler_jitter)
        sigma, condition, branch = sample_pair(target, self.index, rng, draw_sigma, cfg.pair_threshold)
        drop_audio, drop_text = draw_dropout(rng, cfg.p_drop_audio, cfg.p_drop_text, cfg.p_drop_both)
        flip = bool(rng.random() < cfg.flip_prob)
        jitter = rng.uniform(-cfg.color_jitter, cfg.color_jitter, size=3)

        x = to_model_range(self.segment_crops(target))  # (F, 3, S, S)
        source = to_model_range(self.segment_crops(condition))  # (F, 3, S, S)
        mouth, source_mouth = self.segment_mouth(target), self.segment_mouth(condition)  # (F, 2) each
        # (K, 3, S, S); drawn after every other choice, so that the rest of an example does
        # not depend on whether the model takes references
        refs = (to_model_range(self.reference_crops(target, condition, rng)) if mcfg.reference_frames
                else torch.zeros(0, *x.shape[1:]))
        hidden = bool(rng.random() < cfg.hide_mouth_share)  # drawn after the rest, for the same reason
        lent = (bool(rng.random() < cfg.lend_mouth_share)  # needs both clips' mouth parameters
                and bool(self.clip(target.clip).visemes) and bool(self.clip(condition.clip).visemes))
        if lent:  # the last draws: the condition with mouths lent by sound, as in a dub with the bank
            source = to_model_range(self.lent_mouths(target, condition, rng))
        if flip:  # the same mirror on target, condition, references and mouth tracks
            x, source, refs = x.flip(-1), source.flip(-1), refs.flip(-1)
            mouth, source_mouth = (np.stack([1.0 - m[:, 0], m[:, 1]], axis=1) for m in (mouth, source_mouth))
        if cfg.color_jitter > 0:  # the same colour change on all
            x, source = color_jitter(x, *jitter), color_jitter(source, *jitter)
            if len(refs):
                refs = color_jitter(refs, *jitter)
        if hidden:  # before the noise: a pseudo-pair's start is then the hidden source, as in a dub
            source = hide_mouth(source, torch.from_numpy(source_mouth.astype(np.float32)))
        text = self.text(target)
        if text is None:  # no prompt: the learned null text, as at inference
            text, drop_text = torch.zeros(mcfg.text_dim), True
        noise = torch.randn(x.shape, generator=gen)  # (F, 3, S, S)
        if branch == "pseudo" and 0 < cfg.source_start_sigma <= sigma:  # start where a dub starts
            noise = source_start_noise(noise, x, source, torch.tensor(sigma))
        return {
            "x": x,
            "source": source,
            "references": refs,  # (K, 3, S, S); K = 0 for a model without references
            "audio": self.segment_audio(target),  # (F, W, C)
            "text": text,  # (text_dim,)
            "sigma": torch.tensor(sigma, dtype=torch.float32),
            "noise": noise,
            "drop_audio": torch.tensor(drop_audio),
            "drop_text": torch.tensor(drop_text),
            "mouth_xy": torch.from_numpy(mouth.astype(np.float32)),
            "visemes": self.segment_visemes(target),  # (F, 5), NaN if unknown; symmetric under flip
            "pseudo": torch.tensor(branch == "pseudo"),
            "mouth_hidden": torch.tensor(hidden),
            "mouth_lent": torch.tensor(lent),
            "target_segment": torch.tensor([target.clip, target.rendering, target.start]),
            "condition_segment": torch.tensor([condition.clip, condition.rendering, condition.start]),
        }


class StreamSampler(Sampler):
    """Endless stream of (epoch, item) keys for one rank, starting at `position`.

    Each epoch is a seeded permutation of the items, padded by wrapping to a multiple of
    `world` and dealt round-robin (as torch's DistributedSampler), so ranks see disjoint
    items and each rank's k-th key depends only on (seed, rank, world, k).
    """

    def __init__(self, items: int, seed: int, rank: int = 0, world: int = 1, position: int = 0):
        self.items, self.seed, self.rank, self.world = items, seed, rank, world
        self.per_rank = -(-items // world)  # ceil
        self.position = position

    def epoch_keys(self, epoch: int) -> list[tuple[int, int]]:
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.items)
        padded = np.resize(perm, self.per_rank * self.world)  # wraps around, like DistributedSampler
        return [(epoch, int(i)) for i in padded[self.rank::self.world]]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, offset = divmod(self.position, self.per_rank)
        while True:
            yield from self.epoch_keys(epoch)[offset:]
            epoch, offset = epoch + 1, 0
