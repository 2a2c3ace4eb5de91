"""Per-video adaptation: pieces and pairs, the validation guard, the fall-backs, and the CLI."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from omnisync_cli.cli import app
from omnisync_cli.data.pairs import Segment, overlaps
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import crop_region
from omnisync_cli.media.video import VideoReader
from omnisync_cli.model.config import get_preset
from omnisync_cli.model.dit import OmniSyncDiT
from omnisync_cli.model.editor import ModelEditor
from omnisync_cli.model.weights import load_model, save_model
from omnisync_cli.pipeline import adapt as adapt_module
from omnisync_cli.pipeline.adapt import AdaptConfig, adapt, heard_source, read_pieces, split_pieces
from omnisync_cli.pipeline.analysis import analyse, working_track
from omnisync_cli.pipeline.options import DubOptions
from omnisync_cli.train.config import TrainConfig
from omnisync_cli.train.data import TrainingExamples
from tests.media.clips import write_clip

FPS = 25
OPTIONS = DubOptions(face=FaceConfig(region=(16, 8, 32, 32)))
# The test videos speak a modulated tone, which a voice detector does not call speech.
QUICK = AdaptConfig(steps=2, clip_seconds=0.4, batch_size=2, holdout=0.25, speech_gate=False)


def talking_video(path, seconds=2.4, audio=True, loud=0.5, wave=None, fps=FPS):
    """A face-like square whose dark mouth opens with the loudness of its own speech (a
    modulated tone, or `wave` at 16 kHz in its place)."""
    n = int(seconds * fps)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    if wave is None:
        wave = (loud * envelope * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    frames = []
    for j in range(n):
        img = np.full((48, 64, 3), (200, 160, 130), np.uint8)
        opening = 1 + int(round(envelope[min(int(j / fps * 16000), len(t) - 1)] * 8))
        img[24:24 + opening, 24:40] = 30
        frames.append(img)
    write_clip(path, frames=frames, width=64, height=48, fps=fps, audio=wave if audio else None)
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    torch.manual_seed(0)
    model = OmniSyncDiT(get_preset("tiny"))
    torch.nn.init.normal_(model.final_layer.linear.weight, std=0.02)
    return save_model(model, tmp_path_factory.mktemp("base"))


@pytest.fixture(autouse=True)
def _single_thread(one_torch_thread):
    """One torch thread (tests/conftest.py)."""


def test_held_out_pieces_are_the_end_and_never_overlap_training():
    train, held = split_pieces(100, 25.0, 0.4, 0.25, min_frames=4)
    assert held[0][0] == 75 and held[-1][1] == 100
    assert train[-1][1] <= held[0][0] and train[0][0] == 0
    assert all(b - a >= 4 for a, b in train + held)


def test_a_long_source_holds_out_at_most_max_holdout_seconds():
    """Three minutes at 25 fps: a fifth would be 36 s; the cap keeps 10 s (five 2 s pieces)."""
    train, held = split_pieces(4500, 25.0, 2.0, 0.2, min_frames=8, max_holdout_seconds=10.0)
    assert held[0][0] == 4250 and held[-1][1] == 4500 and len(held) == 5
    assert train[-1][1] <= held[0][0]


def test_training_pairs_never_use_the_target_as_condition(tmp_path, base):
    """Above the threshold V_cd is the target's stand-in (its frames with another moment's
    mouths); below it another piece. Never the target's own pixels."""
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    pieces, held = read_pieces(analysis, heard_source(analysis, QUICK)[0], 16, QUICK, 4)
    assert max(b for _, b in pieces.spans) <= min(a for a, _ in held.spans)
    dataset = TrainingExamples(pieces, load_model(base).config, TrainConfig(preset="tiny", pair_threshold=0.5))
    branches = set()
    for key in [(e, i) for e in range(6) for i in range(len(dataset))]:
        example = dataset[key]
        t, c = example["target_segment"].tolist(), example["condition_segment"].tolist()
        branches.add(bool(example["pseudo"]))
        assert t[1] == 0  # the real frames are always the target
        if example["pseudo"]:
            assert c == [t[0], 1, t[2]] and example["sigma"] > 0.5
            assert not torch.equal(example["source"], example["x"])
        else:
            assert c[1] == 0 and not overlaps(Segment(*t), Segment(*c), dataset.index.segment_frames)
    assert branches == {True, False}


def test_fast_video_is_learnt_at_the_dubs_edit_rate(tmp_path):
    """A 50 fps source is dubbed on every 2nd frame (DubOptions.edit_rate): the pieces hold
    those frames, at 25 fps, each with the mouth of its own source frame."""
    analysis = analyse(talking_video(tmp_path / "in.mp4", fps=50), OPTIONS)
    pieces, held = read_pieces(analysis, heard_source(analysis, QUICK)[0], 16, QUICK, 4)
    assert pieces.fps == held.fps == 25 and len(pieces.crops) == 60
    with VideoReader(analysis.video) as reader:
        full = np.stack([f.image for f in reader.iter_frames()])
    box = working_track(analysis.track, OPTIONS.region_scale).box(10)
    np.testing.assert_array_equal(pieces.crops[5], crop_region(full[10], box, 16))
    assert max(b for _, b in pieces.spans) <= min(a for a, _ in held.spans) and held.spans[-1][1] <= 60


def test_a_stand_in_keeps_the_frame_but_not_its_mouth(tmp_path):
    """The talking square's stand-in: the same pixels far from the mouth, another opening
    at it (the donor is half the training span away)."""
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    pieces, _ = read_pieces(analysis, heard_source(analysis, QUICK)[0], 32, QUICK, 4)
    clip = pieces.load(0)
    real, stand_in = clip.crops[0].astype(int), clip.crops[1].astype(int)
    assert np.abs(real[:, :3] - stand_in[:, :3]).max() <= 2  # the top rows: no mouth, unchanged
    assert np.abs(real - stand_in).max() > 60  # the mouth: another moment's opening


def test_adapt_writes_a_model_that_loads_and_reports_its_validation(tmp_path, base):
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    report = adapt(analysis, base, tmp_path / "speaker", QUICK)
    assert report.steps == 2 and report.base["pieces"] >= 1 and "lse_c" in report.adapted
    assert report.validate_seconds > 0
    assert load_model(tmp_path / "speaker").config == load_model(base).config
    card = (tmp_path / "speaker" / "README.md").read_text()
    assert "in.mp4" in card
    stored = json.loads((tmp_path / "speaker" / "adaptation.json").read_text())["report"]
    assert stored["kept"] == report.kept
    assert "weights" not in stored  # its own folder, which `omnisync adapt` renames into place


def test_the_guard_keeps_the_base_model_when_adaptation_hurts(tmp_path, base, monkeypatch):
    """The adapted model is made to validate worse: -o then holds the base weights, unchanged."""
    scores = iter([validation(guard=0.5), validation(guard=0.2)])
    monkeypatch.setattr(adapt_module, "validate", lambda editor, held, fallback: next(scores))
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    report = adapt(analysis, base, tmp_path / "speaker", QUICK)
    assert not report.kept and "did not pass the guard" in report.notice
    kept = load_file(str(tmp_path / "speaker" / "model.safetensors"))
    original = load_file(str(base / "model.safetensors"))
    assert all(torch.equal(kept[k], original[k]) for k in original)


def validation(guard=0.3, bundled=0.3, rebuilt=20.0, redubbed=30.0):
    return {"guard_lse_c": guard, "guard_lse_d": 1.0, "lse_c": bundled, "lse_d": 1.0,
            "mouth_psnr": rebuilt, "self_psnr": redubbed, "pieces": 1}


def test_the_guard_keeps_an_adapted_model_that_validates_better(tmp_path, base, monkeypatch):
    scores = iter([validation(guard=0.3), validation(guard=0.4, bundled=0.35, rebuilt=21.0, redubbed=31.0)])
    monkeypatch.setattr(adapt_module, "validate", lambda editor, held, fallback: next(scores))
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    report = adapt(analysis, base, tmp_path / "speaker", QUICK)
    assert report.kept and "guard-expert LSE-C 0.300 -> 0.400" in report.notice
    card = (tmp_path / "speaker" / "README.md").read_text()
    assert "| adapted | 0.400 | 0.350 | 21.00 | 31.00 |" in card


@pytest.mark.parametrize("adapted, why", [
    (validation(guard=0.29), "held-out sync did not rise"),
    (validation(guard=0.302), "held-out sync rose by only 0.002; it must rise by more than 0.01"),  # below MIN_GAIN
    (validation(guard=0.5, bundled=0.29), "bundled expert"),  # the expert the sync loss trains against fell
    (validation(guard=0.5, rebuilt=19.9), "rebuilt the held-out mouths worse"),
    (validation(guard=0.5, redubbed=29.9), "already said the sounds"),  # more damage where nothing needed changing
    ({"mouth_psnr": 25.0}, "too short"),  # no piece long enough to score
])
def test_the_guard_refuses_on_any_failed_condition(adapted, why):
    kept, reason = adapt_module.guard_verdict(validation(), adapted)
    assert not kept and why in reason


@pytest.mark.parametrize("adapted, kept, why", [
    (validation(guard=0.006, bundled=0.006, rebuilt=21.0, redubbed=31.0), True, "cannot read"),
    (validation(guard=0.006, bundled=0.006, rebuilt=20.0, redubbed=31.0), False, "not rebuilt better"),
    (validation(guard=0.006, bundled=0.006, rebuilt=21.0, redubbed=29.0), False, "already said the sounds"),
    (validation(guard=0.06, bundled=0.008, rebuilt=21.0, redubbed=31.0), True, "guard-expert"),  # now read: sync decides
])
def test_where_the_experts_read_nothing_mouth_error_decides(adapted, kept, why):
    base = validation(guard=0.005, bundled=0.007)
    verdict, reason = adapt_module.guard_verdict(base, adapted)
    assert verdict == kept and why in reason


def test_the_guard_passes_when_every_condition_holds():
    kept, reason = adapt_module.guard_verdict(validation(), validation(guard=0.32))
    assert kept and "0.300 -> 0.320" in reason


def test_validation_scores_with_both_experts(tmp_path, base):
    """The guard expert is a separate network: its scores are reported beside the bundled one's."""
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    pieces, held = read_pieces(analysis, heard_source(analysis, QUICK)[0], 16, QUICK, 4)
    result = adapt_module.validate(ModelEditor.from_dir(base), held, pieces)
    assert {"lse_c", "guard_lse_c", "mouth_psnr", "self_psnr"} <= set(result)
    assert result["lse_c"] != result["guard_lse_c"]


@pytest.mark.parametrize("audio, why", [(False, "no audio track"), (True, "no speech")])
def test_a_source_without_speech_falls_back_with_a_notice(tmp_path, base, audio, why):
    video = talking_video(tmp_path / "in.mp4", audio=audio, loud=0.0)
    report = adapt(analyse(video, OPTIONS), base, tmp_path / "speaker", QUICK)
    assert not report.kept and why in report.notice and report.steps == 0
    assert (tmp_path / "speaker" / "model.safetensors").is_file()


def test_a_source_too_short_to_adapt_on_falls_back_saying_how_long_it_takes(tmp_path, base):
    video = talking_video(tmp_path / "in.mp4", seconds=0.6)
    report = adapt(analyse(video, OPTIONS), base, tmp_path / "speaker", QUICK)
    assert not report.kept and report.steps == 0 and "too short to adapt on" in report.notice
    needed = float(report.notice.split("adapting takes ")[1].split(" s")[0])
    assert needed > 0.6  # and a source of that length adapts:
    longer = analyse(talking_video(tmp_path / "long.mp4", seconds=needed + 0.05), OPTIONS)
    pieces, held = read_pieces(longer, heard_source(longer, QUICK)[0], 16, QUICK, 4)
    assert len(pieces.spans) >= 2 and len(held.spans) >= 1
    assert (tmp_path / "speaker" / "model.safetensors").is_file()


def test_a_source_with_music_and_no_speech_is_not_adapted_on(tmp_path, base):
    """Music is loud enough for the loudness check; the voice detector hears no speech in it."""
    from dataclasses import replace
    from tests.media.test_speech_gate import music_bed
    video = talking_video(tmp_path / "in.mp4", wave=music_bed(2.4, 0.2))
    analysis = analyse(video, OPTIONS)
    report = adapt(analysis, base, tmp_path / "speaker", replace(QUICK, speech_gate=True))
    assert not report.kept and "no speech" in report.notice and report.steps == 0
    assert adapt(analysis, base, tmp_path / "everything", QUICK).steps == 2  # --hear-everything trains on it


def test_the_pieces_hear_the_speech_without_its_music_bed(tmp_path):
    from dataclasses import replace
    from omnisync_cli.data.speech import synthesize
    from tests.media.test_speech_gate import music_bed
    words = synthesize("hello there, how are you today", "en", rate=170).waveform
    pause = np.zeros(16000, np.float32)
    speech = np.concatenate([pause, words, pause])[:int(2.4 * 16000)]
    track = speech + music_bed(len(speech) / 16000, 0.05)
    analysis = analyse(talking_video(tmp_path / "in.mp4", wave=track), OPTIONS)
    gate = replace(QUICK, speech_gate=True)
    gated, _ = read_pieces(analysis, heard_source(analysis, gate)[0], 16, gate, 4)
    whole, _ = read_pieces(analysis, heard_source(analysis, QUICK)[0], 16, QUICK, 4)
    lead = slice(0, int(0.5 * 16000))  # music only, before the words
    assert np.abs(whole.waveform[lead]).max() > 0.01 and not gated.waveform[lead].any()
    inside = slice(len(pause) + len(words) // 3, len(pause) + 2 * len(words) // 3)
    assert np.abs(gated.waveform[inside] - whole.waveform[inside]).max() < 0.02


def test_cli_adapt_then_dub_with_it(tmp_path, base):
    video = talking_video(tmp_path / "in.mp4", seconds=7.0)  # the CLI cuts 2 s pieces
    runner = CliRunner()
    result = runner.invoke(app, ["adapt", str(video), "-o", str(tmp_path / "speaker"), "--weights", str(base),
                                 "--adapt-steps", "1", "--region", "16,8,32,32", "--hear-everything", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["weights"] == str(tmp_path / "speaker") and summary["steps"] == 1
    assert not list(tmp_path.glob(".speaker*"))
    dubbed = runner.invoke(app, ["dub", str(video), str(video), "-o", str(tmp_path / "out.mp4"),
                                 "--weights", str(tmp_path / "speaker"), "--region", "16,8,32,32", "--quiet"])
    assert dubbed.exit_code == 0, dubbed.output
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_cli_dub_adapt_reports_the_adaptation(tmp_path, base):
    video = talking_video(tmp_path / "in.mp4", seconds=7.0)
    result = CliRunner().invoke(app, ["dub", str(video), str(video), "-o", str(tmp_path / "out.mp4"),
                                      "--weights", str(base), "--adapt", "--adapt-steps", "1",
                                      "--region", "16,8,32,32", "--hear-everything", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["adaptation"]["steps"] == 1 and "lse_c" in summary["adaptation"]["base"]
    assert (tmp_path / "out.mp4").stat().st_size > 0


@pytest.mark.parametrize("case", ["over its own base model", "inside its base model", "over a model made by hand"])
def test_adapt_overwrite_never_replaces_a_model_it_did_not_write(tmp_path, base, monkeypatch, case):
    """`--weights mine -o mine --overwrite` replaced the model the adaptation started from, and any
    folder of config.json + model.safetensors passed for one `adapt` wrote (a user tour)."""
    import shutil
    monkeypatch.setattr(adapt_module, "analyse", lambda *args, **kw: pytest.fail("the video was tracked"))
    mine = tmp_path / "mine"
    shutil.copytree(base, mine)
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    weights, output = {"over its own base model": (mine, mine), "inside its base model": (mine, mine / "sub"),
                       "over a model made by hand": (base, mine)}[case]
    video = talking_video(tmp_path / "in.mp4")
    result = CliRunner().invoke(app, ["adapt", str(video), "-o", str(output), "--weights", str(weights),
                                      "--overwrite", "--json", "-q"])
    said = "did not write" if case == "over a model made by hand" else "is the base model's folder"
    assert result.exit_code == 2 and said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stdout)["exit_code"] == 2  # --json: the failure on stdout too, as dub's
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before


def test_a_folder_made_at_the_adapt_output_meanwhile_is_kept(tmp_path, base, monkeypatch):
    """Checked only before the fine-tune, whatever appeared at -o by its end was deleted (a user tour)."""
    output = tmp_path / "speaker"
    real = adapt_module.adapt

    def meanwhile(*args, **kwargs):
        output.mkdir()
        (output / "notes.txt").write_text("another run's, or the user's")
        return real(*args, **kwargs)

    monkeypatch.setattr(adapt_module, "adapt", meanwhile)
    video = talking_video(tmp_path / "in.mp4", audio=False)  # nothing to adapt on: the base model is kept, fast
    result = CliRunner().invoke(app, ["adapt", str(video), "-o", str(output), "--weights", str(base),
                                      "--region", "16,8,32,32", "-q"])
    assert result.exit_code == 2 and "appeared while this model was adapted; it was kept" in result.stderr
    assert [p.name for p in output.iterdir()] == ["notes.txt"] and not list(tmp_path.glob(".speaker*"))


def test_each_adapt_writes_its_own_partial_folder_and_sweeps_only_killed_runs(tmp_path):
    """Two adapts to one -o shared `.speaker.adapting`: the runs that finished second ended in
    FileNotFoundError tracebacks (a user tour)."""
    from omnisync_cli.pipeline.adapt import adapting_folder
    output = tmp_path / "speaker"
    stale = tmp_path / ".speaker.abcd1234.adapting"  # a killed run's: nobody holds its lock
    stale.mkdir()
    with adapting_folder(output) as first, adapting_folder(output) as second:
        assert first != second and first.is_dir() and second.is_dir()
        (second / "model.safetensors").write_bytes(b"second's")
        second.rename(output)  # finished: moved into place
    assert not first.exists() and not stale.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["speaker"]


@pytest.mark.parametrize("command", ["adapt", "dub --adapt", "dub"])
@pytest.mark.parametrize("damage,said", [("missing folder", "nowhere does not exist"),
                                         ("truncated weights", "model.safetensors cannot be read")])
def test_bad_weights_are_refused_before_the_video_is_tracked(tmp_path, base, monkeypatch, command, damage, said):
    import shutil
    import omnisync_cli.pipeline.analysis as analysis_module
    import omnisync_cli.pipeline.dub as dub_module
    tracked = []
    monkeypatch.setattr(analysis_module, "analyse", lambda *args, **kw: tracked.append(args))
    monkeypatch.setattr(dub_module, "dub", lambda *args, **kw: tracked.append(args))  # plain dub: tracks and loads at once
    monkeypatch.setattr(adapt_module, "analyse", lambda *args, **kw: tracked.append(args))
    weights = tmp_path / "nowhere"
    if damage == "truncated weights":  # config.json fine, model.safetensors cut short (a copy stopped half way)
        shutil.copytree(base, weights)
        data = (weights / "model.safetensors").read_bytes()
        (weights / "model.safetensors").write_bytes(data[:len(data) // 2])
    video = talking_video(tmp_path / "in.mp4")
    args = {"adapt": ["adapt", str(video), "-o", str(tmp_path / "speaker")],
            "dub --adapt": ["dub", str(video), str(video), "-o", str(tmp_path / "out.mp4"), "--adapt"],
            "dub": ["dub", str(video), str(video), "-o", str(tmp_path / "out.mp4")]}[command]
    result = CliRunner().invoke(app, [*args, "--weights", str(weights), "-q"])
    assert result.exit_code == 2 and said in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert tracked == []


def test_the_sync_loss_is_used_only_where_the_expert_hears_the_model(base):
    from dataclasses import replace
    from omnisync_cli.bench.sync import open_sync_scorer
    expert = open_sync_scorer().expert.config
    hearing = replace(load_model(base).config, audio_frontend=expert.audio_frontend,
                      audio_encoder_dir=expert.audio_encoder_dir, audio_window_s=expert.audio_window_s)
    assert adapt_module.sync_weight_for(hearing, 0.1) == 0.1
    assert adapt_module.sync_weight_for(replace(hearing, audio_window_s=expert.audio_window_s * 2), 0.1) == 0.0


def test_adapt_fine_tunes_a_model_with_a_grown_part(tmp_path):
    """The default model carries a displacement head (train --output-flow) on top of its
    preset: adaptation rebuilds that network, not a refusal or the bare preset."""
    torch.manual_seed(0)
    grown = save_model(OmniSyncDiT(get_preset("tiny", output_flow=True)), tmp_path / "grown")
    assert adapt_module.preset_of(load_model(grown).config, grown) == ("tiny", {"output_flow": True})
    analysis = analyse(talking_video(tmp_path / "in.mp4"), OPTIONS)
    report = adapt(analysis, grown, tmp_path / "speaker", QUICK)
    assert report.steps == 2
    assert load_model(tmp_path / "speaker").config.output_flow
