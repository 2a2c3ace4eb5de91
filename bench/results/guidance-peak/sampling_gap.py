"""Where the dub loses what the one-step probe gains: the same pseudo-pairs (new identities of seen
families) sampled as a dub samples them (ModelEditor.edit on the generator's crops, no pipeline)
under several sampler / guidance settings, scored by the probe's mouth error."""
import sys, dataclasses, numpy as np, torch
from omnisync_cli.model.weights import load_model
from omnisync_cli.model.editor import ModelEditor, SamplerConfig
from omnisync_cli.guidance.dscfg import GuidanceConfig
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples, to_model_range
from omnisync_cli.train.probe import mouth_error
from omnisync_cli.train.samples import validation_pairs
torch.set_num_threads(2)
m = load_model(sys.argv[1]).eval()
ds = TrainingExamples(open_corpus(sys.argv[2]), m.config, TrainConfig())
pairs = validation_pairs(ds, int(sys.argv[3]) if len(sys.argv) > 3 else 32, 0)
tgt = torch.stack([to_model_range(ds.segment_crops(t)) for _, t in pairs])
src = torch.stack([to_model_range(ds.segment_crops(s)) for s, _ in pairs])
mouth = torch.from_numpy(np.stack([ds.segment_mouth(t) for _, t in pairs]))
print(f"{len(pairs)} pairs; no-op {mouth_error(src, tgt, mouth):.4f}")
settings = {
    "defaults (2 steps, DS-CFG w_peak 2)": SamplerConfig(),
    "2 steps, no CFG": SamplerConfig(guidance=GuidanceConfig("none")),
    "1 step, no CFG": SamplerConfig(steps=1, guidance=GuidanceConfig("none")),
    "1 step, DS-CFG": SamplerConfig(steps=1),
    "4 steps, DS-CFG": SamplerConfig(steps=4),
    "2 steps, static w 1.5": SamplerConfig(guidance=GuidanceConfig("static", w_peak=1.5)),
}
for name, sampler in settings.items():
    out = []
    for s, t in pairs:
        clip = ds.clip(t.clip)
        editor = ModelEditor(m, dataclasses.replace(sampler, device="cpu"), audio_frontend=ds.frontend, text_encoder=ds.text_encoder)
        times = (t.start + np.arange(m.config.segment_frames)) / clip.fps
        audio = editor.prepare_audio(clip.waveforms[t.rendering])
        out.append(to_model_range(editor.edit(ds.segment_crops(s), times, ds.segment_mouth(t), audio)))
    err = mouth_error(torch.stack(out), tgt, mouth)
    print(f"{name:40s} {err:.4f}  ({10*np.log10(mouth_error(src, tgt, mouth)/err):+.2f} dB vs no-op)")
