import numpy as np
import pytest

from omnisync_cli.data.characters import CATEGORIES, KINDS, make_character
from omnisync_cli.data.render import Sprite
from omnisync_cli.data.scene import make_scene, render_scene
from omnisync_cli.data.visemes import REST

OPEN = np.array([1.0, 0.6, 0.0, 0.5, 0.4], np.float32)
ROUND = np.array([0.25, 0.2, 1.0, 0.05, 0.0], np.float32)


def _first_of_each_kind():
    found = {}
    for category in CATEGORIES:
        for i in range(40):
            ch = make_character(category, i, seed=3)
            found.setdefault(ch.kind, ch)
    return found


def test_every_category_and_kind_renders_with_a_visible_mouth():
    found = _first_of_each_kind()
    assert set(found) == {k for kinds in KINDS.values() for k in kinds}
    for kind, ch in found.items():
        scene = make_scene(ch, seed=1, fps=25, n_frames=3, frame_size=96)
        clip = render_scene(scene, np.stack([REST, OPEN, ROUND]))
        assert clip.frames.shape == (3, 96, 96, 3) and clip.frames.dtype == np.uint8
        x, y = clip.mouth_xy[0]
        assert 0 <= x < 96 and 0 <= y < 96 and 10 < clip.face_width[0] < 96, kind
        closed, opened, rounded = clip.frames.astype(int)
        assert np.abs(opened - closed).sum() > 2000, kind    # open vs closed is clearly visible
        assert np.abs(opened - rounded).sum() > 1000, kind   # wide vs round too


def test_renderings_of_one_scene_differ_only_around_the_mouth():
    ch = make_character("human", 2, seed=0)
    scene = make_scene(ch, seed=5, fps=30, n_frames=4, frame_size=128)
    a = render_scene(scene, np.stack([REST, OPEN, REST, ROUND]))
    b = render_scene(scene, np.stack([OPEN, REST, ROUND, REST]))
    assert np.array_equal(a.mouth_xy, b.mouth_xy) and np.array_equal(a.face_width, b.face_width)
    for j in range(4):
        diff = np.abs(a.frames[j].astype(int) - b.frames[j].astype(int)).sum(axis=2)
        assert diff.sum() > 1000
        x, y = a.mouth_xy[j]
        half = a.face_width[j] / 2 + 2
        ys, xs = np.nonzero(diff)
        assert np.all(np.abs(xs - x) <= half) and np.all(np.abs(ys - y) <= half)


def test_sprite_anchor_follows_yaw():
    ch = make_character("stylized", 0, seed=0)
    sprite = Sprite(ch)
    assert sprite.anchor(0.5)[0] > sprite.anchor(0.0)[0] > sprite.anchor(-0.5)[0]


@pytest.mark.parametrize("category", CATEGORIES)
def test_characters_are_deterministic_and_varied(category):
    assert make_character(category, 3, seed=9) == make_character(category, 3, seed=9)
    assert make_character(category, 3, seed=9) != make_character(category, 4, seed=9)
