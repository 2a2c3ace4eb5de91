"""The learned mouth localiser: decoding, letterboxing, weights I/O, the gate, and that it learns."""

import json

import numpy as np
import pytest
import torch

from omnisync_cli.errors import WeightsError
from omnisync_cli.face.localiser import (BUNDLED_LOCALISER, STRIDE, LocaliserConfig, MouthGate, combine_views, decode,
                                         letterbox, load_localiser)
from omnisync_cli.face.localiser_net import LocaliserNet, load_localiser_net, save_localiser, torch_localiser
from omnisync_cli.train.localiser import localiser_loss, render_sample, targets

SMALL = LocaliserConfig(input_size=96, refine_size=64, widths=(8, 12, 16, 24))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_decode_finds_each_peak_with_its_offset_and_width():
    out = np.full((4, 16, 16), -9.0, np.float32)
    out[:, 5, 3] = [4.0, 0.25, -0.25, np.log(40.0)]
    out[:, 10, 12] = [1.0, 0.0, 0.0, np.log(20.0)]
    found = decode(out, min_score=0.5, max_candidates=4)
    assert len(found) == 2
    x, y, w, score = found[0]
    assert (x, y) == pytest.approx(((3 + 0.5 + 0.25) * STRIDE, (5 + 0.5 - 0.25) * STRIDE))
    assert w == pytest.approx(40.0) and score == pytest.approx(1 / (1 + np.exp(-4)))
    assert decode(out, min_score=0.9, max_candidates=4)[0][:2] == found[0][:2]  # only the strong one
    assert len(decode(out, min_score=0.9, max_candidates=4)) == 1


def test_views_that_agree_are_averaged_by_score_and_the_reference_keeps_its_confidence():
    looks = np.array([[100.0, 50.0, 40.0, 0.8],    # the reference view
                      [104.0, 50.0, 40.0, 0.4],    # agrees (0.1 face widths away)
                      [100.0, 54.0, 10.0, 0.8],    # agrees, with a smaller face width
                      [140.0, 50.0, 40.0, 0.99]])  # a full face width away: another mouth, left out
    x, y, w, score = combine_views(looks)
    assert x == pytest.approx((100 * 0.8 + 104 * 0.4 + 100 * 0.8) / 2.0)
    assert y == pytest.approx((50 * 0.8 + 50 * 0.4 + 54 * 0.8) / 2.0)
    assert w == pytest.approx((40 * 40 * 10) ** (1 / 3))
    assert score == 0.8
    assert combine_views(looks[:1]) == pytest.approx((100.0, 50.0, 40.0, 0.8))


def test_letterbox_keeps_the_aspect_and_centres_the_picture():
    image = np.zeros((50, 200, 3), np.uint8)
    boxed, scale, ox, oy = letterbox(image, 100)
    assert boxed.shape == (100, 100, 3) and scale == 0.5 and (ox, oy) == (0, 37)
    assert (boxed[:37] == 114).all() and (boxed[37:62] == 0).all()


def test_targets_mark_every_mouth_and_the_loss_prefers_the_truth():
    mouths = [np.array([[30.0, 50.0, 24.0]], np.float32), np.zeros((0, 3), np.float32)]
    heat, reg, mask = targets(mouths, 96)
    assert heat[0, 12, 7] == 1.0 and mask[0].sum() == 1 and heat[1].max() == 0
    assert reg[0, 12, 7] == pytest.approx([30 / 4 - 7.5, 50 / 4 - 12.5, np.log(24.0)])
    truth = torch.zeros(2, 4, 24, 24)
    truth[:, 0] = torch.logit(torch.from_numpy(heat).clamp(1e-3, 1 - 1e-3))
    truth[:, 1:] = torch.from_numpy(reg).permute(0, 3, 1, 2)
    blank = torch.zeros(2, 4, 24, 24)
    args = [torch.from_numpy(a) for a in (heat, reg, mask)]
    assert localiser_loss(truth, *args) < 0.2 * localiser_loss(blank, *args)


def trained_like(net: LocaliserNet) -> LocaliserNet:
    """`net` with random batch-norm statistics and gains (a fresh one's are 0 and 1)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
    return net.eval()


def test_weights_round_trip_and_clear_errors(tmp_path):
    net = trained_like(LocaliserNet(SMALL))
    save_localiser(net, SMALL, tmp_path / "loc")
    again, config = load_localiser_net(tmp_path / "loc")
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(net(x), again(x))
    assert config == SMALL and load_localiser(tmp_path / "loc").config == SMALL
    with pytest.raises(WeightsError, match="not found"):
        load_localiser(tmp_path / "nothing")
    (tmp_path / "loc" / "model.safetensors").write_bytes(b"broken")
    for load in (load_localiser, load_localiser_net):
        with pytest.raises(WeightsError, match="damaged"):
            load(tmp_path / "loc")
    (tmp_path / "loc" / "config.json").write_text(json.dumps({"format": "omnisync-dit"}))
    with pytest.raises(WeightsError, match="not a mouth-localiser"):
        load_localiser(tmp_path / "loc")


def test_weights_of_another_shape_than_the_config_are_a_clear_error(tmp_path):
    save_localiser(LocaliserNet(SMALL), SMALL, tmp_path / "loc")
    config = json.loads((tmp_path / "loc" / "config.json").read_text())
    config["model"]["widths"] = [8, 16, 24, 32]
    (tmp_path / "loc" / "config.json").write_text(json.dumps(config))
    for load in (load_localiser, load_localiser_net):
        with pytest.raises(WeightsError, match="damaged or does not match"):
            load(tmp_path / "loc")


def test_the_onnx_network_is_the_torch_network(tmp_path):
    """The dub's ONNX Runtime graph (batch norms folded, built from the saved weights) gives
    the PyTorch module's outputs, at both look sizes, batched."""
    net = trained_like(LocaliserNet(SMALL))
    save_localiser(net, SMALL, tmp_path / "loc")
    onnx_run, torch_run = load_localiser(tmp_path / "loc")._run, torch_localiser(net, SMALL)._run
    rng = np.random.default_rng(0)
    for size, batch in ((SMALL.input_size, 1), (SMALL.refine_size, 5)):
        pictures = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(batch)]
        expected = torch_run(pictures)
        np.testing.assert_allclose(onnx_run(pictures), expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.skipif(not (BUNDLED_LOCALISER / "model.safetensors").is_file(), reason="no bundled localiser")
def test_the_bundled_localiser_finds_the_same_mouths_in_onnx_runtime_as_in_pytorch():
    from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig
    from omnisync_cli.train.localiser import render_scene_frame
    onnx_localiser = load_localiser(BUNDLED_LOCALISER)
    torch_version = torch_localiser(*load_localiser_net(BUNDLED_LOCALISER))
    for k in range(4):
        frame, _ = render_scene_frame(np.random.default_rng([k, 51]), ClipJob(BENCH, "seen", k, 0, CorpusConfig(seed=1)),
                                      empty=False)
        a, b = onnx_localiser.detect(frame), torch_version.detect(frame)
        assert len(a) == len(b) and len(a) > 0
        for x, y in zip(a, b):
            assert abs(x.mouth_x - y.mouth_x) < 0.05 and abs(x.mouth_y - y.mouth_y) < 0.05
            assert abs(x.score - y.score) < 1e-3


class CountingLocaliser:
    config = SMALL

    def __init__(self, score):
        self.score, self.looks = score, 0

    def mouth_score(self, image, x, y, face_width):
        self.looks += 1
        return self.score


def test_gate_looks_once_per_stride_and_closes_without_a_mouth():
    frame = np.zeros((64, 64, 3), np.uint8)
    seen = CountingLocaliser(0.9)
    gate = MouthGate(seen, stride=5)
    assert all(gate.allows(k, lambda: frame, 32, 32, 20) for k in range(12))
    assert seen.looks == 3 and gate.closed == 0  # frames 0, 5, 10
    blind = MouthGate(CountingLocaliser(0.1), stride=5)
    assert not blind.allows(3, lambda: frame, 32, 32, 20) and blind.closed == 1


def test_the_gate_opens_at_its_own_threshold_below_a_new_candidates():
    """A tracked region keeps its edit at a score a new candidate would not pass."""
    frame = np.zeros((64, 64, 3), np.uint8)
    assert SMALL.gate_min_score < SMALL.min_score
    between = (SMALL.gate_min_score + SMALL.min_score) / 2
    assert MouthGate(CountingLocaliser(between), stride=5).allows(0, lambda: frame, 32, 32, 20)
    below = SMALL.gate_min_score - 0.01
    assert not MouthGate(CountingLocaliser(below), stride=5).allows(0, lambda: frame, 32, 32, 20)


def test_a_small_localiser_learns_to_find_mouths():
    """150 steps on 16 corpus-v2 samples at 64 px: it must find their mouths again."""
    torch.manual_seed(0)
    samples = [render_sample(seed, 64) for seed in range(18)]
    samples = [(im, m) for im, m in samples if len(m)]
    images = torch.from_numpy(np.stack([im for im, _ in samples])).permute(0, 3, 1, 2).float() / 255
    heat, reg, mask = (torch.from_numpy(a) for a in targets([m for _, m in samples], 64))
    net = LocaliserNet(SMALL)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(150):
        loss = localiser_loss(net(images), heat, reg, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = net.eval()(images).numpy()
    hits = 0
    for o, (_, mouths) in zip(out, samples):
        found = decode(o, 0.3, 1)
        if found:
            d = np.hypot(mouths[:, 0] - found[0][0], mouths[:, 1] - found[0][1]) / mouths[:, 2]
            hits += d.min() < 0.25
    assert hits >= 0.8 * len(samples)


@pytest.mark.skipif(not (BUNDLED_LOCALISER / "model.safetensors").is_file(), reason="no bundled localiser")
def test_the_bundled_localiser_finds_held_out_style_mouths():
    """On frames of benchmark identities of every style group (never trained on): the best
    candidate within 10 % of a face width of a true mouth. bench/localiser.py measures 66-84 %
    per group on 200 frames each (bench/results/localiser.md); an untrained network scores 0."""
    from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig
    from omnisync_cli.data.styles import GROUPS
    from omnisync_cli.train.localiser import render_scene_frame

    localiser = load_localiser(BUNDLED_LOCALISER)
    hits = total = 0
    for group in GROUPS:
        for k in range(6):
            rng = np.random.default_rng([99, GROUPS.index(group), k])
            frame, mouths = render_scene_frame(rng, ClipJob(BENCH, group, 500 + k, 0, CorpusConfig()))
            found = localiser.detect(frame)
            total += 1
            if found:
                d = np.hypot(mouths[:, 0] - found[0].mouth_x, mouths[:, 1] - found[0].mouth_y) / mouths[:, 2]
                hits += d.min() <= 0.1
    assert hits >= 0.5 * total


@pytest.mark.skipif(not (BUNDLED_LOCALISER / "model.safetensors").is_file(), reason="no bundled localiser")
def test_a_mirrored_frame_gives_the_mirrored_mouth():
    """A character facing the other way is found at the mirrored place: detect() on a mirrored
    frame gives the mirror of its mouth to 3 % of a face width (median over frames; the network
    itself is not exactly mirror-symmetric, which the mirrored views average out). A view whose
    mapping back were wrong would mostly be dropped by combine_views as disagreeing, so this
    is a check of the whole look, not of that mapping alone."""
    from omnisync_cli.data.corpus import BENCH, ClipJob, CorpusConfig
    from omnisync_cli.train.localiser import render_scene_frame

    localiser = load_localiser(BUNDLED_LOCALISER)
    errors = []  # on the frames whose mouth is found: mirrored frame's mouth vs the mirror of the first's
    for k in range(12):
        frame, mouths = render_scene_frame(np.random.default_rng(k), ClipJob(BENCH, "seen", k, 0, CorpusConfig()))
        found, mirrored = localiser.detect(frame), localiser.detect(np.ascontiguousarray(frame[:, ::-1]))
        if found and mirrored and np.hypot(found[0].mouth_x - mouths[0, 0],
                                           found[0].mouth_y - mouths[0, 1]) < 0.1 * mouths[0, 2]:
            errors.append(np.hypot(frame.shape[1] - mirrored[0].mouth_x - found[0].mouth_x,
                                   mirrored[0].mouth_y - found[0].mouth_y) / mouths[0, 2])
    assert len(errors) >= 5 and np.median(errors) <= 0.03
