"""Window RMS and quiet stretches of a speech track."""

import numpy as np

from omnisync_cli.media import loudness
from omnisync_cli.media.loudness import window_rms


def test_window_rms_is_the_exact_rms_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(loudness, "CHUNK", 1000)  # many chunks, windows straddling them
    rate = 1000
    wave = np.random.default_rng(0).normal(size=10_500).astype(np.float32)
    times = np.array([-0.5, 0.0, 0.99, 2.5, 10.45, 11.0])
    got = window_rms(wave, rate, times, 0.04)
    want = []
    for t in times:
        a, b = np.clip([round(t * rate), round((t + 0.04) * rate)], 0, len(wave))
        want.append(np.sqrt(np.sum(wave[a:b].astype(np.float64) ** 2) / max(b - a, 1)))
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
    assert got[0] == 0.0 and got[-1] == 0.0  # before the track and past its end
