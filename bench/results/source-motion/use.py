"""Does the trained model read the motion level? x_hat change when the level is swapped."""
import torch
from omnisync_cli.model.weights import load_model
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples
from omnisync_cli.model.dit import clean_estimate
from omnisync_cli.diffusion.flow import noise_path
torch.set_num_threads(1)
m = load_model("/work/s40/runs-motion").eval()
w = m.motion_embed[-1].weight
print("motion_embed last weight norm", float(w.norm()), "bias", float(m.motion_embed[-1].bias.norm()))
ds = TrainingExamples(open_corpus("/work/s39/corpus-s6keep"), m.config, TrainConfig(source_motion=True, p_drop_motion=0.0, flip_prob=0, color_jitter=0))
keys = [(0, i) for i in range(0, len(ds), max(1, len(ds) // 24))][:24]
ex = [ds[k] for k in keys]
b = {k: torch.stack([e[k] for e in ex]) for k in ("x", "source", "audio", "text", "noise", "source_motion")}
sigma = torch.full((len(ex),), 0.92)
xs = noise_path(b["source"], b["noise"], sigma)
def xhat(level):
    with torch.no_grad():
        v = m(xs, sigma, b["source"], b["audio"], b["text"], drop_text=torch.ones(len(ex), dtype=torch.bool), source_motion=level)
    return clean_estimate(m.config, xs, v, sigma)
print("levels", b["source_motion"].numpy().round(1))
base = xhat(b["source_motion"])
for name, lv in [("unknown", torch.full_like(b["source_motion"], float("nan"))), ("x0.3", b["source_motion"] * 0.3), ("x3", b["source_motion"] * 3)]:
    other = xhat(lv)
    edit = (base - b["source"]).abs().mean(dim=(1, 2, 3, 4))
    edit_o = (other - b["source"]).abs().mean(dim=(1, 2, 3, 4))
    print(name, "mean |x_hat diff| (x127.5 levels)", float((other - base).abs().mean() * 127.5), "edit size ratio other/base", float((edit_o / edit).mean()))
