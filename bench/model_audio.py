"""How well the trained model's own audio pathway reads the mouth from speech it never heard:
synthesized held-out sentences vs recorded human speech.

The default model is trained with an auxiliary viseme head on its audio embedding
(train.objectives.viseme_loss); this script asks that head for each frame's mouth
parameters and compares them with targets from the phoneme timings (espeak's own for the
synthesized clips, pocketsphinx's forced alignment for the recorded Asterisk prompts, as
bench/audio_encoders.py). It measures the shipped audio encoder, not a probe trained here.

    python bench/model_audio.py [--weights weights/cpu-small] [--test 120] [--recorded N]
        [--write bench/results/model-audio.md]

Needs what bench/audio_encoders.py needs for the recorded set (apt asterisk-core-sounds-en-wav
asterisk-core-sounds-en, pip pocketsphinx); not run by CI.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from audio_encoders import frame_times, recorded_set, synthesized, targets, telephone
from omnisync_cli.model.audio import build_audio_frontend, windows_at
from omnisync_cli.model.weights import load_model
from omnisync_cli.pipeline.editor import BUNDLED_WEIGHTS


@torch.no_grad()
def predict(model, frontend, utts) -> torch.Tensor:
    """(F, 5) mouth parameters the model's viseme head reads from each frame's audio window."""
    out = []
    for u in utts:
        win = windows_at(frontend.features(u.waveform), frame_times(u), model.config.audio_window_s)
        out.append(model.audio_visemes(win[None])[0].clamp(0, 1))
    return torch.cat(out)


def scores(pred: torch.Tensor, y: torch.Tensor, constant: torch.Tensor) -> dict[str, float]:
    mse = float(((pred - y) ** 2).mean())
    base = float(((constant - y) ** 2).mean())
    return {"frames": len(y), "mse": mse, "constant_mse": base, "skill": 1 - mse / base,
            "r_open": float(np.corrcoef(pred[:, 0].numpy(), y[:, 0].numpy())[0, 1])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", type=Path, default=BUNDLED_WEIGHTS)
    p.add_argument("--test", type=int, default=120, help="held-out synthesized clips (3 s)")
    p.add_argument("--recorded", type=int, default=None, help="at most this many Asterisk prompts")
    p.add_argument("--write", type=Path, default=None, help="write the markdown table here")
    args = p.parse_args()
    started = time.perf_counter()
    model = load_model(args.weights)
    frontend = build_audio_frontend(model.config)
    test = synthesized(args.test, seed=2000, heldout=True)
    test_en = [u for u in test if u.language == "en"]
    rec, failed = recorded_set(args.recorded)
    sets = {"synth held-out (7 langs)": test, "synth held-out, English": test_en,
            "synth English, 8 kHz band": [telephone(u) for u in test_en], "recorded (Asterisk)": rec}
    constant = targets(synthesized(200, seed=1000, heldout=False)).mean(0)  # training-like mean
    rows = {name: scores(predict(model, frontend, utts), targets(utts), constant)
            for name, utts in sets.items()}
    lines = [f"Weights `{args.weights}` (audio frontend {model.config.audio_frontend}); "
             f"{len(rec)} recorded prompts aligned ({failed} left out); "
             f"{time.perf_counter() - started:.0f} s.", "",
             "| test set | frames | constant MSE | model MSE | skill | r_open |", "|---|---|---|---|---|---|"]
    for name, s in rows.items():
        lines.append(f"| {name} | {s['frames']} | {s['constant_mse']:.4f} | {s['mse']:.4f} | "
                     f"{s['skill']:.3f} | {s['r_open']:.3f} |")
    lines += ["", "skill = 1 - MSE / MSE of predicting the training mean everywhere; r_open = "
              "Pearson r of predicted and target mouth opening over all frames."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text("# The default model's audio pathway on unseen speech\n\n"
                              "Written by `bench/model_audio.py`.\n\n" + text)


if __name__ == "__main__":
    main()
