"""The benchmark's human-readable outputs: a markdown report, a bar chart and a picture strip.

Columns come from the `Metric` specs, so a new scorer's numbers show up without changes
here. matplotlib is imported only when a plot is drawn (it comes with the `face` extra's
mediapipe; the rest of omnisync does not need it).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from omnisync_cli.bench.scores import Metric

CATEGORIES = ("all", "human", "stylized", "nonhuman", "seen", "heldout-head", "heldout-mouth", "heldout-render")
_BETTER = {"higher": "↑", "lower": "↓", "1": "→1"}


def _cell(value, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def summary_table(results: dict, metrics: Sequence[Metric], category: str | None = None) -> str:
    """Markdown table: one row per variant (and category, unless one is given)."""
    categories = [category] if category else list(CATEGORIES)
    header = ["variant"] + ([] if category else ["category"]) + ["clips", "success"] + \
             [f"{m.label} {_BETTER[m.better]}" for m in metrics] + ["s/clip"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, by_category in results["summary"].items():
        for cat in categories:
            row = by_category.get(cat)
            if row is None:
                continue
            cells = [name] + ([] if category else [cat]) + [
                f"{row['finished']}/{row['clips']}", f"{100 * row['success_rate']:.0f}%"]
            cells += [_cell(row.get(m.key), m.fmt) for m in metrics]
            cells.append(_cell(row["dub_seconds"], ".1f"))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reference_table(results: dict) -> str:
    """The instruments' readings of the ground truth (and the no-op's sync), per category:
    what a perfect dub scores under the same sync expert and opening meter."""
    first = next(iter(results["summary"].values()), {})
    lines = ["| category | truth LSE-C | no-op LSE-C | truth open r | truth silence / speech | "
             "truth open where only new speech | truth open where only old speech |",
             "|---|---|---|---|---|---|---|"]
    for cat, row in first.items():
        lines.append(f"| {cat} | {_cell(row.get('truth_lse_c'), '.3f')} | {_cell(row.get('noop_lse_c'), '.3f')} | "
                     f"{_cell(row.get('truth_open_r'), '.3f')} | {_cell(row.get('truth_silence_ratio'), '.2f')} | "
                     f"{_cell(row.get('truth_woken_open'), '.3f')} | {_cell(row.get('truth_hushed_open'), '.3f')} |")
    return "\n".join(lines)


def tracking_table(results: dict) -> str:
    lines = ["| clip | category | track | frames found | mouth error (face widths) | box side / true | found |",
             "|---|---|---|---|---|---|---|"]
    for clip in results["clips"]:
        t = clip["track"]
        lines.append(f"| {clip['id']} | {clip['category']} | {t['source']} | {t['found_frames']}/{t['frames']} "
                     f"| {t['mouth_error']:.3f} | {t['side_ratio']:.3f} | {'yes' if t['found'] else 'NO'} |")
    return "\n".join(lines)


def markdown(results: dict, metrics: Sequence[Metric]) -> str:
    rule = results["success_rule"]
    failures = [f"- {c['id']} / {name}: {e['error']}" for c in results["clips"]
                for name, e in c["variants"].items() if not e["ok"]]
    clips = len(results["clips"]) + len(results.get("untracked", []))  # the ones not dubbed count too
    parts = [
        "# Quality benchmark", "",
        f"Corpus `{results['corpus']}`, weights `{results['weights'] or 'bundled'}`"
        f"{' (' + results['label'] + ')' if results.get('label') else ''}, "
        f"{clips} clips, {results['wall_seconds']:.0f} s in all.", "",
        "## Overall", "", summary_table(results, metrics, "all"), "",
        "## By category", "", summary_table(results, metrics), "",
        "## The ground truth under the same instruments", "", reference_table(results), "",
        "## Definitions", "",
        f"- **success**: the dub finished, its mouth PSNR is at most {rule['max_mouth_drop_db']} dB "
        f"below the no-op dub's (the source re-encoded with the new audio) and the outside PSNR is at least "
        f"{rule['min_outside_psnr_db']} dB; share of all clips.",
        *[f"- **{m.label}** ({_BETTER[m.better]}): {m.about}." for m in metrics],
        "- **s/clip**: wall seconds of one dub (tracking, model, encode), mean over finished clips.", "",
        "## Face tracking (the pipeline's default tracker, per clip)", "", tracking_table(results), "",
    ]
    if failures:
        parts += ["## Failed dubs", "", *failures, ""]
    if results.get("untracked"):
        parts += ["## Clips not dubbed (counted in the summary tables' clips, as not finished)", "",
                  *[f"- {c['id']} ({c['group']}): {c['error']}" for c in results["untracked"]], ""]
    parts += ["Variants:", "", *[f"- `{v['name']}`: {v['description']}" for v in results["variants"]], ""]
    return "\n".join(parts)


def write_report(results: dict, out_dir: Path, metrics: Sequence[Metric]) -> Path:
    path = Path(out_dir) / "report.md"
    path.write_text(markdown(results, metrics))
    return path


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    return plt


def plot_mouth_psnr(results: dict, path: Path) -> Path:
    """Grouped bars: mouth PSNR of each variant, per category, with the no-op's level."""
    plt = _pyplot()
    variants = list(results["summary"])
    categories = [c for c in CATEGORIES if any(c in results["summary"][v] for v in variants)]
    width = 0.8 / max(len(variants), 1)
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(categories) * max(1, len(variants)) * 0.6, 4))
    x = np.arange(len(categories))
    for i, name in enumerate(variants):
        values = [results["summary"][name].get(c, {}).get("mouth_psnr") for c in categories]
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, [np.nan if v is None else v for v in values],
               width, label=name)
    noop = [next(iter(results["summary"].values())).get(c, {}).get("noop_mouth_psnr") for c in categories]
    ax.hlines([np.nan if v is None else v for v in noop], x - 0.45, x + 0.45, colors="black",
              linestyles="dashed", label="no-op level")
    ax.set_xticks(x, categories)
    ax.set_ylabel("mouth PSNR vs ground truth (dB)")
    ax.set_title("Mouth-region PSNR by variant and category (higher is better)")
    finite = [results["summary"][v][c][k] for v in variants for c in categories for k in ("mouth_psnr", "noop_mouth_psnr")
              if c in results["summary"][v] and results["summary"][v][c][k] is not None]
    if finite:
        ax.set_ylim(max(0.0, min(finite) - 3), max(finite) + 2)
    ax.legend(fontsize=8, ncol=min(len(variants), 5))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_strip(strips: dict[str, dict[str, np.ndarray]], variant_names: Sequence[str], path: Path) -> Path:
    """Mouth crops side by side: per clip a block of rows source | each variant | target,
    columns = frames spread over the clip (missing frames of a failed dub stay grey)."""
    plt = _pyplot()
    rows = ["source", *variant_names, "target"]
    blocks = []
    for clip_id, crops in strips.items():
        reference = crops.get("target", crops["source"])  # (K, S, S, 3)
        k, s = reference.shape[0], reference.shape[1]
        grid = np.full((len(rows) * s, k * s, 3), 128, dtype=np.uint8)
        for r, name in enumerate(rows):
            for c, crop in enumerate(crops.get(name, [])[:k]):
                grid[r * s:(r + 1) * s, c * s:(c + 1) * s] = crop
        blocks.append((clip_id, grid, s))
    fig, axes = plt.subplots(len(blocks), 1, squeeze=False,
                             figsize=(2 + blocks[0][1].shape[1] / 80, len(blocks) * (0.4 + len(rows) * 1.2)))
    for ax, (clip_id, grid, s) in zip(axes[:, 0], blocks):
        ax.imshow(grid, interpolation="nearest")
        ax.set_yticks([(r + 0.5) * s for r in range(len(rows))], rows)
        ax.set_xticks([])
        ax.set_title(clip_id, fontsize=9)
    fig.tight_layout()
    # JPEG at 90 keeps the crops legible at a fifth of a PNG's size (the results are committed)
    fig.savefig(path, dpi=100, **({"pil_kwargs": {"quality": 90}} if Path(path).suffix.lower() == ".jpg" else {}))
    plt.close(fig)
    return path
