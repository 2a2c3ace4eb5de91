"""model.mouth_hiding: the box it fills, with what, and what it leaves alone."""

import torch

from omnisync_cli.model.mouth_hiding import hide_mouth


def test_the_box_around_each_frames_mouth_takes_that_frames_mean_colour():
    clips = torch.rand(2, 3, 3, 10, 10)  # (B, F, 3, S, S)
    mouth = torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.97, 0.03]]] * 2)  # (B, F, 2): x, y
    hidden = hide_mouth(clips, mouth, side=0.4)
    for b in range(2):
        for f in range(3):
            x, y = mouth[b, f].tolist()
            cols = [j for j in range(10) if abs((j + 0.5) / 10 - x) <= 0.2]
            rows = [i for i in range(10) if abs((i + 0.5) / 10 - y) <= 0.2]
            box = torch.zeros(10, 10, dtype=torch.bool)
            box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
            mean = clips[b, f].mean(dim=(-2, -1))
            assert torch.equal(hidden[b, f][:, box], mean[:, None].expand(3, int(box.sum())))
            assert torch.equal(hidden[b, f][:, ~box], clips[b, f][:, ~box])
    assert len(cols) == 2 and len(rows) == 2  # the corner mouth's box is cut by the crop's edge


def test_a_bigger_side_hides_more_and_zero_hides_nothing():
    clips, mouth = torch.rand(4, 3, 16, 16), torch.full((4, 2), 0.5)
    changed = [int((hide_mouth(clips, mouth, side) != clips).sum()) for side in (0.0, 0.25, 0.5)]
    assert changed[0] == 0 and 0 < changed[1] < changed[2]
