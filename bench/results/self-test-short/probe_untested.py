"""For clips whose source speaks too little for the own test: what the speaking mask looks like,
and the own test's gain with shorter segments / quiet pairs."""
import sys, numpy as np
from pathlib import Path
from omnisync_cli.pipeline import dub as D
from omnisync_cli.pipeline.self_test import own_test_terms, gain_db, trusted_scale, pair_moments, segment_starts, SelfTestConfig
from omnisync_cli.pipeline.editor import load_editor
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.media.audio import load_speech

editor = load_editor(None, SamplerConfig())
for clip in sys.argv[1:]:
    video = Path(clip) / "source.mp4"
    opts = D.DubOptions()
    analysis = D.analyse(video, opts)
    wave = load_speech(Path(clip) / "speech.wav")
    hearing = D.hear(wave, video, editor, opts, analysis.info.duration)
    found = D.speaking_bank(analysis, editor, opts, hearing.source)
    if found is None:
        print(clip, "no bank"); continue
    bank, speaking = found
    times = analysis.frame_times[bank.indices]
    quiet, _ = bank.speaking(hearing.source, analysis.frame_times, float(analysis.info.fps))
    print(Path(clip).name, "bank", len(bank.indices), "speaking", int(speaking.sum()), "quiet", int(quiet.sum()),
          "".join("S" if s else ("." if q else "-") for s, q in zip(speaking, quiet)))
    feats = editor.audio_features(hearing.source)
    for length in (8, 4):
        class E:  # the editor with shorter segments for the test only
            segment_frames = length
            def edit(self, *a): return editor.edit(*a)
        terms = own_test_terms(E(), bank, feats, speaking, times)
        print("  speaking segs", length, None if terms is None else (round(gain_db(terms), 2), round(trusted_scale(terms), 3)))
    terms = own_test_terms(editor, bank, feats, quiet, times)
    print("  quiet pairs", None if terms is None else (round(gain_db(terms), 2), round(trusted_scale(terms), 3)))
