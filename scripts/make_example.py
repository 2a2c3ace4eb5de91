"""Render the bundled example: examples/speaker.mp4 (a drawn character saying one sentence)
and examples/speech.wav (the same voice saying another, one second longer, so the quick
start also shows the ping-pong extension). Deterministic; rerun to regenerate.

    python scripts/make_example.py
"""

from pathlib import Path

import numpy as np

from omnisync_cli.data.characters import make_character
from omnisync_cli.data.corpus import write_mp4
from omnisync_cli.data.scene import make_scene, render_utterance
from omnisync_cli.data.speech import random_utterance
from omnisync_cli.media.audio import write_wav

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FPS, SIZE, SECONDS = 25, 256, 4.0


def main() -> None:
    rng = np.random.default_rng(20261125)
    character = make_character("human", index=3, seed=11, prefix="example")
    scene = make_scene(character, seed=5, fps=FPS, n_frames=int(SECONDS * FPS), frame_size=SIZE)
    source_speech = random_utterance(rng, SECONDS, heldout=True)
    new_speech = random_utterance(rng, SECONDS + 1.0, heldout=True)
    clip = render_utterance(scene, source_speech, amplitude=1.0)
    EXAMPLES.mkdir(exist_ok=True)
    write_mp4(EXAMPLES / "speaker.mp4", clip.frames, FPS, source_speech.waveform, crf=18)
    write_wav(EXAMPLES / "speech.wav", new_speech.waveform)
    print(f"speaker.mp4: {source_speech.text!r}\nspeech.wav: {new_speech.text!r}")


if __name__ == "__main__":
    main()
