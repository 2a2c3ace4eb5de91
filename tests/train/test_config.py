

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
