import numpy as np
import pytest

from omnisync_cli.media.pixels import any_channel, max_channel


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channel_reductions_equal_numpys(channels):
    rng = np.random.default_rng(channels)
    values = rng.standard_normal((7, 5, channels)).astype(np.float32)
    mask = rng.random((7, 5, channels)) < 0.2
    assert np.array_equal(any_channel(mask), mask.any(axis=-1))
    assert np.array_equal(max_channel(values), values.max(axis=-1))


def test_channel_reductions_leave_their_input_alone():
    values = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    before = values.copy()
    max_channel(values)[...] = -1
    assert np.array_equal(values, before)

