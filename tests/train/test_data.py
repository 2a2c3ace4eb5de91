"""Training examples: shapes, determinism from the key, shared augmentation, data stream."""

import numpy as np
import pytest
import torch

from omnisync_cli.data.pairs import Segment
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.mouth_hiding import hide_mouth
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import StreamSampler, TrainingExamples


def dataset(corpus, **kw):
    return TrainingExamples(corpus, get_preset("tiny"), TrainConfig(preset="tiny", **kw))


def test_example_shapes_and_ranges(corpus):
    ds = dataset(corpus)
    ex = ds[(0, 0)]
    f, s = 4, 16
    assert ex["x"].shape == ex["source"].shape == ex["noise"].shape == (f, 3, s, s)
    assert ex["x"].min() >= -1 and ex["x"].max() <= 1
    assert ex["audio"].shape[0] == f and ex["audio"].ndim == 3  # (F, W, C)
    assert ex["text"].shape == (32,) and ex["mouth_xy"].shape == (f, 2)
    assert ex["visemes"].shape == (f, 5) and not ex["visemes"].isnan().any()
    assert 0 <= ex["sigma"] <= 1


def test_example_is_a_function_of_its_key(corpus):
    a, b = dataset(corpus), dataset(corpus)
    for key in [(0, 1), (3, 5)]:
        ea, eb = a[key], b[key]
        assert all(torch.equal(ea[k], eb[k]) for k in ea)
    assert not torch.equal(a[(0, 1)]["noise"], a[(1, 1)]["noise"])


def test_source_start_moves_high_noise_pseudo_pairs_onto_the_noised_source(corpus):
    plain = dataset(corpus, pair_threshold=0.1)
    started = dataset(corpus, pair_threshold=0.1, source_start_sigma=0.5)
    moved = kept = 0
    for key in [(0, i) for i in range(12)]:
        a, b = plain[key], started[key]
        assert all(torch.equal(a[k], b[k]) for k in a if k != "noise")  # same draws otherwise
        s = float(a["sigma"])
        if bool(a["pseudo"]) and s >= 0.5:
            start = (1 - s) * a["source"] + s * a["noise"]
            torch.testing.assert_close((1 - s) * b["x"] + s * b["noise"], start, atol=1e-5, rtol=0)
            moved += 1
        else:
            assert torch.equal(a["noise"], b["noise"])
            kept += 1
    assert moved and kept


def test_flip_and_colour_jitter_hit_target_and_condition_alike(corpus):
    ds = dataset(corpus, flip_prob=1.0, color_jitter=0.0, p_drop_audio=0, p_drop_text=0, p_drop_both=0)
    plain = dataset(corpus, flip_prob=0.0, color_jitter=0.0, p_drop_audio=0, p_drop_text=0, p_drop_both=0)
    flipped, ref = ds[(0, 2)], plain[(0, 2)]
    torch.testing.assert_close(flipped["x"], ref["x"].flip(-1))
    torch.testing.assert_close(flipped["source"], ref["source"].flip(-1))
    torch.testing.assert_close(flipped["mouth_xy"][:, 0], 1 - ref["mouth_xy"][:, 0])


def test_stream_sampler_shards_ranks_and_resumes_at_a_position():
    world, n = 2, 7
    streams = [StreamSampler(n, 0, r, world) for r in range(world)]
    first = [[k for _, k in zip(range(4), iter(s))] for s in streams]
    items = [i for keys in first for _, i in keys]
    assert sorted(items) == sorted(np.resize(np.random.default_rng([0, 0]).permutation(n), 8))
    whole = [k for _, k in zip(range(20), iter(StreamSampler(n, 0, 1, world)))]
    later = [k for _, k in zip(range(10), iter(StreamSampler(n, 0, 1, world, position=10)))]
    assert later == whole[10:]


def test_example_pairs_target_audio_with_an_eq3_condition(corpus):
    from omnisync_cli.data.pairs import Segment
    from omnisync_cli.train.data import to_model_range
    ds = dataset(corpus, flip_prob=0.0, color_jitter=0.0)
    branches = set()
    for item in range(len(ds)):
        ex = ds[(0, item)]
        target, cond = (Segment(*map(int, ex[k])) for k in ("target_segment", "condition_segment"))
        assert (target.clip, target.rendering) == ds.index.targets[item]
        torch.testing.assert_close(ex["x"], to_model_range(ds.segment_crops(target)))
        torch.testing.assert_close(ex["source"], to_model_range(ds.segment_crops(cond)))
        torch.testing.assert_close(ex["audio"], ds.segment_audio(target))  # the TARGET's utterance
        assert bool(ex["pseudo"]) == (ex["sigma"] > 0.85)
        assert not (cond.clip == target.clip and abs(cond.start - target.start) < 4
                    and cond.rendering == target.rendering)
        branches.add(bool(ex["pseudo"]))
    for epoch in range(1, 10):  # enough draws to see both branches
        branches |= {bool(ds[(epoch, i)]["pseudo"]) for i in range(len(ds))}
    assert branches == {True, False}


def test_a_smaller_region_is_the_central_part_and_the_mouth_follows_it():
    """central_crops cuts the centred square; central_mouth puts a mark where it lands."""
    from omnisync_cli.train.data import central_crops, central_mouth
    crops = np.zeros((1, 96, 96, 3), np.uint8)
    crops[0, 60:64, 30:34] = 255  # a mark centred at (32, 62) px: (0.333, 0.646) of the crop
    small = central_crops(crops, 0.8, 64)
    (u, v), = central_mouth(np.array([[32 / 96, 62 / 96]], np.float32), 0.8)
    ys, xs = np.nonzero(small[0, :, :, 0] > 128)
    assert abs(xs.mean() + 0.5 - u * 64) < 1 and abs(ys.mean() + 0.5 - v * 64) < 1
    assert small.shape == (1, 64, 64, 3) and small[0, :4].max() == 0  # the stored border is cut off
    np.testing.assert_array_equal(central_crops(crops, 1.0, 96), crops)


def test_training_at_a_smaller_region_shows_the_mouth_larger(corpus):
    plain, tight = dataset(corpus), dataset(corpus, region_scale=0.5)
    a, b = plain[(0, 3)], tight[(0, 3)]
    torch.testing.assert_close(b["mouth_xy"], torch.clamp(0.5 + (a["mouth_xy"] - 0.5) / 0.5, 0, 1))
    assert not torch.equal(a["x"], b["x"]) and a["x"].shape == b["x"].shape


def test_a_region_scale_outside_the_stored_crop_is_refused():
    import pytest

    from omnisync_cli.errors import ConfigError
    for bad in (1.2, 0.1, float("nan")):
        with pytest.raises(ConfigError, match="region_scale"):
            TrainConfig(region_scale=bad).validate()


def test_reference_picks_never_fall_in_the_excluded_window():
    from omnisync_cli.train.data import reference_picks
    rng = np.random.default_rng(0)
    for _ in range(50):
        picks = reference_picks(20, 4, rng, range(5, 13))
        assert len(picks) == 4 and list(picks) == sorted(picks) and len(set(picks)) == 4
        assert not any(5 <= p < 13 for p in picks)
    assert set(reference_picks(10, 6, rng, range(2, 8))) <= {0, 1, 8, 9}  # too few: repeats
    with pytest.raises(ValueError, match="no frame left"):
        reference_picks(4, 2, rng, range(0, 4))


def test_references_are_other_moments_of_the_condition_never_the_target_window(corpus):
    for c, clip in enumerate(corpus.clips):  # stamp every frame: pixel (0, 0) names it
        for r, crops in enumerate(clip.crops):
            crops[:, 0, 0] = np.stack([np.arange(len(crops)), np.full(len(crops), r), np.full(len(crops), c)], 1)
    kw = dict(flip_prob=0.0, color_jitter=0.0)
    plain = TrainingExamples(corpus, get_preset("tiny"), TrainConfig(preset="tiny", **kw))
    refs = TrainingExamples(corpus, get_preset("tiny", reference_frames=2),
                            TrainConfig(preset="tiny", reference_frames=2, **kw))
    same_rendering = 0
    for key in [(e, i) for e in range(4) for i in range(len(refs))]:
        a, b = plain[key], refs[key]
        assert a["references"].shape[0] == 0 and b["references"].shape == (2, 3, 16, 16)
        assert all(torch.equal(a[k], b[k]) for k in a if k != "references")  # the other draws are the same
        condition, target = b["condition_segment"].tolist(), b["target_segment"].tolist()
        for ref in b["references"]:
            frame, rendering, clip = torch.round((ref[:, 0, 0] + 1) * 127.5).int().tolist()
            assert (clip, rendering) == tuple(condition[:2])  # a moment of the condition's rendering
            if (clip, rendering) == tuple(target[:2]):
                same_rendering += 1
                assert not target[2] <= frame < target[2] + 4  # never the target's own frames
    assert same_rendering  # the arbitrary branch took the target's own rendering at times


def test_hidden_examples_hide_the_conditions_mouth_and_nothing_else(corpus):
    kw = dict(pair_threshold=0.1, source_start_sigma=0.5, flip_prob=1.0)  # the box mirrors with the clip
    plain, hiding = dataset(corpus, **kw), dataset(corpus, hide_mouth_share=1.0, **kw)
    half = dataset(corpus, hide_mouth_share=0.5, **kw)
    started = 0
    for key in [(0, i) for i in range(12)]:
        a, b = plain[key], hiding[key]
        assert bool(b["mouth_hidden"]) and not bool(a["mouth_hidden"])
        assert all(torch.equal(a[k], b[k]) for k in a if k not in ("source", "noise", "mouth_hidden"))
        clip, rendering, start = b["condition_segment"].tolist()
        mouth = plain.segment_mouth(Segment(clip, rendering, start))  # the condition's own track
        mouth[:, 0] = 1.0 - mouth[:, 0]
        expected = hide_mouth(a["source"], torch.from_numpy(mouth.astype(np.float32)))
        torch.testing.assert_close(b["source"], expected)
        assert not torch.equal(a["source"], b["source"])
        s = float(a["sigma"])
        if bool(a["pseudo"]) and s >= 0.5:  # a dub's start: the noised *hidden* source
            # both start at (1 - s) * source + s * the same draw, from their own source
            torch.testing.assert_close(s * (b["noise"] - a["noise"]), (1 - s) * (b["source"] - a["source"]),
                                       atol=1e-5, rtol=0)
            started += 1
    assert started
    shares = [bool(half[(e, i)]["mouth_hidden"]) for e in range(3) for i in range(len(half))]
    assert 0.2 < np.mean(shares) < 0.8


def test_lent_examples_show_the_condition_with_mouths_chosen_by_the_targets_mouth_parameters(corpus):
    plain, lending = dataset(corpus, pair_threshold=0.1), dataset(corpus, lend_mouth_share=1.0, pair_threshold=0.1)
    changed = 0
    for key in [(0, i) for i in range(8)]:
        a, b = plain[key], lending[key]
        assert bool(b["mouth_lent"]) and not bool(a["mouth_lent"])
        assert all(torch.equal(a[k], b[k]) for k in a if k not in ("source", "noise", "mouth_lent"))
        clip, rendering, start = b["condition_segment"].tolist()
        condition = Segment(clip, rendering, start)
        # a dub's bank holds the source video only: every lent mouth is the condition rendering's own
        lent = lending.lent_mouths(Segment(*b["target_segment"].tolist()), condition, np.random.default_rng(0))
        assert lent.shape == plain.segment_crops(condition).shape
        changed += int(not torch.equal(a["source"], b["source"]))
    assert changed >= 4
    assert np.mean([bool(dataset(corpus, lend_mouth_share=0.5)[(e, i)]["mouth_lent"])
                    for e in range(3) for i in range(8)]) not in (0.0, 1.0)


def test_lent_mouths_are_among_the_three_nearest_by_mouth_parameters(corpus):
    from omnisync_cli.data.mouth_swap import swap_mouths
    from omnisync_cli.train.data import central_crops, central_mouth
    examples = dataset(corpus, lend_mouth_share=1.0)
    clip = examples.clip(0)
    target, condition = Segment(0, 0, 0), Segment(0, len(clip.crops) - 1, 0)
    lent = examples.lent_mouths(target, condition, np.random.default_rng(0))
    f, size, scale = examples.model_config.segment_frames, examples.model_config.region_size, 1.0
    wanted = np.asarray(clip.visemes[target.rendering][:f])
    bank = np.asarray(clip.visemes[condition.rendering])
    nearest = np.argsort(((wanted[:, None] - bank[None]) ** 2).sum(-1), axis=1)[:, :3]
    crops = central_crops(clip.crops[condition.rendering][:f], scale, size)
    mouths = central_mouth(np.asarray(clip.mouth_xy[condition.rendering], np.float32), scale)
    for t in range(f):
        options = [swap_mouths(crops[t:t + 1], mouths[t:t + 1],
                               central_crops(clip.crops[condition.rendering][[d]], scale, size), mouths[[d]])[0]
                   for d in nearest[t]]
        assert any(np.array_equal(lent[t], o) for o in options)
