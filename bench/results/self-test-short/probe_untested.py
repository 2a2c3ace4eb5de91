"""The own test on clips whose source speaks only a word or two: its speaking mask per bank frame
(S speaks, . quiet, - neither), and the test's gain and trusted share with the dub's 8-frame
segments only (`shortest_segment` 8: None, untested) and with the fallback to 4-frame ones.

    python bench/results/self-test-short/probe_untested.py CLIP_DIR [...]   (each with source.mp4, speech.wav)
"""
import sys
from pathlib import Path

from omnisync_cli.media.audio import load_speech
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.dub import hear, speaking_bank
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.pipeline.self_test import SelfTestConfig, gain_db, own_test_terms, trusted_scale

editor = load_editor(None, SamplerConfig())
options = DubOptions()
for clip in map(Path, sys.argv[1:]):
    video = clip / "source.mp4"
    analysis = analyse(video, options)
    hearing = hear(load_speech(clip / "speech.wav"), video, editor, options, analysis.info.duration)
    found = speaking_bank(analysis, editor, options, hearing.source)
    if found is None:
        print(clip.name, "no mouth bank (no source speech)")
        continue
    bank, speaking = found
    quiet, _ = bank.speaking(hearing.source, analysis.frame_times, float(analysis.info.fps))
    print(clip.name, "".join("S" if s else ("." if q else "-") for s, q in zip(speaking, quiet)))
    times, features = analysis.frame_times[bank.indices], editor.audio_features(hearing.source)
    for shortest in (8, 4):
        terms = own_test_terms(editor, bank, features, speaking, times, SelfTestConfig(shortest_segment=shortest))
        shown = "untested" if terms is None else f"gain {gain_db(terms):+.2f} dB, trusted share {trusted_scale(terms):.3f}"
        print(f"  shortest segment {shortest}: {shown}")
