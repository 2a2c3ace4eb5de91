"""Per clip: the candidate (m1 'after') against the control fine-tune without the level (stop 39's w1 'after') and the shipped ('before')."""
import ast, sys, numpy as np
def read(path):
    out = {}
    for line in open(path):
        parts = line.strip().split(" ", 1)
        if len(parts) == 2 and parts[1].startswith("{"):
            try:
                out[parts[0]] = ast.literal_eval(parts[1])
            except Exception:
                pass
    return out
for split in sys.argv[1:]:
    m = read(f"candidate-ba-m1-{split}.log"); w = read(f"control-ba-w1-{split}.log")
    common = [k for k in m if k in w and "after" in m[k] and "after" in w[k]]
    rows = [(k, m[k]["no-op"]["mouth_psnr"], m[k]["before"]["mouth_psnr"], w[k]["after"]["mouth_psnr"], m[k]["after"]["mouth_psnr"]) for k in common]
    a = np.array([r[1:] for r in rows])
    print(f"{split}: {len(rows)} clips; mean no-op / shipped / control (no level) / level: {a.mean(0).round(3)}")
    for fam in ("seen", "heldout-head", "heldout-mouth", "heldout-render"):
        sel = [i for i, r in enumerate(rows) if r[0].startswith("bench-" + fam + "-")]
        if sel:
            print(f"  {fam:15s} {len(sel)}: {a[sel].mean(0).round(3)}  level-control per clip: {np.round(a[sel, 3] - a[sel, 2], 2)}")
