"""The benchmark end to end on a tiny generated benchmark split: real dubs, real scores."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from omnisync_cli.bench import runner
from omnisync_cli.bench.runner import load_manifest, run_benchmark, select_clips
from omnisync_cli.bench.variants import VARIANTS, Variant, get_variants
from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.editor import PassthroughEditor


class BrokenEditor(PassthroughEditor):
    def edit(self, crops, frame_times, mouth_xy, audio):
        raise RuntimeError("the model fell over")


def test_manifest_and_clip_selection(bench_corpus):
    clips = load_manifest(bench_corpus)
    assert [c.group for c in clips] == ["seen", "heldout-head", "heldout-mouth", "heldout-render"]
    assert clips[0].mouth_xy.shape == (clips[0].frames, 2) and clips[0].source.is_file()
    assert select_clips(clips, None) == clips
    assert [c.group for c in select_clips(clips, 2)] == ["seen", "heldout-head"]  # spread over style groups
    assert select_clips(clips, 10) == clips
    assert select_clips(clips, [clips[2].id]) == [clips[2]]
    with pytest.raises(ConfigError, match="not in the manifest"):
        select_clips(clips, ["bench-nobody"])
    with pytest.raises(InputError, match="manifest.json"):
        load_manifest(bench_corpus / "bench")


@pytest.mark.parametrize("text", ["[]", "{bad", '{"format": "omnisync-bench"}', '{"format": "omnisync-bench", "clips": [{}]}'])
def test_a_damaged_manifest_is_refused_in_one_line(tmp_path, text):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "manifest.json").write_text(text)
    with pytest.raises(InputError, match="manifest"):
        load_manifest(tmp_path)


def test_variants_by_name():
    assert [v.name for v in get_variants("no-op, ds-cfg")] == ["no-op", "ds-cfg"]
    assert set(VARIANTS) >= {"no-op", "tau=1", "static-low", "static-high", "ds-cfg"}
    assert VARIANTS["tau=1"].sampler.tau == 1.0
    assert VARIANTS["static-high"].sampler.guidance.mode == "static"
    assert VARIANTS["focus=0"].focus == 0.0 and VARIANTS["ds-cfg"].focus is None  # None: the pipeline's default
    assert VARIANTS["focus=0"].to_dict()["focus"] == 0.0
    with pytest.raises(ConfigError, match="unknown benchmark variant"):
        get_variants("no-op,best")


def test_benchmark_end_to_end(bench_corpus, tiny_weights, tmp_path):
    lines = []
    variants = get_variants("no-op,ds-cfg")
    results = run_benchmark(bench_corpus, variants, tmp_path, clips=2, weights=tiny_weights,
                            progress=lines.append, strip_clips=1, strip_frames=3)
    assert len(lines) == 4 and "mouth PSNR" in lines[0]
    for name in ("results.json", "report.md", "mouth_psnr.png", "strip.jpg"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert "| ds-cfg | heldout-head |" in (tmp_path / "report.md").read_text()
    assert "truth open where only old speech" in (tmp_path / "report.md").read_text()

    assert [c["group"] for c in results["clips"]] == ["seen", "heldout-head"]
    for clip in results["clips"]:
        noop, model = clip["variants"]["no-op"], clip["variants"]["ds-cfg"]
        assert noop["ok"] and model["ok"] and noop["output_frames"] == clip["frames"]
        assert noop["scores"] == clip["reference"]  # the no-op dub is the reference
        assert noop["success"]
        # Nothing outside the working region changes beyond the re-encode, edit or not.
        for entry in (noop, model):
            assert entry["scores"]["outside_psnr"] > 40 and entry["scores"]["outside_mad"] < 2
        assert model["scores"]["mouth_psnr"] != noop["scores"]["mouth_psnr"]  # the model did edit
        assert 0 < model["scores"]["mouth_ssim"] < 1
        assert set(clip["track"]) >= {"source", "found_frames", "mouth_error", "side_ratio", "found"}
        # The benchmark's own tracking pass saw what every dub's did.
        assert noop["faces_detected"] == model["faces_detected"] == clip["track"]["found_frames"]
        assert noop["track_source"] == clip["track"]["source"]
        assert (tmp_path / "videos" / "ds-cfg" / f"{clip['id']}.mp4").is_file()
    summary = results["summary"]
    categories = {c["category"] for c in results["clips"]}
    assert set(summary) == {"no-op", "ds-cfg"}
    assert set(summary["ds-cfg"]) == {"all", "seen", "heldout-head"} | categories
    assert summary["no-op"]["all"]["success_rate"] == 1.0
    assert summary["no-op"]["all"]["mouth_psnr"] == pytest.approx(
        np.mean([c["reference"]["mouth_psnr"] for c in results["clips"]]), abs=1e-4)


def test_the_truth_is_read_against_the_sources_own_pauses(monkeypatch):
    """The ground truth's opening figures know where the source spoke, as a dub's do, so the
    report gives the truth's opening where only the new (or only the old) speech speaks."""
    seen = []
    monkeypatch.setattr(runner, "opening_scores", lambda clip: seen.append(clip) or {})
    fps, n = 10.0, 20
    source_utterance = {"phonemes": [["", 0.0, 0.5], ["a", 0.5, 1.5], ["", 1.5, 2.0]]}
    clip = SimpleNamespace(fps=fps, meta={"source_utterance": source_utterance, "target_utterance": {}})
    frames = np.zeros((n, 8, 8, 3), np.uint8)
    inputs = runner.ClipInputs(clip=clip, source=frames, target=frames, speech=np.zeros(16000), analysis=None,
                               plan=np.arange(n), mouth_boxes=[None] * n, mouth_rects=None)
    runner.truth_opening_scores(inputs)
    quiet = seen[0].source_quiet
    assert quiet is not None and len(quiet) == n
    assert quiet[1:5].all() and quiet[16:].all() and not quiet[6:15].any()  # in the pauses (0.1 s margins) only


def test_a_failing_dub_is_recorded_and_the_run_goes_on(bench_corpus, tmp_path):
    broken = Variant("broken", "raises in edit()", factory=lambda weights: BrokenEditor())
    results = run_benchmark(bench_corpus, [broken], tmp_path, clips=1, strip_clips=0)
    entry = results["clips"][0]["variants"]["broken"]
    assert entry == {"ok": False, "error": "RuntimeError: the model fell over", "success": False}
    assert results["clips"][0]["reference"]["outside_psnr"] > 40  # the no-op reference still ran
    assert results["summary"]["broken"]["all"]["finished"] == 0
    assert runner.dubbed_clips(results) == 0  # the no-op reference is no dub of the variants asked for
    assert results["summary"]["broken"]["all"]["mouth_psnr"] is None
    assert "RuntimeError: the model fell over" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "videos" / "broken" / f"{results['clips'][0]['id']}.mp4").exists()


def test_a_model_variant_without_weights_fails_before_any_dub(bench_corpus, tmp_path):
    from omnisync_cli.errors import WeightsError

    variant = Variant("ds-cfg", "needs weights", SamplerConfig())
    with pytest.raises(WeightsError):
        run_benchmark(bench_corpus, [variant], tmp_path, clips=1, weights=tmp_path / "none")


def test_a_clip_without_a_found_mouth_is_listed_and_the_run_goes_on(bench_corpus, tmp_path, monkeypatch):
    """The tracker finding no mouth in one clip (issue 9's failure) must not end the run."""
    from omnisync_cli.bench import runner
    from omnisync_cli.errors import InputError
    real = runner.ClipInputs.load
    calls = []

    def first_has_no_mouth(clip, face, true_track="", offset=(0.0, 0.0)):
        calls.append(clip.id)
        if len(calls) == 1:
            raise InputError("no mouth found in any frame")
        return real(clip, face, true_track, offset)
    monkeypatch.setattr(runner.ClipInputs, "load", staticmethod(first_has_no_mouth))
    results = run_benchmark(bench_corpus, get_variants("no-op"), tmp_path, clips=2, strip_clips=0)
    assert [c["id"] for c in results["untracked"]] == calls[:1]
    assert [c["id"] for c in results["clips"]] == calls[1:]
    assert "Clips not dubbed" in (tmp_path / "report.md").read_text()


def test_a_clip_without_a_mouth_counts_as_not_finished(faceless_corpus, tmp_path):
    """A tour: 4 clips, one refused for no mouth, showed "3/3 100%"."""
    clips = load_manifest(faceless_corpus)
    seen, faceless = clips[0], clips[-1]
    results = run_benchmark(faceless_corpus, get_variants("no-op"), tmp_path, clips=[seen.id, faceless.id],
                            strip_clips=0)
    row = results["summary"]["no-op"]["all"]
    assert (row["clips"], row["finished"], row["refused"], row["success_rate"]) == (2, 1, 1, 0.5)
    alone = results["summary"]["no-op"][faceless.group]  # a category of refused clips only still has its row
    assert (alone["clips"], alone["finished"], alone["noop_mouth_psnr"]) == (1, 0, None)
    report = (tmp_path / "report.md").read_text()
    assert "| no-op | 1/2 | 50% |" in report and "2 clips" in report


def test_a_clip_without_a_mouth_is_skipped_without_advising_flags_bench_lacks(faceless_corpus, tmp_path):
    """The dub's refusal advises --mouth / --region; `bench` has neither."""
    faceless = load_manifest(faceless_corpus)[-1]
    lines = []
    results = run_benchmark(faceless_corpus, get_variants("no-op"), tmp_path, clips=[faceless.id],
                            progress=lines.append, strip_clips=0)
    assert lines == [f"[1/1] {faceless.id}: SKIPPED, {results['untracked'][0]['error']}"]
    assert lines[0].startswith(f"[1/1] {faceless.id}: SKIPPED, no mouth found in any frame (")
    report = (tmp_path / "report.md").read_text()
    assert not any(flag in text for flag in ("--mouth", "--region", "--centre-fallback") for text in (lines[0], report))


def test_a_variant_or_clip_given_twice_runs_once(bench_corpus):
    assert [v.name for v in get_variants("no-op,ds-cfg,ds-cfg,no-op")] == ["no-op", "ds-cfg"]
    clips = load_manifest(bench_corpus)
    assert select_clips(clips, [clips[1].id, clips[0].id, clips[1].id]) == [clips[1], clips[0]]


def test_the_true_track_dubs_at_the_manifests_mouth(bench_corpus, tmp_path):
    """--true-track: the region follows the generator's mouth, not the tracker's guess."""
    from omnisync_cli.bench.runner import ClipInputs
    from omnisync_cli.face.config import FaceConfig
    from omnisync_cli.face.region import RegionBox
    clip = select_clips(load_manifest(bench_corpus), 1)[0]
    inputs = ClipInputs.load(clip, FaceConfig(), true_track="all")
    track = inputs.track
    n = min(len(track), len(clip.face_width))
    assert track.source == "truth" and track.edit is None and track.found.all()
    np.testing.assert_allclose(track.mouth_x[:n], clip.mouth_xy[:n, 0], atol=1e-3)
    np.testing.assert_allclose(track.cy[:n], clip.mouth_xy[:n, 1], atol=1e-3)
    np.testing.assert_allclose(track.side[:n], [RegionBox.around_mouth(0, 0, w).side for w in clip.face_width[:n]],
                               rtol=1e-5)
    results = run_benchmark(bench_corpus, get_variants("no-op"), tmp_path, clips=[clip.id], strip_clips=0,
                            true_track="all")
    assert results["track"] == "truth" and results["clips"][0]["track"]["mouth_error"] < 1e-3


def test_truth_track_replaces_all_or_only_the_asked_part():
    from omnisync_cli.bench.runner import BenchClip, truth_track
    from omnisync_cli.face.region import REGION_SCALE
    from omnisync_cli.face.mouth_track import MouthTrack

    n = 4
    tracked = MouthTrack(fps=25.0, frame_size=(100, 100), cx=np.full(n, 40.0, np.float32),
                         cy=np.full(n, 42.0, np.float32), side=np.full(n, 30.0, np.float32),
                         mouth_x=np.full(n, 41.0, np.float32), mouth_y=np.full(n, 43.0, np.float32),
                         found=np.array([True, False, True, True]), source="localiser",
                         edit=np.array([True, True, False, True]))
    clip = BenchClip(id="c", category="x", group="seen", folder=Path("."), fps=25.0, frames=n,
                     mouth_xy=np.tile([[50.0, 60.0]], (n, 1)), face_width=np.full(n, 20.0), meta={})
    scale = truth_track(clip, tracked, "scale")
    assert np.allclose(scale.side, REGION_SCALE * 20.0) and np.array_equal(scale.mouth_x, tracked.mouth_x)
    assert scale.source == "localiser" and np.array_equal(scale.edit, tracked.edit)
    position = truth_track(clip, tracked, "position")
    assert np.allclose(position.mouth_x, 50.0) and np.allclose(position.cy, 60.0)
    assert np.array_equal(position.side, tracked.side) and np.array_equal(position.found, tracked.found)
    whole = truth_track(clip, tracked)
    assert np.allclose(whole.side, REGION_SCALE * 20.0) and np.allclose(whole.mouth_y, 60.0)
    assert whole.found.all() and whole.edit is None and whole.source == "truth"
    with pytest.raises(ConfigError):
        truth_track(clip, tracked, "mouth")
    # A tracker's lasting error of a known size: 0.25 face widths (5 px) right and 0.5 (10 px) up.
    moved = truth_track(clip, tracked, "all", offset=(0.25, -0.5))
    assert np.allclose(moved.mouth_x, 55.0) and np.allclose(moved.cx, 55.0)
    assert np.allclose(moved.mouth_y, 50.0) and np.allclose(moved.cy, 50.0)
    assert np.allclose(moved.side, whole.side)
