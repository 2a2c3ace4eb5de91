import sys, torch, numpy as np
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.weights import load_model
torch.set_num_threads(1)
ck = torch.load(sys.argv[1], weights_only=False, map_location="cpu")
base = load_model("weights/cpu-small", torch.device("cpu"))
cfg = base.config.__class__(**{**base.config.to_dict(), "output_gate": True}) if hasattr(base.config, "to_dict") else None
model = OmniSyncDiT(cfg, base.audio_channels)
model.load_state_dict(ck["ema"], strict=False)
model.eval()
print("step", ck.get("step"))
# gate on random-ish real crops: use a corpus shard sample via TrainingExamples would be heavy; use bench clip crops
from omnisync_cli.bench.runner import ClipInputs, load_manifest, select_clips
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import crop_region
from omnisync_cli.model.editor import crops_to_tensor
from omnisync_cli.model.audio import windows_at
from omnisync_cli.model.editor import ModelEditor
ed = ModelEditor(model)
for clip in select_clips(load_manifest(sys.argv[2]), 4):
    inputs = ClipInputs.load(clip, FaceConfig())
    tr = inputs.track
    k0 = 20
    crops = np.stack([crop_region(inputs.source[k], tr.box(k), 64) for k in range(k0, k0 + 8)])
    src = crops_to_tensor(crops)
    feats = ed.prepare_audio(__import__("omnisync_cli.media.audio", fromlist=["load_audio"]).load_audio(clip.speech))
    audio = windows_at(feats, np.arange(k0, k0 + 8) / clip.fps, model.config.audio_window_s)[None]
    x = 0.92 * torch.randn_like(src) + 0.08 * src
    with torch.no_grad():
        v, gate = model(x, torch.tensor([0.92]), src, audio, with_gate=True)
    g = gate[0, :, 0].mean(0).numpy()
    mxy = tr.mouth_in_box(k0)
    mx, my = int(mxy[0] * 64), int(mxy[1] * 64)
    print(clip.id, f"mean {g.mean():.3f} at mouth {g[max(0,my-4):my+4, max(0,mx-4):mx+4].mean():.3f} top-left {g[:16,:16].mean():.3f} top {g[:16].mean():.3f}")
    np.save(f"/tmp/gate_{clip.id}.npy", g)
