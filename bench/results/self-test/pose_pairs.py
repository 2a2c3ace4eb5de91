"""The own test with each sound's picture taken as the middle far candidate (shipped) or as the far
candidate nearest it by pose (the mouth bank's pose vectors): which follows the benchmark better?

    PYTHONPATH=$PWD:$PWD/bench python bench/results/self-test/pose_pairs.py CORPUS RESULTS [CORPUS RESULTS ...]
"""
import json, sys, numpy as np
from pathlib import Path
from omnisync_cli.cli import build_sampler
from omnisync_cli.media.audio import SAMPLE_RATE, load_speech
from omnisync_cli.pipeline.dub import DubOptions, analyse, analysis_span, hear, speaking_bank
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline import self_test as st
from omnisync_cli.pipeline.mouth_bank import pose_vectors

def terms_for(editor, bank, feats, sp, times, mode):
    L = editor.segment_frames
    starts = st.segment_starts(sp, bank.follows(), L)
    if len(starts) < 2: return None
    if mode == 'middle':
        moments = st.pair_moments(starts, times, 6, 1.0)
    else:
        pose = pose_vectors(bank.crops, 16)
        moments = []
        for u in starts[np.unique(np.linspace(0, len(starts) - 1, min(6, len(starts))).round().astype(int))]:
            far = starts[np.abs(times[starts] - times[u]) >= 1.0]
            if len(far) == 0: continue
            # summed pose distance over the segment's frames
            d = [((pose[s:s+L] - pose[u:u+L]) ** 2).sum() for s in far]
            moments.append((int(far[int(np.argmin(d))]), int(u)))
    if not moments: return None
    T = np.zeros(3)
    for s, u in moments:
        out = editor.edit(bank.crops[s:s+L], times[u:u+L], bank.mouth_xy[s:s+L], feats)
        T += st.edit_error_terms(bank.crops[s:s+L], out, bank.crops[u:u+L], bank.mouth_xy[u:u+L], 0.1)
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
        tm = terms_for(editor, bank, feats, sp, times, 'middle'); tp = terms_for(editor, bank, feats, sp, times, 'pose')
        if tm is None or tp is None: continue
        g = v['scores']['mouth_psnr'] - c['variants']['no-op']['scores']['mouth_psnr']
        rows.append((g, st.gain_db(tm), st.gain_db(tp), st.trusted_scale(tm), st.trusted_scale(tp)))
        print(Path(corpus).name, c['id'], c['kind'], '%+.2f | middle %+.2f %.2f | pose %+.2f %.2f' % (g, rows[-1][1], rows[-1][3], rows[-1][2], rows[-1][4]), flush=True)
a = np.array(rows)
print('r middle', np.corrcoef(a[:,0], a[:,1])[0,1], 'r pose', np.corrcoef(a[:,0], a[:,2])[0,1], 'n', len(a))
