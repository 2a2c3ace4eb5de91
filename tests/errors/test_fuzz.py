"""Bounded fuzzing: damaged media and random manifests give clean errors, nothing else.

Hypothesis mutates small valid files (bytes flipped, cut, spliced in) and writes random
manifests; the readers must either read them or raise an `OmniSyncError`: no other
exception, no crash. The default budget keeps the suite fast;
`OMNISYNC_FUZZ_EXAMPLES=2000 python3 -m pytest tests/errors/test_fuzz.py` runs a long one.
"""

import os
import string
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync_cli.errors import OmniSyncError
from omnisync_cli.media.audio import load_audio
from omnisync_cli.media.video import VideoReader
from omnisync_cli.pipeline.manifest import check_output_name, items_from_manifest
from tests.media.clips import tone, write_audio, write_clip

EXAMPLES = int(os.environ.get("OMNISYNC_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_SEEDS = Path(tempfile.mkdtemp(prefix="omnisync-fuzz-"))


def seed_file(name: str) -> bytes:
    """A small valid file to mutate, written once per session."""
    path = _SEEDS / name
    if not path.exists():
        if name.endswith((".wav", ".flac", ".m4a", ".mp3")):
            write_audio(path, tone(0.3, 16000), 16000)
        else:
            write_clip(path, n_frames=8, width=32, height=32, audio=tone(0.3, 16000) if name.endswith(".mp4") else None)
    return path.read_bytes()


@st.composite
def damaged(draw, names):
    """(file name, bytes): a seed file with a few bytes changed, a part cut out or junk spliced in."""
    name = draw(st.sampled_from(names))
    data = bytearray(seed_file(name))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        data[start:start + draw(st.integers(0, 512))] = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return name, bytes(data)


def write(tmp_dir: Path, name: str, data: bytes) -> Path:
    path = tmp_dir / name
    path.write_bytes(data)
    return path


@FUZZ
@given(case=damaged(["in.mp4", "in.mkv", "in.avi", "in.mov"]))
def test_damaged_videos_read_or_raise_clean_errors(case):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), *case)
        try:
            with VideoReader(path) as reader:
                frames = list(reader.iter_frames())
                if frames:
                    reader.read_frames(len(frames) // 2, len(frames))
        except OmniSyncError as error:
            assert str(error) and "\n" not in str(error)


@FUZZ
@given(case=damaged(["speech.wav", "speech.flac", "speech.m4a", "speech.mp3"]))
def test_damaged_speech_reads_or_raises_clean_errors(case):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), *case)
        try:
            waveform = load_audio(path)
        except OmniSyncError as error:
            assert str(error) and "\n" not in str(error)
        else:
            assert waveform.dtype == np.float32 and waveform.ndim == 1 and np.isfinite(waveform).all()


FIELDS = ["video", "audio", "output", "extend", "face_index", "mouth", "region", "feather", "crf", "x"]
TEXT = st.text(alphabet=string.printable + "é\u202e\x00/\\.", max_size=20)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                           max_leaves=8)


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(FIELDS), TEXT | JSON_VALUES, max_size=5), max_size=4),
       as_csv=st.booleans(), raw=st.none() | st.binary(max_size=200))
def test_random_manifests_give_items_inside_the_output_folder_or_clean_errors(rows, as_csv, raw):
    import csv
    import io
    import json
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("jobs.csv" if as_csv else "jobs.json")
        if raw is not None:
            path.write_bytes(raw)
        elif as_csv:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows({k: str(v) for k, v in row.items()} for row in rows)
            path.write_text(out.getvalue())
        else:
            path.write_text(json.dumps(rows))
        try:
            items = items_from_manifest(path)
        except OmniSyncError as error:
            assert str(error)
            return
        for item in items:
            assert check_output_name(item.output, "fuzz") == item.output and "/" not in item.output
