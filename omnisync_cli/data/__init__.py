"""The synthetic talking-character corpus (and, from the training side, pair sampling).

    speech.py      libespeak-ng speech with phoneme timings (ctypes), random sentences and voices
    visemes.py     phonemes -> mouth shapes with co-articulation; articulation prompts
    characters.py  human / stylized / non-human identities drawn on a canonical canvas
    render.py      one frame: pose, mouth, blink, background, light, occluders, noise
    scene.py       a scene's tracks over time; render it with any utterance (pseudo-pairs)
    corpus.py      CorpusConfig, build_corpus(out_dir, config, progress): shards + benchmark
    shards.py      the on-disk shard format, ShardWriter and CorpusReader
    pairs.py       timestep-dependent pair sampling (training)

Nothing is imported here, so `data.pairs` stays light for the training code.
"""
