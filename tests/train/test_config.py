

def test_a_runs_model_config_maps_back_to_its_preset_and_grown_parts():
    """run_model_config and preset_and_grown_parts are inverses; a changed field is no preset."""
    from dataclasses import replace as replaced
    from omnisync_cli.train.config import preset_and_grown_parts, run_model_config
    for run in ({"preset": "tiny"}, {"preset": "cpu-small", "output_flow": True},
                {"preset": "cpu-small", "output_flow": True, "depth": 8},
                {"preset": "cpu-small", "output_flow": True, "reference_frames": 4}):
        name, grown = preset_and_grown_parts(run_model_config(run))
        assert name == run["preset"] and grown == {k: v for k, v in run.items() if k != "preset"}
    assert preset_and_grown_parts(replaced(run_model_config({"preset": "tiny"}), patch_size=8)) is None
    assert preset_and_grown_parts(replaced(run_model_config({"preset": "cpu-small"}), depth=4)) is None  # shallower


def test_a_run_may_grow_the_presets_depth_but_not_shrink_it():
    import pytest
    from omnisync_cli.errors import ConfigError
    from omnisync_cli.train.config import TrainConfig, run_model_config
    assert run_model_config(TrainConfig(preset="tiny", depth=3).to_dict()).depth == 3
    assert run_model_config(TrainConfig(preset="tiny").to_dict()).depth == 2
    with pytest.raises(ConfigError, match="depth"):
        TrainConfig(preset="cpu-small", depth=4)


def test_a_fine_tune_keeps_the_parts_its_model_has_and_may_grow_more():
    from omnisync_cli.model.config import get_preset
    from omnisync_cli.train.config import TrainConfig, keeping_parts_of
    grown = get_preset("cpu-small", output_flow=True, reference_frames=4, depth=8)
    config, flags = keeping_parts_of(TrainConfig(preset="cpu-small"), grown)
    assert (config.output_flow, config.reference_frames, config.depth) == (True, 4, 8)
    assert flags == ["--output-flow", "--reference-frames 4", "--depth 8"]
    # What the run asks for stays: more blocks than the model has, more references.
    config, flags = keeping_parts_of(TrainConfig(preset="cpu-small", depth=10, reference_frames=6), grown)
    assert (config.output_flow, config.reference_frames, config.depth, flags) == (True, 6, 10, ["--output-flow"])
    # A plain preset model adds nothing.
    config, flags = keeping_parts_of(TrainConfig(preset="cpu-small"), get_preset("cpu-small"))
    assert config == TrainConfig(preset="cpu-small") and flags == []
