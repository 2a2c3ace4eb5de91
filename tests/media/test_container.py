from pathlib import Path

import pytest

from omnisync_cli.errors import InputError
from omnisync_cli.media.container import open_input
from tests.media.clips import truncate, write_clip, write_garbage


def test_opens_a_video(cfr_clip: Path) -> None:
    with open_input(cfr_clip) as container:
        assert len(container.streams.video) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "not found"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: write_garbage(p), "cannot be read as media"),
        (lambda p: (write_clip(p, 8), truncate(p, 0.5)), "cannot be read as media"),
    ],
    ids=["missing", "directory", "random-bytes", "truncated-mp4"],
)
def test_unreadable_inputs_raise_one_line_input_error(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "input.mp4"
    make(path)
    with pytest.raises(InputError, match=message) as caught:
        open_input(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)
