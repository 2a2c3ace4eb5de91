

def test_a_runs_model_config_maps_back_to_its_preset_and_grown_parts():
    """run_model_config and preset_and_grown_parts are inverses; a changed field is no preset."""
    from dataclasses import replace as replaced
    from omnisync_cli.train.config import preset_and_grown_parts, run_model_config
    for run in ({"preset": "tiny"}, {"preset": "cpu-small", "output_flow": True}):
        name, grown = preset_and_grown_parts(run_model_config(run))
        assert name == run["preset"] and grown == {k: v for k, v in run.items() if k != "preset"}
    assert preset_and_grown_parts(replaced(run_model_config({"preset": "tiny"}), depth=7)) is None
