"""A tiny in-memory corpus for the training tests (a ClipSource stand-in for the shards).

Each character is a flat-coloured square face; each clip renders the same head track
(a horizontal drift) under `renderings` utterances; the dark mouth opens with the
utterance's loudness at the frame's time, so audio really drives the lips.
"""

import numpy as np

from omnisync_cli.data.pairs import ClipInfo
from omnisync_cli.train.data import ClipData

SR = 16_000


class FakeCorpus:
    def __init__(self, characters=3, clips_per_character=2, renderings=2, frames=12, size=16,
                 fps=25.0, seed=0, prompt="speaking clearly"):
        rng = np.random.default_rng(seed)
        self.infos, self.clips = [], []
        for c in range(characters):
            colour = rng.integers(90, 230, size=3)
            for _ in range(clips_per_character):
                drift = rng.uniform(-2, 2)
                crops, mouths, waves, visemes = [], [], [], []
                for _ in range(renderings):
                    t = np.arange(int(frames / fps * SR)) / SR
                    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6))
                    waves.append((envelope * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
                    frames_ = np.empty((frames, size, size, 3), np.uint8)
                    mouth = np.empty((frames, 2), np.float32)
                    shapes = np.zeros((frames, 5), np.float32)  # only the opening moves
                    for j in range(frames):
                        img = np.zeros((size, size, 3), np.uint8)
                        img[:] = colour
                        cx = size / 2 + drift * j / frames
                        opening = 1 + int(round(envelope[min(int(j / fps * SR), len(t) - 1)] * size / 4))
                        x0 = int(cx - size / 4)
                        img[size // 2: size // 2 + opening, x0: x0 + size // 2] = 20
                        frames_[j] = img
                        mouth[j] = (cx / size, (size / 2 + opening / 2) / size)
                        shapes[j, 0] = opening / (size / 4 + 1)
                    crops.append(frames_)
                    mouths.append(mouth)
                    visemes.append(shapes)
                self.infos.append(ClipInfo(f"char{c}", renderings, frames))
                self.clips.append(ClipData(crops, mouths, waves, fps, [prompt] * renderings, visemes))

    def __len__(self):
        return len(self.clips)

    def info(self, i):
        return self.infos[i]

    def load(self, i):
        return self.clips[i]
