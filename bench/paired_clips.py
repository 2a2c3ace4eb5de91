"""Two benchmark runs compared on the clips both dubbed, per style group (a change that makes
the tracker accept a clip it refused, or refuse one, changes a run's groups; this keeps the
comparison to the same clips).

    python bench/paired_clips.py BEFORE/results.json BEFORE_VARIANT AFTER/results.json AFTER_VARIANT

Prints per group the mean of each score before -> after, then the clips whose mouth PSNR moved
by more than 0.05 dB.
"""

import argparse
import json
from pathlib import Path

import numpy as np

KEYS = ("mouth_psnr", "mouth_ssim", "edit_on_mouth", "edit_cosine", "open_r", "sync_r", "flicker")


def scores_of(path: Path, variant: str) -> dict[str, tuple[str, dict]]:
    """clip id -> (style group, the variant's scores) for the clips the variant dubbed."""
    run = json.loads(path.read_text())
    out = {}
    for clip in run["clips"]:
        entry = clip["variants"].get(variant)
        if entry:
            out[clip["id"]] = (clip["group"], entry.get("scores", entry))
    return out


def mean_pair(before: list, after: list) -> str:
    pairs = [(a, b) for a, b in zip(before, after)
             if a is not None and b is not None and np.isfinite(a) and np.isfinite(b)]
    if not pairs:
        return "-"
    return f"{np.mean([a for a, _ in pairs]):.3f} -> {np.mean([b for _, b in pairs]):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("before_variant")
    parser.add_argument("after", type=Path)
    parser.add_argument("after_variant")
    args = parser.parse_args()
    before, after = scores_of(args.before, args.before_variant), scores_of(args.after, args.after_variant)
    common = sorted(set(before) & set(after))
    print(f"{len(common)} clips in both; only before: {sorted(set(before) - set(after))}; "
          f"only after: {sorted(set(after) - set(before))}")
    print("| group | clips | " + " | ".join(KEYS) + " |")
    print("|---|---|" + "---|" * len(KEYS))
    for group in sorted({before[c][0] for c in common}) + ["all"]:
        chosen = [c for c in common if group in ("all", before[c][0])]
        cells = [mean_pair([before[c][1].get(k) for c in chosen], [after[c][1].get(k) for c in chosen]) for k in KEYS]
        print(f"| {group} | {len(chosen)} | " + " | ".join(cells) + " |")
    for clip in common:
        a, b = before[clip][1]["mouth_psnr"], after[clip][1]["mouth_psnr"]
        if abs(a - b) > 0.05:
            print(f"{clip}: mouth PSNR {a:.2f} -> {b:.2f}, edit on mouth {before[clip][1].get('edit_on_mouth')} -> "
                  f"{after[clip][1].get('edit_on_mouth')}")


if __name__ == "__main__":
    main()
