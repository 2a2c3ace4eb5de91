"""Corpus-v2 characters: held-out families never drawn for training, every mouth type moves
near its anchor, and the frame-level rendering styles."""

import numpy as np
import pytest

from omnisync_cli.data.characters import CANVAS, CATEGORIES, make_character
from omnisync_cli.data.styles import (GROUPS, HEAD_FAMILIES, HELD_OUT, MOUTH_TYPES, RENDER_STYLES, Style,
                                      StyledSprite, draw_style, frame_effect, make_styled_character)
from omnisync_cli.data.visemes import REST

OPEN = np.array([1.0, 0.6, 0.0, 0.6, 0.5], np.float32)


def test_seen_styles_never_use_a_held_out_family_and_each_group_fixes_its_own():
    rng = np.random.default_rng(0)
    seen = [draw_style(rng, "seen") for _ in range(300)]
    assert all(s.group == "seen" for s in seen)
    for axis, values in (("head", HEAD_FAMILIES), ("mouth", MOUTH_TYPES), ("render", RENDER_STYLES)):
        used = {getattr(s, axis) for s in seen}
        assert used == set(values) - {HELD_OUT[axis]}  # every other value shows up
    for group in GROUPS[1:]:
        axis = group.removeprefix("heldout-")
        assert all(getattr(draw_style(rng, group), axis) == HELD_OUT[axis] for _ in range(20))
    with pytest.raises(ValueError):
        draw_style(rng, "everything")


def test_characters_are_deterministic_and_keep_mouth_and_face_on_the_canvas():
    style = Style("blob", "stitched", "vector")
    a, b = make_styled_character(style, 3, 11), make_styled_character(style, 3, 11)
    assert a.mouth_xy == b.mouth_xy and a.face_width == b.face_width
    assert make_styled_character(style, 4, 11).mouth_xy != a.mouth_xy
    for k in range(40):
        rng = np.random.default_rng(k)
        ch = make_styled_character(draw_style(rng, GROUPS[k % 4]), k, 5)
        assert 0 < ch.mouth_xy[0] < CANVAS and 0 < ch.mouth_xy[1] < CANVAS
        assert 40 < ch.face_width < 160 and ch.mouth_size[0] < 0.5 * ch.face_width


@pytest.mark.parametrize("mouth", MOUTH_TYPES)
def test_every_mouth_type_opens_at_its_anchor(mouth):
    ch = make_styled_character(Style("round", mouth, "vector"), 0, 1)
    sprite = StyledSprite(ch)
    closed, _ = sprite.canvas(REST, 0.0, 0.0)
    opened, _ = sprite.canvas(OPEN, 0.0, 0.0)
    changed = np.abs(opened.astype(int) - closed.astype(int)).sum(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert len(xs) > 10
    centre = np.array([xs.mean(), ys.mean()])
    assert np.hypot(*(centre - np.array(ch.mouth_xy))) < 0.3 * ch.face_width


@pytest.mark.parametrize("category", CATEGORIES)
def test_classic_characters_are_deterministic_per_category(category):
    a, b = make_character(category, 2, 9), make_character(category, 2, 9)
    assert a == b and a.category == category and a.kind in {"drawn", "flat", "painted", "anime", "animal",
                                                             "robot", "creature"}


def test_frame_effects_are_deterministic_and_do_what_they_say():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 96, 3)).astype(np.uint8)
    pixel = frame_effect(image, dict(render="pixel", pixel=0.05, levels=4), 1)
    assert np.array_equal(pixel[:, 0], pixel[:, 1]) and len(np.unique(pixel[..., 0])) <= 4  # blocks, 4 levels
    poster = frame_effect(image, dict(render="posterised", levels=3), 1)
    assert len(np.unique(poster)) <= 3
    grain = dict(render="grain", grain=10.0, chroma=0.3)
    assert np.array_equal(frame_effect(image, grain, 7), frame_effect(image, grain, 7))
    assert not np.array_equal(frame_effect(image, grain, 7), frame_effect(image, grain, 8))
    jpeg = frame_effect(image, dict(render="compressed", quality=10), 1)
    assert jpeg.shape == image.shape and not np.array_equal(jpeg, image)
    assert frame_effect(image, dict(render="vector"), 1) is image


@pytest.mark.parametrize("head", ["round", "blob", "polygon", "muzzle"])
def test_a_wide_mouth_spans_its_share_of_the_face_on_the_same_head(head):
    """A frog's or a hippo's mouth: `wide_mouth` of the face width, on the same head, palette
    and eyes as without it; the face width stays the head's."""
    style = Style(head, "lips", "vector")
    plain, wide = make_styled_character(style, 2, 7), make_styled_character(style, 2, 7, wide_mouth=0.8)
    head_width = 1.8 * plain.params["a"]
    assert plain.mouth_size[0] <= 0.4 * head_width + 1e-6 and plain.face_width == pytest.approx(head_width)
    assert wide.mouth_size[0] == pytest.approx(0.8 * head_width)
    assert wide.face_width == plain.face_width
    assert wide.params["a"] == plain.params["a"] and wide.params["base"] == plain.params["base"]
    assert wide.eyes.kind == plain.eyes.kind and wide.mouth.lip_color == plain.mouth.lip_color
    assert abs(wide.mouth_xy[0] - wide.params["cx"]) <= abs(plain.mouth_xy[0] - plain.params["cx"])


def test_slit_eyes_replace_the_eyes_only_and_are_drawn():
    """A frog's eyes (a coloured ball with a dark bar, much like a closed mouth): the same head,
    mouth and eye places as without them."""
    style = Style("round", "lips", "vector")
    plain, slit = make_styled_character(style, 0, 3), make_styled_character(style, 0, 3, slit_eyes=True)
    assert plain.eyes.kind != "slit" and slit.eyes.kind == "slit"
    assert slit.eyes.centers == plain.eyes.centers and slit.mouth == plain.mouth and slit.mouth_xy == plain.mouth_xy
    a, _ = StyledSprite(plain).canvas(REST, 0.0, 0.0)
    b, _ = StyledSprite(slit).canvas(REST, 0.0, 0.0)
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0
