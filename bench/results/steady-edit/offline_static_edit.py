import sys
from pathlib import Path
import numpy as np
from omnisync_cli.bench import metrics
from omnisync_cli.bench.runner import ClipInputs, load_manifest, read_video, select_clips
from omnisync_cli.face.config import FaceConfig

def ema(edit, tc):
    out = np.empty_like(edit); a = 1.0 / tc
    m = edit[: min(len(edit), 8)].mean(0)  # first segment's mean to start
    for i, e in enumerate(edit):
        m = (1 - a) * m + a * e; out[i] = m
    return out

corpus = Path(sys.argv[1]); out = Path("/tmp/edit-split")
rows = []
for clip in select_clips(load_manifest(corpus), 12):
    inputs = ClipInputs.load(clip, FaceConfig())
    noop, dubbed = (read_video(out / f"{clip.id}-{n}.mp4")[0] for n in ("no-op", "dub"))
    n = min(len(noop), len(dubbed), len(inputs.target), len(inputs.mouth_boxes))
    boxes = inputs.mouth_boxes[:n]
    truth = metrics.crop_mouths(inputs.target[:n], boxes).astype(np.float32)
    c_noop = metrics.crop_mouths(noop[:n], boxes).astype(np.float32)
    c_dub = metrics.crop_mouths(dubbed[:n], boxes).astype(np.float32)
    edit = c_dub - c_noop
    row = {"no-op": metrics.clip_psnr(c_noop, truth), "dub": metrics.clip_psnr(c_dub, truth)}
    mean = edit.mean(0, keepdims=True)
    row["-mean"] = metrics.clip_psnr(np.clip(c_noop + edit - mean, 0, 255), truth)
    for tc in (12, 25, 50, 100):
        row[f"-ema{tc}"] = metrics.clip_psnr(np.clip(c_noop + edit - ema(edit, tc), 0, 255), truth)
    # half strength
    row["-mean/2"] = metrics.clip_psnr(np.clip(c_noop + edit - 0.5 * mean, 0, 255), truth)
    rows.append((clip.group, row))
keys = rows[0][1].keys()
for g in ("seen", "heldout-head", "heldout-mouth", "heldout-render", "all"):
    ch = [r for gg, r in rows if g in ("all", gg)]
    print(g, len(ch), " ".join(f"{k}={np.mean([r[k] for r in ch]):.2f}" for k in keys))
