import pytest

from omnisync_cli.errors import ConfigError
from omnisync_cli.flags import RANGES, shown


def test_a_range_error_names_the_flag_the_range_and_the_value_in_full():
    """Whole numbers read in full: a seed's bound is 4294967295, not 4.29497e+09 (a user tour)."""
    with pytest.raises(ConfigError, match=r"--seed must be between 0 and 4294967295, got 100000000000$"):
        RANGES["--seed"].check("--seed", 1e11)
    with pytest.raises(ConfigError, match=r"--steps must be between 1 and 100, got 1000000 "):
        RANGES["--steps"].check("--steps", 1e6)
    with pytest.raises(ConfigError, match=r"got nan"):
        RANGES["--tau"].check("--tau", float("nan"))


@pytest.mark.parametrize("value,text", [(0.92, "0.92"), (4.0, "4"), (2.0 ** 32 - 1, "4294967295"),
                                        (1e20, "1e+20"), (float("inf"), "inf"), (-3.0, "-3")])
def test_numbers_are_shown_as_a_user_reads_them(value, text):
    assert shown(value) == text
