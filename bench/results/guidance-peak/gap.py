"""Generalisation gap: the audio probe (one step from a dub's start, sigma 0.92) on training
clips vs clips of identities never trained on, with the no-op's mouth error beside it."""
import sys, numpy as np, torch
from omnisync_cli.model.weights import load_model
from omnisync_cli.train.corpus import open_corpus
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples, to_model_range
from omnisync_cli.train.probe import audio_probe, mouth_error
from omnisync_cli.train.samples import validation_pairs
torch.set_num_threads(2)
weights = sys.argv[1]
m = load_model(weights).eval()
for corpus in sys.argv[2:]:
    ds = TrainingExamples(open_corpus(corpus), m.config, TrainConfig())
    pairs = validation_pairs(ds, 48, 0)
    if len(pairs) < 2:
        print(corpus, "pairs", len(pairs)); continue
    p = audio_probe(m, ds, pairs)
    src = torch.stack([to_model_range(ds.segment_crops(s)) for s, _ in pairs])
    tgt = torch.stack([to_model_range(ds.segment_crops(t)) for _, t in pairs])
    mouth = torch.from_numpy(np.stack([ds.segment_mouth(t) for _, t in pairs]))
    noop = mouth_error(src, tgt, mouth)
    print(f"{corpus}: {len(pairs)} pairs  no-op {noop:.4f}  dub_own {p['dub_own']:.4f}  dub_other {p['dub_other']:.4f}  dub_null {p['dub_null']:.4f}  gain own vs no-op {10*np.log10(noop/p['dub_own']):+.2f} dB")
