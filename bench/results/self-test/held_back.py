"""Per clip the second run held back (edit_scale < 1): its own test, the share shown, and mouth PSNR,
sync R and opening r of the first run's binary gate (`ds-cfg` there), the share (`ds-cfg` here) and
the whole edit (`no-self-test` there).

    python held_back.py results-scale-heldout.json results-heldout.json > held-back-heldout.txt
"""
import json, sys
new = json.load(open(sys.argv[1])); old = json.load(open(sys.argv[2]))
oc = {c['id']: c for c in old['clips']}
for c in new['clips']:
    g = c['variants']['ds-cfg']
    if not g.get('ok'): continue
    o = oc[c['id']]['variants']
    sc = g.get('edit_scale')
    if sc is None or sc >= 1: continue
    f = lambda v, k: v['scores'].get(k)
    fm = lambda x: 'None' if x is None else '%.2f' % x
    print(f"{c['id'][-22:]:22s} {c['kind']:26s} self {fm(g.get('self_test_db'))} scale {sc:.2f} | psnr noop {fm(f(o['no-op'],'mouth_psnr'))} gate {fm(f(o['ds-cfg'],'mouth_psnr'))} scale {fm(f(g,'mouth_psnr'))} full {fm(f(o['no-self-test'],'mouth_psnr'))} | R gate {fm(f(o['ds-cfg'],'sync_r'))} scale {fm(f(g,'sync_r'))} full {fm(f(o['no-self-test'],'sync_r'))} | open r {fm(f(o['ds-cfg'],'open_r'))} {fm(f(g,'open_r'))} {fm(f(o['no-self-test'],'open_r'))}")
