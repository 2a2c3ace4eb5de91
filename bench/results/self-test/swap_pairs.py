"""The own test with each picture made from its truth's own crops with the mouth of the picture's
moment lent in (the mouth bank's swap), so that only the mouth differs, as in the benchmark's no-op:
does it follow the benchmark better than the shipped test?

    PYTHONPATH=$PWD:$PWD/bench python bench/results/self-test/swap_pairs.py CORPUS RESULTS [CORPUS RESULTS ...]
"""
import json, sys, numpy as np
from pathlib import Path
from omnisync_cli.cli import build_sampler
from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.pipeline.dub import DubOptions, analyse, analysis_span, hear, speaking_bank
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline import self_test as st
from omnisync_cli.pipeline.mouth_bank import MouthBankConfig

def terms_swap(editor, bank, feats, sp, times):
    L = editor.segment_frames
    moments = st.pair_moments(st.segment_starts(sp, bank.follows(), L), times, 6, 1.0)
    if not moments: return None
    T = np.zeros(3)
    for s, u in moments:
        truth = bank.crops[u:u+L]
        picture = bank.lend(truth, bank.mouth_xy[u:u+L], np.arange(s, s+L), MouthBankConfig().max_shift)
        out = editor.edit(picture, times[u:u+L], bank.mouth_xy[u:u+L], feats)
        T += st.edit_error_terms(picture, out, truth, bank.mouth_xy[u:u+L], 0.1)
    return T

editor = load_editor(None, build_sampler(0.92, 2, "ds", 2.0, 1.0, 0.15, 1.5, 0, "auto", "auto"), "")
rows = []
for corpus, results in zip(sys.argv[1::2], sys.argv[2::2]):
    for c in json.loads(Path(results).read_text())["clips"]:
        v = c["variants"]["no-self-test"]
        if not v.get("ok"): continue
        folder = Path(corpus) / "bench" / c["id"]; options = DubOptions()
        speech = load_speech(folder / "speech.wav"); span = analysis_span(len(speech) / SAMPLE_RATE)
        a = analyse(folder / "source.mp4", options, until_s=span)
        src = hear(speech, folder / "source.mp4", editor, options, span).source
        found = speaking_bank(a, editor, options, src)
        if found is None: continue
        bank, sp = found; times = a.frame_times[bank.indices]; feats = editor.audio_features(src)
        tm = st.own_test_terms(editor, bank, feats, sp, times); tw = terms_swap(editor, bank, feats, sp, times)
        if tm is None or tw is None: continue
        g = v['scores']['mouth_psnr'] - c['variants']['no-op']['scores']['mouth_psnr']
        rows.append((g, st.gain_db(tm), st.gain_db(tw), st.trusted_scale(tm), st.trusted_scale(tw)))
        print(Path(corpus).name, c['id'], c['kind'], '%+.2f | shipped %+.2f %.2f | swapped %+.2f %.2f' % (g, rows[-1][1], rows[-1][3], rows[-1][2], rows[-1][4]), flush=True)
a = np.array(rows)
print('r shipped', np.corrcoef(a[:,0], a[:,1])[0,1], 'r swapped', np.corrcoef(a[:,0], a[:,2])[0,1], 'n', len(a))
