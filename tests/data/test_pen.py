"""pipeline/data/pen.py: the one pen that draws strokes into pixels, for training, the tests and the benches."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from pipeline.contract import DIGIT_PEN, FIT_SIZE, IMAGE_SIZE
from pipeline.data import pen
from tests.helpers import ROOT

PEN_MODULE = ROOT / "pipeline" / "data" / "pen.py"
SOURCE_FOLDERS = ("pipeline", "bench", "tests", "notebooks", "scripts")


def ring(cx: float, cy: float, r: float, points: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, points + 1)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def test_polylines_are_drawn_with_pillow_in_the_pen_module_only():
    """A second rasteriser of strokes would draw training's, the tests' and the benches' ink apart."""
    drawing = re.compile(r"\.(line|ellipse|polygon)\(|\bcv2\b|skimage\.draw")
    files = [path for folder in SOURCE_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))
             if path not in (PEN_MODULE, ROOT / "tests" / "data" / "test_pen.py")]
    found = [f"{path.relative_to(ROOT)}:{n}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1) if drawing.search(line)]
    assert found == [], "strokes drawn outside pipeline/data/pen.py: call pen.ink or pen.digit"


def test_hard_edges_ink_a_line_as_wide_as_the_pen_with_round_caps():
    image = pen.ink([np.array([[20.0, 30.0], [80.0, 30.0]])], (100, 60), 10)
    assert image.shape == (60, 100) and image.dtype == np.uint8
    assert set(np.unique(image)) == {0, 255}
    assert 9 <= (image[:, 50] > 0).sum() <= 11  # across the middle: the pen's width
    row = np.flatnonzero(image[30] > 0)
    assert row[0] in range(14, 17) and row[-1] in range(83, 86)  # round caps reach half a pen past each end
    dot = pen.ink([np.array([[50.0, 30.0]])], (100, 60), 20)
    assert (dot > 0).sum() == pytest.approx(np.pi * 10**2, rel=0.15)  # one point is a disc


def test_supersampling_anti_aliases_the_same_ink():
    paths = [ring(50, 50, 30, 40), np.array([[10.0, 90.0], [90.0, 10.0]])]
    hard, soft = pen.ink(paths, 100, 6), pen.ink(paths, 100, 6, supersample=4)
    assert ((soft > 0) & (soft < 255)).sum() > 100  # grey edges
    assert soft.sum(dtype=int) == pytest.approx(hard.sum(dtype=int), rel=0.1)  # hard edges round outwards


def test_a_stamped_pen_closes_a_finely_sampled_ring_into_one_loop():
    """The page's canvas joins a stroke's segments round: one loop has one hole, whatever the sampling."""
    image = pen.ink([ring(56, 56, 35, 400)], 112, 14, stamped=True)
    regions, count = ndimage.label(image == 0)
    assert count == 2  # the outside and the loop's inside


def test_a_digit_is_rendered_the_same_at_any_scale_with_the_pen_of_its_size():
    seven = [np.array([[0.1, 0.0], [0.9, 0.0], [0.4, 1.0]]), np.array([[0.3, 0.5], [0.7, 0.5]])]
    image = pen.digit(seven)
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE) and image.dtype == np.uint8
    moved = pen.digit([p * 37.5 + [120.0, 80.0] for p in seven])
    assert np.abs(image.astype(int) - moved).mean() < 1  # a hard edge may fall on the other side of a pixel centre
    bar = pen.digit([np.array([[0.5, 0.0], [0.5, 1.0]])])  # a vertical line: its width is the pen's, fitted
    middle = bar[IMAGE_SIZE // 2].sum(dtype=int) / 255
    assert middle == pytest.approx(DIGIT_PEN * FIT_SIZE, rel=0.25)
    wider = pen.digit([np.array([[0.5, 0.0], [0.5, 1.0]])], 2 * DIGIT_PEN)
    assert wider[IMAGE_SIZE // 2].sum(dtype=int) / 255 > 1.5 * middle
