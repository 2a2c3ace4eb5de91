"""Per clip of one `omnisync bench ... --variants no-op,ds-cfg,no-self-test` run: the model's own test
(dB), whether the dub left the network out (GATED), and mouth PSNR, sync R, opening r and silence /
speech of the dub (with the test) and of the network on every clip.

    python gated.py results-heldout.json > clips-heldout.txt
"""
import json, sys
d = json.load(open(sys.argv[1]))
for c in d['clips']:
    v = c['variants']; g = v['ds-cfg']; f = v['no-self-test']; n = v['no-op']
    if not g.get('ok'): continue
    mark = '' if g.get('network_used', True) else 'GATED'
    s = lambda x, k: x['scores'].get(k)
    fmt = lambda x: 'None' if x is None else '%.2f' % x
    print(f"{c['id']:32s} {c['kind']:28s} self {fmt(g.get('self_test_db')):>6s} {mark:5s} psnr noop {fmt(s(n,'mouth_psnr'))} gate {fmt(s(g,'mouth_psnr'))} model {fmt(s(f,'mouth_psnr'))} | R {fmt(s(g,'sync_r'))} {fmt(s(f,'sync_r'))} | open r {fmt(s(g,'open_r'))} {fmt(s(f,'open_r'))} | sil {fmt(s(g,'silence_ratio'))} {fmt(s(f,'silence_ratio'))}")
