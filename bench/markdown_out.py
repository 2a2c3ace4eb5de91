"""The ending every bench script shares: print the markdown report, and write it where asked."""

from pathlib import Path

import numpy as np

STYLE_GROUPS = ("seen", "heldout-head", "heldout-mouth", "heldout-render", "all")


def emit(lines: list[str], path: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def group_table(rows: list, dubs: list[str], keys: list[tuple[str, str]]) -> list[str]:
    """A markdown table of means per style group and dub: `rows` are (clip, {dub: {key: value}})
    pairs, `keys` (score key, column label); missing and non-finite values are left out."""
    lines = ["| group | dub | clips | " + " | ".join(label for _, label in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for group in STYLE_GROUPS:
        chosen = [scores for clip, scores in rows if group in ("all", clip.group)]
        if not chosen:
            continue
        for name in dubs:
            cells = []
            for key, _ in keys:
                values = [s[name][key] for s in chosen if s[name].get(key) is not None and np.isfinite(s[name][key])]
                cells.append(f"{np.mean(values):.3f}" if values else "–")
            lines.append(f"| {group} | {name} | {len(chosen)} | " + " | ".join(cells) + " |")
    return lines
