"""The corpus as training reads it: the shard readers of `data.shards` (one folder or
several, e.g. the synthetic corpus plus `prepare-data` output), and its summary."""

import bisect
from collections.abc import Sequence
from pathlib import Path

from omnisync_cli.data.pairs import ClipInfo, PairIndex
from omnisync_cli.data.shards import CorpusReader, CorpusClip


class ConcatSource:
    """Several ClipSources read as one; clip i of the whole is clip i - offset of one part."""

    def __init__(self, parts: Sequence):
        self.parts = list(parts)
        self.starts = [0]
        for part in self.parts:
            self.starts.append(self.starts[-1] + len(part))

    def __len__(self) -> int:
        return self.starts[-1]

    def _locate(self, i: int):
        k = bisect.bisect_right(self.starts, i) - 1
        return self.parts[k], i - self.starts[k]

    def info(self, i: int) -> ClipInfo:
        part, j = self._locate(i)
        return part.info(j)

    def load(self, i: int) -> CorpusClip:
        part, j = self._locate(i)
        return part.load(j)


def open_corpus(corpus_dir: str | Path | Sequence[str | Path]):
    """A ClipSource over the shards of one corpus folder, or of several read as one
    (`CorpusReader` raises an InputError naming a folder that holds no corpus)."""
    if isinstance(corpus_dir, (str, Path)):
        return CorpusReader(corpus_dir)
    return ConcatSource([CorpusReader(d) for d in corpus_dir])


def describe(corpus_dir) -> str | list[str]:
    """The corpus argument as training.json records it."""
    if isinstance(corpus_dir, (str, Path)):
        return str(corpus_dir)
    if isinstance(corpus_dir, Sequence):
        return [str(d) for d in corpus_dir]
    return type(corpus_dir).__name__


def summarize(index: PairIndex, source=None) -> dict:
    """Counts for training.json and the model card, plus the corpus builders' settings."""
    summary = {
        "clips": len(index.clips),
        "characters": len({c.character for c in index.clips}),
        "renderings": sum(c.renderings for c in index.clips),
        "frames": sum(c.frames * c.renderings for c in index.clips),
        "clips_with_pseudo_pairs": sum(c.renderings > 1 for c in index.clips),
        "targets": len(index.targets),
    }
    readers = source.parts if isinstance(source, ConcatSource) else [source]
    configs = [r.index.get("config", {}) for r in readers if isinstance(r, CorpusReader)]
    if configs:
        summary["builder_config"] = configs[0] if len(configs) == 1 else configs
    return summary
