import dataclasses
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import av
import numpy as np
import pytest
import soundfile as sf

from omnisync_cli.data.corpus import (PRESETS, ClipJob, build_corpus, character_for, clip_jobs, disc_offset,
                                      make_clip)
from omnisync_cli.data.shards import CorpusReader
from omnisync_cli.face.region import RegionBox, crop_region
from omnisync_cli.data.speech import is_heldout_text
from omnisync_cli.data.styles import HELD_OUT
from omnisync_cli.errors import ConfigError, InputError, OutputError

TINY = dataclasses.replace(PRESETS["tiny"], clip_seconds=1.0, frame_size=80, crop_size=24)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    calls = []
    index = build_corpus(out, TINY, progress=lambda done, total: calls.append((done, total)))
    return out, index, calls


def clip_arrays(job: ClipJob) -> tuple[np.ndarray, np.ndarray]:
    clip = make_clip(job)
    return clip["crops"], clip["audio"]


def in_fresh_process(job: ClipJob) -> tuple[np.ndarray, np.ndarray]:
    """make_clip's crops and audio, made in a process of its own started by spawn, as
    build_corpus's workers make them: nothing earlier tests left in this process (threads,
    libraries' state) reaches it. (Made twice in this process, the audio differed in 3 of about 15
    full runs of the suite, and never alone: stops 40-41.)"""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(clip_arrays, job).result()


def test_clip_is_deterministic_from_its_seed():
    job = ClipJob("train", "seen", 0, 0, TINY)
    (crops_a, audio_a), (crops_b, audio_b) = in_fresh_process(job), in_fresh_process(job)
    assert np.array_equal(crops_a, crops_b) and np.array_equal(audio_a, audio_b)
    _, other = clip_arrays(dataclasses.replace(job, config=dataclasses.replace(TINY, seed=1)))
    assert not np.array_equal(audio_a, other)


def test_a_training_clip_with_whole_frames_is_the_one_its_crops_came_from():
    """bench/trained_clips.py benchmarks training clips: cut at the shard's boxes, the whole
    frames give the shard's crops pixel for pixel, and the speech is the same."""
    job = ClipJob("train", "seen", 1, 0, TINY)
    cropped, whole = make_clip(job), make_clip(job, whole_frames=True)
    assert len(whole["clips"]) == 2
    for rendering, clip in enumerate(whole["clips"]):
        recut = np.stack([crop_region(frame, RegionBox(*box), TINY.crop_size)
                          for frame, box in zip(clip.frames, cropped["boxes"])])
        assert np.array_equal(recut, cropped["crops"][rendering])
        assert np.array_equal(whole["utterances"][rendering]["waveform"], cropped["audio"][rendering])


def test_a_region_offset_moves_the_crop_off_the_mouth_and_nothing_else():
    """--region-offset: the same scene and speech, the boxes moved by one lasting offset of at
    most that many face widths, and the stored mouth position says where the mouth now sits."""
    job = ClipJob("train", "seen", 2, 0, TINY)
    shifted_job = dataclasses.replace(job, config=dataclasses.replace(TINY, region_offset=0.25))
    centred, shifted = make_clip(job), make_clip(shifted_job)
    assert np.array_equal(centred["audio"], shifted["audio"])
    assert np.array_equal(centred["visemes"], shifted["visemes"])
    move = (shifted["boxes"][:, :2] - centred["boxes"][:, :2]) / centred["boxes"][:, 2:3]  # face widths
    assert np.linalg.norm(move.mean(0)) > 0.01  # (the chance of a draw this near the centre: 0.2 %)
    assert np.linalg.norm(move, axis=1).max() < 0.25 + 0.1  # the offset plus the usual jitter
    # The mouth moves against the box: where it sits in the crop follows the offset.
    assert np.allclose((shifted["mouth"] - centred["mouth"]).mean(0), -move.mean(0), atol=0.03)


def test_disc_offset_stays_in_its_disc_and_draws_nothing_at_zero():
    rng = np.random.default_rng(0)
    points = np.stack([disc_offset(rng, 0.2) for _ in range(2000)])
    assert np.linalg.norm(points, axis=1).max() <= 0.2
    assert 0.45 < np.mean(np.linalg.norm(points, axis=1) < 0.2 / np.sqrt(2)) < 0.55  # uniform in area
    state = rng.bit_generator.state
    assert not disc_offset(rng, 0.0).any() and rng.bit_generator.state == state


def test_a_region_offset_beyond_the_crop_is_refused():
    with pytest.raises(ConfigError, match="region offset"):
        dataclasses.replace(TINY, region_offset=0.5).validate()


def test_an_unknown_benchmark_speech_is_refused():
    with pytest.raises(ConfigError, match="bench speech"):
        dataclasses.replace(TINY, bench_speech="whisper").validate()


def test_a_keep_style_share_keeps_one_articulation_level_per_clip():
    jobs = [ClipJob("train", "seen", i, 0, TINY) for i in range(12)]
    levels = lambda config: [[u["level"] for u in make_clip(dataclasses.replace(j, config=config))["utterances"]]  # noqa: E731
                             for j in jobs]
    varied, kept = levels(TINY), levels(dataclasses.replace(TINY, keep_style_share=1.0))
    assert any(len(set(lv)) > 1 for lv in varied)  # each rendering draws its own level
    assert all(len(set(lv)) == 1 for lv in kept)
    # share 0 draws nothing more: a corpus made before the option is made again unchanged
    assert levels(dataclasses.replace(TINY, keep_style_share=0.0)) == varied
    with pytest.raises(ConfigError, match="keep-style share"):
        dataclasses.replace(TINY, keep_style_share=1.5).validate()


def test_the_silence_preset_draws_clear_speech_with_a_long_pause_in_every_utterance():
    config = dataclasses.replace(PRESETS["silence"], frame_size=80, crop_size=24)
    config.validate()
    assert config.identities == 0  # benchmark clips only
    for job in [j for j in clip_jobs(config) if j.split == "bench"][::5]:
        for utterance in make_clip(job)["utterances"]:
            assert utterance["level"] >= 2
            pauses = [end - start for name, start, end in utterance["phonemes"] if name == ""]
            assert max(pauses) >= 1.0
    with pytest.raises(ConfigError, match="lowest level"):
        dataclasses.replace(TINY, lowest_level=5).validate()


def test_renderings_of_a_clip_share_the_scene_but_not_the_mouth():
    # (JPEG-compressed renderings spread a mouth change over whole 8x8 blocks: not this one.)
    job = next(j for j in (ClipJob("train", "seen", i, 0, TINY) for i in range(20))
               if not character_for(j).kind.endswith("/compressed"))
    result = make_clip(job)
    crops, visemes = result["crops"], result["visemes"]
    assert crops.shape[0] == 2 and not np.array_equal(visemes[0], visemes[1])
    diff = np.abs(crops[0].astype(int) - crops[1].astype(int)).sum(axis=(0, 3))  # (S, S)
    assert diff.sum() > 0
    # The mouth changes the middle of the crop; the border (face edges, background) barely.
    s = diff.shape[0]
    border = np.concatenate([diff[:3].ravel(), diff[-3:].ravel(), diff[:, :3].ravel(), diff[:, -3:].ravel()])
    assert border.mean() < 0.1 * diff[s // 3: 2 * s // 3, s // 3: 2 * s // 3].mean()


def test_build_writes_readable_shards_and_a_heldout_benchmark(corpus):
    out, index, calls = corpus
    assert calls[-1] == (len(clip_jobs(TINY)), len(clip_jobs(TINY)))
    reader = CorpusReader(out)
    assert len(reader) == index["clips"] == TINY.identities
    for i, clip in enumerate(reader):
        info = reader.info(i)
        assert info.renderings == 2 == len(clip.crops) == len(clip.waveforms) == len(clip.prompts)
        assert clip.crops[0].shape == (info.frames, 24, 24, 3) and clip.crops[0].dtype == np.uint8
        assert clip.mouth_xy[0].shape == (info.frames, 2)
        assert np.all(np.abs(clip.mouth_xy[0] - 0.5) < 0.2)
        assert clip.waveforms[0].shape == (16000,) and clip.fps in TINY.fps_choices
        assert info.frames == round(clip.fps)
        assert all(p for p in clip.prompts)
    manifest = json.loads((out / "bench" / "manifest.json").read_text())
    bench = manifest["clips"]
    assert [c["group"] for c in bench] == ["seen", "heldout-head", "heldout-mouth", "heldout-render"]
    for entry in reader.entries:  # training never draws a held-out style family
        head, mouth, render = entry["kind"].split("/")
        assert head != HELD_OUT["head"] and mouth != HELD_OUT["mouth"] and render != HELD_OUT["render"]
    for c in bench[1:]:
        axis = c["group"].removeprefix("heldout-")
        assert c["kind"].split("/")[("head", "mouth", "render").index(axis)] == HELD_OUT[axis]
        assert np.asarray(c["mouth_size"]).shape == (c["frames"], 2)
    train_chars = {e["character_id"] for e in reader.entries}
    train_texts = {u["text"] for e in reader.entries for u in e["utterances"]}
    assert not train_chars & {c["character_id"] for c in bench}
    for c in bench:
        assert is_heldout_text(c["target_utterance"]["text"]) and c["target_utterance"]["text"] not in train_texts
        folder = out / "bench" / c["dir"]
        with av.open(str(folder / "target.mp4")) as container:
            assert sum(1 for _ in container.decode(video=0)) == c["frames"] == len(c["mouth_xy"])
        speech, rate = sf.read(folder / "speech.wav")
        assert rate == 16000 and len(speech) == 16000


def test_build_refuses_an_existing_corpus(corpus):
    with pytest.raises(OutputError):
        build_corpus(corpus[0], TINY)


@pytest.mark.slow  # two spawned workers take ~10 s to import on a busy machine
def test_output_does_not_depend_on_worker_count(corpus, tmp_path):
    cfg = dataclasses.replace(TINY, bench_identities_per_group=0, workers=2)
    build_corpus(tmp_path, cfg)
    one, two = CorpusReader(corpus[0]), CorpusReader(tmp_path)
    for a, b in zip(one, two):
        assert a.key == b.key and np.array_equal(a.crops[1], b.crops[1])
        assert np.array_equal(a.waveforms[1], b.waveforms[1])


def test_the_cli_trains_on_the_written_corpus_with_the_stage_3_losses(corpus, tmp_path):
    """`omnisync train` reads the shards and takes the loss options the default model used."""
    from typer.testing import CliRunner

    from omnisync_cli.cli import app
    from omnisync_cli.model.weights import load_model

    out, _, _ = corpus
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(out), "--out", str(run), "--preset", "tiny",
                                      "--steps", "2", "--batch-size", "2", "--pair-threshold", "0.1",
                                      "--loss-weighting", "x", "--mouth-loss-weight", "10",
                                      "--viseme-loss-weight", "1", "--output-flow", "--quiet"])
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "training.json").read_text())["config"]
    assert (saved["loss_weighting"], saved["mouth_loss_weight"], saved["viseme_loss_weight"]) == ("x", 10.0, 1.0)
    model = load_model(run)
    assert model.config.region_size == 16 and model.config.output_flow and model.flow_head is not None
    # A fine-tune of that model keeps its displacement head without being told.
    tuned = CliRunner().invoke(app, ["train", str(out), "--out", str(tmp_path / "tuned"), "--preset", "tiny",
                                     "--steps", "1", "--batch-size", "2", "--init-from", str(run)])
    assert tuned.exit_code == 0, tuned.output
    assert "fine-tuning with --output-flow" in tuned.stderr and load_model(tmp_path / "tuned").config.output_flow
    bad = CliRunner().invoke(app, ["train", str(out), "--out", str(tmp_path / "bad"), "--preset", "tiny",
                                   "--loss-weighting", "eps"])
    assert bad.exit_code == 2 and "--loss-weighting must be one of" in bad.stderr


def test_a_wide_mouth_share_draws_wide_mouths_and_leaves_other_corpora_as_they_were():
    jobs = [ClipJob("train", "seen", i, 0, TINY) for i in range(30)]
    plain = [character_for(j) for j in jobs]
    assert [character_for(dataclasses.replace(j, config=dataclasses.replace(TINY, wide_mouth_share=0.0)))
            for j in jobs] == plain  # share 0 draws nothing more
    wide = [character_for(dataclasses.replace(j, config=dataclasses.replace(TINY, wide_mouth_share=1.0)))
            for j in jobs]
    procedural = [(p, w) for p, w in zip(plain, wide) if p.style.head != "classic"]
    assert len(procedural) > 10
    assert all(w.mouth_size[0] >= 0.4 * 1.8 * w.params["a"] - 1e-6 > p.mouth_size[0] for p, w in procedural)
    with pytest.raises(ConfigError, match="wide-mouth share"):
        dataclasses.replace(TINY, wide_mouth_share=-0.1).validate()
    assert [character_for(dataclasses.replace(j, config=dataclasses.replace(TINY, slit_eye_share=0.0)))
            for j in jobs] == plain
    slit = [character_for(dataclasses.replace(j, config=dataclasses.replace(TINY, slit_eye_share=1.0))) for j in jobs]
    assert all(s.eyes.kind == "slit" for s, p in zip(slit, plain) if p.style.head != "classic" and p.eyes.centers)
    with pytest.raises(ConfigError, match="slit-eye share"):
        dataclasses.replace(TINY, slit_eye_share=2.0).validate()


def test_a_damaged_corpus_is_refused_in_one_line(corpus, tmp_path):
    import shutil
    out, _, _ = corpus
    shard = sorted(p.name for p in out.glob("shard-*.safetensors"))[0]
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    data = (cut / shard).read_bytes()
    (cut / shard).write_bytes(data[:len(data) // 3])
    with pytest.raises(InputError, match="the corpus is damaged"):
        CorpusReader(cut).load(0)
    for name, text in (("index", "{bad"), ("no-shards", '{"format": "omnisync-corpus", "version": 1}')):
        broken = tmp_path / name
        shutil.copytree(out, broken)
        index = json.loads((out / "index.json").read_text())
        (broken / "index.json").write_text(text if name == "index" else json.dumps({k: index[k] for k in ("format", "version")}))
        with pytest.raises(InputError, match="the corpus is damaged"):
            CorpusReader(broken)
