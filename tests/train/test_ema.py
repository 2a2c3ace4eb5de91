"""EMA update maths."""

import torch
import torch.nn as nn

from omnisync_cli.train.ema import ema_update


def test_ema_update_is_the_exponential_moving_average():
    torch.manual_seed(0)
    model, ema = nn.Linear(3, 2), nn.Linear(3, 2)
    before = [p.clone() for p in ema.parameters()]
    ema_update(ema, model, 0.9)
    for e, b, p in zip(ema.parameters(), before, model.parameters()):
        torch.testing.assert_close(e, 0.9 * b + 0.1 * p)


def test_ema_of_constant_weights_converges_to_them():
    model, ema = nn.Linear(2, 2), nn.Linear(2, 2)
    for _ in range(200):
        ema_update(ema, model, 0.9)
    for e, p in zip(ema.parameters(), model.parameters()):
        torch.testing.assert_close(e, p, atol=1e-6, rtol=0)


def test_decay_zero_copies_and_decay_one_keeps():
    model, ema = nn.Linear(2, 2), nn.Linear(2, 2)
    kept = [p.clone() for p in ema.parameters()]
    ema_update(ema, model, 1.0)
    assert all(torch.equal(e, k) for e, k in zip(ema.parameters(), kept))
    ema_update(ema, model, 0.0)
    assert all(torch.equal(e, p) for e, p in zip(ema.parameters(), model.parameters()))
