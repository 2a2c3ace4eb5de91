import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.face.config import FaceConfig, parse_mouth, parse_region


def test_parse_mouth_and_region():
    assert parse_mouth("120,80.5") == (120.0, 80.5)
    assert parse_region(" 10, 20, 30, 40") == (10.0, 20.0, 30.0, 40.0)


@pytest.mark.parametrize("text", ["120", "1,2,3", "a,b", ""])
def test_parse_mouth_rejects_bad_forms(text):
    with pytest.raises(ConfigError, match="--mouth takes X,Y"):
        parse_mouth(text)


def test_parse_region_rejects_empty_box():
    with pytest.raises(ConfigError, match="positive width"):
        parse_region("10,10,0,20")


@pytest.mark.parametrize("kwargs", [
    {"face_index": -1}, {"smooth_position_s": -0.1}, {"fallback_size": 0.0}, {"fallback_size": 1.5},
    {"max_faces": 2, "face_index": 2}, {"min_confidence": 1.0}, {"region": (0, 0, -5, 5)},
])
def test_config_rejects_out_of_range_values(kwargs):
    with pytest.raises(ConfigError):
        FaceConfig(**kwargs)


def test_config_is_frozen_and_takes_path_strings():
    config = FaceConfig(landmarker="models/face_landmarker.task")
    assert config.landmarker.name == "face_landmarker.task"
    with pytest.raises(AttributeError):
        config.face_index = 1


@pytest.mark.parametrize("given", [dict(mouth=(10.0, 10.0)), dict(region=(0.0, 0.0, 20.0, 20.0))])
def test_the_centre_fallback_with_a_given_place_is_refused(given):
    with pytest.raises(ConfigError, match="--centre-fallback guesses a place"):
        FaceConfig(centre_fallback=True, **given)
