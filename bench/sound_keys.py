"""How near the truth's mouth is the mouth the bank lends, by sound key, and does the source's own test say so?

    python bench/sound_keys.py CORPUS [--clips 24] [--write FILE]

No network and no tracker: every clip is cut at the generator's own mouth track, the bank holds
every source frame, and the lent crops (`MouthBank.lend`, donors by `MouthBank.donors`) are
compared with the ground truth's crops in the swap ellipse (PSNR of the mean squared error):
- `source`: the source's own mouth (what the network is shown without the bank);
- `viseme`: donors picked by the viseme head's 5 mouth parameters (the sound key before stop 36);
- `embedding`: by the network's own audio embedding (`ModelEditor.sound_keys`, since stop 36);
- `nearest`: the bank mouth nearest the truth's pixels (what the bank could lend at best).
Beside them, the source's own test (`MouthBank.sound_gain`, dB) and whether lending everywhere
beat the source (`embedding` - `source`) on the clips it passes.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from markdown_out import STYLE_GROUPS, emit
from omnisync_cli.bench.runner import ClipInputs, load_manifest, select_clips
from omnisync_cli.data.mouth_swap import mouth_mask
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.media.audio import load_audio
from omnisync_cli.model.audio import windows_at
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.pipeline.analysis import working_track
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.editor import default_weights_dir
from omnisync_cli.pipeline.mouth_bank import MouthBank, MouthBankConfig, squared_distances


class VisemeKeys(ModelEditor):
    """The model, matching sounds by its viseme head's mouth parameters instead."""

    def sound_keys(self, audio, times):
        with torch.no_grad():
            windows = windows_at(audio, np.asarray(times), self.model.config.audio_window_s)
            return self.model.audio_visemes(windows[None])[0].float().numpy()


def ellipse_psnr(crops: np.ndarray, truth: np.ndarray) -> float:
    inside = mouth_mask(crops.shape[1], (0.5, 0.5))[..., None]
    error = (((crops.astype(np.float32) - truth.astype(np.float32)) ** 2) * inside).sum() / (inside.sum() * 3 * len(crops))
    return float(10.0 * np.log10(255.0 ** 2 / max(error, 1e-6)))


def measure(clip, editors: dict, config: MouthBankConfig) -> dict:
    inputs = ClipInputs.load(clip, FaceConfig(), true_track="all")
    editor = editors["embedding"]
    track = working_track(inputs.analysis.track, DubOptions().region_scale)
    bank = MouthBank.collect(clip.source, track, editor.region_size, config.max_frames)
    truth = MouthBank.collect(clip.target, track, editor.region_size, config.max_frames)
    plan = inputs.plan[:len(truth.crops)]
    position = np.searchsorted(bank.indices, plan).clip(0, len(bank.indices) - 1)
    crops, mouth_xy, truth = bank.crops[position], bank.mouth_xy[position], truth.crops[:len(plan)]
    source_speech = load_audio(clip.source)
    fps, times = float(inputs.analysis.info.fps), inputs.analysis.frame_times
    row = {"clip": clip.id, "group": clip.group, "source": ellipse_psnr(crops, truth)}
    for name, keyed in editors.items():
        features = keyed.prepare_audio(inputs.speech)
        donors = bank.donors(keyed, source_speech, inputs.speech, features, times, plan, fps, config)
        lent = crops if donors is None else bank.lend(crops, mouth_xy, donors, config.max_shift)
        row[name] = ellipse_psnr(lent, truth)
    inside = mouth_mask(editor.region_size, (0.5, 0.5))[..., None]
    nearest = squared_distances((truth * inside).reshape(len(truth), -1).astype(np.float32),
                                (bank.crops * inside).reshape(len(bank.crops), -1).astype(np.float32)).argmin(1)
    row["nearest"] = ellipse_psnr(bank.lend(crops, mouth_xy, nearest, config.max_shift), truth)
    row["sound_gain"] = bank.sound_gain(editor, source_speech, times, fps, config)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    weights = args.weights or default_weights_dir()
    editors = {"viseme": VisemeKeys.from_dir(weights, SamplerConfig()),
               "embedding": ModelEditor.from_dir(weights, SamplerConfig())}
    config = MouthBankConfig()
    rows = []
    for clip in select_clips(load_manifest(args.corpus), args.clips):
        rows.append(measure(clip, editors, config))
        r = rows[-1]
        print(f"{r['clip']}: source {r['source']:.2f} viseme {r['viseme']:.2f} embedding {r['embedding']:.2f} "
              f"nearest {r['nearest']:.2f} dB, sound gain {r['sound_gain']}", flush=True)
    columns = ("source", "viseme", "embedding", "nearest")
    lines = [f"`python bench/sound_keys.py {args.corpus} --clips {args.clips}`: the lent mouth's PSNR (dB) against "
             "the truth's in the swap ellipse, no network, at the generator's mouth track; mean over clips.", "",
             "| group | clips | " + " | ".join(columns) + " | passes its own test | embedding - source where it passes |",
             "|---|---|" + "---|" * (len(columns) + 2)]
    for group in STYLE_GROUPS:
        chosen = [r for r in rows if group in ("all", r["group"])]
        if not chosen:
            continue
        passing = [r for r in chosen if r["sound_gain"] is not None and r["sound_gain"] > 0]
        gain = np.mean([r["embedding"] - r["source"] for r in passing]) if passing else float("nan")
        lines.append(f"| {group} | {len(chosen)} | " + " | ".join(f"{np.mean([row[c] for row in chosen]):.2f}" for c in columns)
                     + f" | {len(passing)} | {gain:+.2f} |")
    tested = [r for r in rows if r["sound_gain"] is not None]
    real = np.array([r["embedding"] - r["source"] for r in tested])
    test = np.array([r["sound_gain"] for r in tested])
    lines += ["", f"Own test against the lent mouth's gain over the source (embedding - source), {len(tested)} clips: "
              f"r = {np.corrcoef(test, real)[0, 1]:.2f}; lending everywhere on every clip {real.mean():+.2f} dB, "
              f"only where the test passes {np.where(test > 0, real, 0.0).mean():+.2f} dB (0 elsewhere)."]
    emit(lines, args.write)


if __name__ == "__main__":
    main()
