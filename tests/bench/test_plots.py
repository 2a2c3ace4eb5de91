"""The benchmark's pictures show what they claim: bar heights follow the scores, and the
strip puts source, variants and target in their rows."""

import cv2
import numpy as np

from omnisync_cli.bench.report import plot_mouth_psnr, write_strip

BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # matplotlib's first two colours (RGB)


def pixels_of(image: np.ndarray, rgb, tolerance: int = 6) -> np.ndarray:
    """(rows, cols) of the pixels within `tolerance` of an RGB colour."""
    return np.argwhere(np.abs(image.astype(int) - rgb).max(axis=2) <= tolerance)


def read_rgb(path):
    return cv2.imread(str(path))[:, :, ::-1]


def test_bar_heights_follow_the_mouth_psnr(tmp_path):
    def cell(psnr):
        return {"mouth_psnr": psnr, "noop_mouth_psnr": 25.0}
    results = {"summary": {"no-op": {"human": cell(25.0), "stylized": cell(25.0)},
                           "ds-cfg": {"human": cell(31.0), "stylized": cell(27.0)}}}
    image = read_rgb(plot_mouth_psnr(results, tmp_path / "psnr.png"))
    middle = image.shape[1] // 2  # the human group is left of the middle, stylized right
    human, stylized = bar_heights(image, ORANGE, middle)
    noop_human, noop_stylized = bar_heights(image, BLUE, middle)
    assert noop_human == noop_stylized
    # y axis from 22 to 33 dB: bars reach 9, 5 and 3 dB above its foot (the dashed no-op level
    # hides the top edge of the no-op bars, hence the wider margin there)
    assert abs(human / stylized - 9 / 5) < 0.05 and abs(human / noop_human - 9 / 3) < 0.2


def bar_heights(image: np.ndarray, rgb, middle: int) -> tuple[int, int]:
    """Heights in pixels of the bars of one colour left and right of `middle`: how far that
    colour reaches up from the axis in the bar's middle column, across thin lines drawn over
    the bar (the dashed no-op level) but not across the gap to a legend patch."""
    mask = np.abs(image.astype(int) - rgb).max(axis=2) <= 6
    foot = np.argwhere(mask)[:, 0].max()
    columns = np.flatnonzero(mask[foot])
    heights = []
    for side in (columns[columns < middle], columns[columns >= middle]):
        rows = np.flatnonzero(mask[: foot + 1, int(np.median(side))])[::-1]  # from the foot up
        gaps = np.flatnonzero(np.diff(rows) < -10)
        heights.append(int(foot - rows[gaps[0] if len(gaps) else -1]))
    return heights[0], heights[1]


def test_strip_rows_are_source_variants_target(tmp_path):
    colours = {"source": (230, 30, 30), "ds-cfg": (30, 200, 30), "target": (30, 30, 230)}
    crops = {name: np.broadcast_to(np.array(c, np.uint8), (3, 16, 16, 3)) for name, c in colours.items()}
    image = read_rgb(write_strip({"clip-1": crops}, ["ds-cfg"], tmp_path / "strip.png"))
    centres = [pixels_of(image, c, tolerance=12)[:, 0].mean() for c in colours.values()]
    assert all(len(pixels_of(image, c, tolerance=12)) > 200 for c in colours.values())
    assert centres[0] < centres[1] < centres[2]  # source above the variant above the target
