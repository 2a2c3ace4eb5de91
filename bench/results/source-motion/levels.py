"""Training data check: does one rendering's motion level predict the other rendering's mouth opening?"""
import numpy as np
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.face.mouth_motion import motion_level, speaking_frames
from omnisync_cli.train.data import central_crops

src = open_corpus("/work/s39/corpus-s6keep")
rows = []
for i in range(0, len(src), max(1, len(src) // 120)):
    clip = src.load(i)
    if len(clip.crops) < 2 or not clip.visemes:
        continue
    lv, op = [], []
    for r in range(2):
        crops = clip.crops[r]
        sp = speaking_frames(clip.waveforms[r], np.arange(len(crops)) / clip.fps, clip.fps)
        lv.append(motion_level(central_crops(crops[sp], 1.0, 64)))
        op.append(float(np.asarray(clip.visemes[r])[sp, 0].mean()) if sp.any() else np.nan)
    rows.append(lv + op)
a = np.array(rows)
ok = np.isfinite(a).all(1)
a = a[ok]
print(len(a), "clips; level quartiles", np.percentile(a[:, :2], [5, 25, 50, 75, 95]).round(1))
print("r(level r0, level r1)", np.corrcoef(a[:, 0], a[:, 1])[0, 1].round(3))
print("r(level r0, open r1)", np.corrcoef(a[:, 0], a[:, 3])[0, 1].round(3), " r(log level r0, open r1)", np.corrcoef(np.log1p(a[:, 0]), a[:, 3])[0, 1].round(3))
print("r(open r0, open r1)", np.corrcoef(a[:, 2], a[:, 3])[0, 1].round(3))
