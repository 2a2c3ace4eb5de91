"""The training corpus on disk: a few safetensors shards with JSON metadata, read lazily.

Layout of a corpus folder:

    index.json                 format, version, the builder's config, shard list, counts
    shard-00000.safetensors    tensors of up to `clips_per_shard` clips (see below)
    shard-00000.json           per-clip metadata of that shard, in order
    bench/                     the benchmark split (written by `corpus.py`, not read here)

Tensors of clip `key` (R renderings of one scene, F frames, crop side S, N audio samples):

    {key}/crops     (R, F, S, S, 3) uint8   working-region crops, RGB
    {key}/mouth     (F, 2) float32          mouth centre in the crop, [0, 1] (x, y); the same
                                            for every rendering because they share the pose track
    {key}/audio     (R, N) float32          16 kHz mono; frame j sits at j / fps seconds
    {key}/visemes   (R, F, 5) float32       the mouth parameters that drove each rendering
    {key}/boxes     (F, 3) float32          the crop box in frame px: centre x, y and side

Per-clip JSON: key, character_id, category, kind, fps, frames, renderings, crop_size,
frame_size, sample_rate and `utterances` (per rendering: text, voice, language, prompt,
articulation level and amplitude, phonemes as [name, start_s, end_s]).

Any writer that fills these fields (the synthetic corpus here; a real-video preparation
step with R = 1 and no visemes) can be read by `CorpusReader`.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from ..errors import InputError, OutputError
from ..files import save_safetensors
from .pairs import ClipInfo

FORMAT = "omnisync-corpus"
VERSION = 1
INDEX = "index.json"


@dataclass(frozen=True)
class CorpusClip:
    """One clip (scene) with all its renderings; field names match train's ClipData."""

    key: str
    meta: dict
    crops: list[np.ndarray]      # per rendering (F, S, S, 3) uint8
    mouth_xy: list[np.ndarray]   # per rendering (F, 2) float32 in [0, 1] crop coordinates
    waveforms: list[np.ndarray]  # per rendering (N,) float32 at 16 kHz
    visemes: list[np.ndarray]    # per rendering (F, 5) float32 (empty list if not known)
    boxes: np.ndarray            # (F, 3) crop box centre x, y and side in frame px

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])

    @property
    def prompts(self) -> list[str]:
        return [u.get("prompt", "") for u in self.meta["utterances"]]


class ShardWriter:
    """Collects clips and writes them `clips_per_shard` at a time; `close()` writes the index."""

    def __init__(self, out_dir: str | Path, clips_per_shard: int = 16, config: dict | None = None) -> None:
        self.out_dir = Path(out_dir)
        if (self.out_dir / INDEX).exists():
            raise OutputError(f"{self.out_dir} already holds a corpus ({INDEX}); pick an empty "
                              "folder or delete the old corpus first")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {self.out_dir} ({exc.strerror or exc}); choose another folder") from None
        self.clips_per_shard = max(1, int(clips_per_shard))
        self.config = config or {}
        self._tensors: dict[str, np.ndarray] = {}
        self._metas: list[dict] = []
        self.shards: list[str] = []
        self.counts = {"clips": 0, "renderings": 0, "frames": 0, "bytes": 0}

    def add(self, key: str, meta: dict, crops: np.ndarray, mouth: np.ndarray, audio: np.ndarray,
            visemes: np.ndarray | None = None, boxes: np.ndarray | None = None) -> None:
        """Add one clip: crops (R, F, S, S, 3) uint8, mouth (F, 2), audio (R, N), visemes (R, F, 5)."""
        r, f = crops.shape[:2]
        if crops.dtype != np.uint8 or crops.ndim != 5 or mouth.shape != (f, 2) or audio.shape[0] != r:
            raise ValueError(f"clip {key}: crops {crops.shape} {crops.dtype}, mouth {mouth.shape}, "
                             f"audio {audio.shape} do not fit the shard format")
        self._tensors[f"{key}/crops"] = np.ascontiguousarray(crops)
        self._tensors[f"{key}/mouth"] = np.ascontiguousarray(mouth, np.float32)
        self._tensors[f"{key}/audio"] = np.ascontiguousarray(audio, np.float32)
        if visemes is not None:
            self._tensors[f"{key}/visemes"] = np.ascontiguousarray(visemes, np.float32)
        if boxes is not None:
            self._tensors[f"{key}/boxes"] = np.ascontiguousarray(boxes, np.float32)
        self._metas.append(dict(meta, key=key, renderings=int(r), frames=int(f)))
        self.counts["clips"] += 1
        self.counts["renderings"] += int(r)
        self.counts["frames"] += int(r * f)
        if len(self._metas) >= self.clips_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self._metas:
            return
        name = f"shard-{len(self.shards):05d}"
        tmp = self.out_dir / f"{name}.safetensors.tmp"
        save_safetensors(self._tensors, tmp, metadata={"format": FORMAT, "version": str(VERSION)})
        os.replace(tmp, self.out_dir / f"{name}.safetensors")
        _write_json(self.out_dir / f"{name}.json", {"format": FORMAT, "version": VERSION, "clips": self._metas})
        self.counts["bytes"] += (self.out_dir / f"{name}.safetensors").stat().st_size
        self.shards.append(name)
        self._tensors, self._metas = {}, []

    def close(self, extra: dict | None = None) -> dict:
        """Write the last shard and index.json (written last: its presence marks a complete corpus)."""
        self.flush()
        index = {"format": FORMAT, "version": VERSION, "config": self.config, "shards": self.shards,
                 **self.counts, **(extra or {})}
        _write_json(self.out_dir / INDEX, index)
        return index


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False))
    os.replace(tmp, path)


class CorpusReader:
    """Random and sequential access to the clips of a corpus folder; pixels are read on demand.

    Satisfies train's `ClipSource` protocol: `len()`, `info(i)` (a `pairs.ClipInfo`) and
    `load(i)` (a `CorpusClip`). Iterating yields every clip in shard order.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        index_path = self.root / INDEX
        if not index_path.is_file():
            raise InputError(f"{self.root} is not a finished corpus (no {INDEX}); build one with "
                             "`omnisync synth` or `omnisync prepare-data`")
        try:
            self.index = json.loads(index_path.read_text())
            if not isinstance(self.index, dict) or self.index.get("format") != FORMAT \
                    or self.index.get("version") != VERSION:
                raise InputError(f"{index_path} is not an {FORMAT} v{VERSION} index")
            self.entries: list[dict] = []  # per clip: its metadata plus "shard"
            for shard in self.index["shards"]:
                for meta in json.loads((self.root / f"{shard}.json").read_text())["clips"]:
                    self.entries.append(dict(meta, shard=shard))
        except (OSError, ValueError, KeyError, TypeError) as error:  # a file missing, cut short or edited by hand
            raise InputError(f"{self.root}: the corpus is damaged ({type(error).__name__}: {error}); rebuild it with "
                             "`omnisync synth` or `omnisync prepare-data`") from None
        self._by_key = {e["key"]: i for i, e in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries)

    def info(self, i: int) -> ClipInfo:
        e = self.entries[i]
        return ClipInfo(character=e["character_id"], renderings=int(e["renderings"]), frames=int(e["frames"]))

    def load(self, i: int | str) -> CorpusClip:
        """Clip `i` (position) or `key` with all its arrays."""
        e = self.entries[self._by_key[i] if isinstance(i, str) else i]
        key = e["key"]
        shard = self.root / f"{e['shard']}.safetensors"
        try:
            with safe_open(str(shard), framework="np") as f:
                names = set(f.keys())
                crops = f.get_tensor(f"{key}/crops")
                mouth = f.get_tensor(f"{key}/mouth")
                audio = f.get_tensor(f"{key}/audio")
                visemes = f.get_tensor(f"{key}/visemes") if f"{key}/visemes" in names else None
                boxes = f.get_tensor(f"{key}/boxes") if f"{key}/boxes" in names else np.zeros((0, 3), np.float32)
        except (OSError, SafetensorError) as error:  # a shard missing or cut short
            raise InputError(f"{shard}: the corpus is damaged ({error}); rebuild it with `omnisync synth` or "
                             "`omnisync prepare-data`") from None
        r = crops.shape[0]
        return CorpusClip(key=key, meta=e, crops=list(crops), mouth_xy=[mouth] * r, waveforms=list(audio),
                          visemes=list(visemes) if visemes is not None else [], boxes=boxes)

    def __iter__(self):
        for i in range(len(self)):
            yield self.load(i)
