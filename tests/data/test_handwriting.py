"""Unit tests for bench/handwriting.py: images to pen strokes, no browser."""

from __future__ import annotations

import numpy as np
import pytest

from bench import placement
from pipeline.data import handwriting as hw
from pipeline.data import pen

SIDE = 28  # MNIST image side, pixels


def draw_image(paths: list[np.ndarray], width: float) -> np.ndarray:
    """Anti-aliased uint8 (28, 28) image of polylines ((K, 2) x, y in MNIST pixels), a round pen `width` px wide."""
    return pen.ink(paths, SIDE, width, supersample=4, stamped=True)


def mask(paths: list[np.ndarray], shape: tuple[int, int], width: float) -> np.ndarray:
    """bool (H, W): the pixels a round pen `width` px wide inks along polylines ((K, 2) x, y in pixels)."""
    return pen.ink(paths, shape[::-1], width, stamped=True) > 0


def to_source(strokes: hw.Strokes) -> list[np.ndarray]:
    """The strokes mapped back into the source image's pixel coordinates."""
    x, y, side = strokes.frame
    return [p * side + [x, y] for p in strokes.paths]


def dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        p = np.pad(mask, 1)
        mask = np.logical_or.reduce([p[1 + dr : dr + p.shape[0] - 1, 1 + dc : dc + p.shape[1] - 1]
                                     for dr in (-1, 0, 1) for dc in (-1, 0, 1)])
    return mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def circle(cx: float, cy: float, r: float, n: int = 64) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n + 1)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def test_upsample_keeps_values_and_pixel_centres():
    image = np.zeros((SIDE, SIDE), np.uint8)
    image[10, 20] = 255
    up = hw.upsample(image, 4)
    assert up.shape == (112, 112) and up.min() >= 0 and up.max() <= 1
    row, col = np.unravel_index(up.argmax(), up.shape)
    assert 40 <= row < 44 and 80 <= col < 84  # the bright pixel stays where it was
    assert np.allclose(hw.upsample(np.full((SIDE, SIDE), 255, np.uint8)), 1)


def test_label_separates_8_connected_components():
    mask = np.zeros((20, 20), bool)
    mask[2, 2:10] = True  # a bar ...
    mask[3, 10] = True  # ... joined diagonally to this pixel
    mask[15:18, 15:18] = True
    lab = hw.label(mask)
    assert len(np.unique(lab[mask])) == 2
    assert lab[2, 2] == lab[3, 10] != lab[16, 16]
    assert (lab[~mask] == -1).all()


def test_skeleton_of_a_thick_curve_is_thin_connected_and_centred():
    t = np.linspace(0, 1, 50)
    curve = np.stack([20 + 70 * t, 30 + 50 * t**2], axis=1)  # a bend, 112-px image
    ink = mask([curve], (112, 112), 14)
    skel = hw.clean_skeleton(hw.zhang_suen(ink))
    deg = hw.degree(skel)
    assert (deg[skel] <= 2).all()  # thin: no pixel has three neighbours
    assert (deg[skel] == 1).sum() == 2  # one line, two ends
    assert len(np.unique(hw.label(skel)[skel])) == 1  # connected
    assert mask([curve], (112, 112), 3.0)[skel].all()  # within 1.5 px of the pen's path
    ends = np.argwhere(deg == 1)[:, ::-1] + 0.5
    for end in (curve[0], curve[-1]):  # and it runs nearly end to end
        assert np.linalg.norm(ends - end, axis=1).min() <= 14 / 2 + 2


def test_a_line_traces_to_one_stroke_in_the_right_place_and_orientation():
    line = np.array([[6.0, 8.0], [22.0, 20.0]])  # x, y: down and to the right
    strokes = hw.image_to_strokes(draw_image([line], width=2.5))
    assert len(strokes.paths) == 1
    path = to_source(strokes)[0]
    if np.linalg.norm(path[0] - line[0]) > np.linalg.norm(path[0] - line[1]):
        path = path[::-1]
    assert np.linalg.norm(path[0] - line[0]) < 2 and np.linalg.norm(path[-1] - line[1]) < 2
    assert strokes.width * strokes.frame[2] == pytest.approx(2.5, rel=0.3)  # the ink width, MNIST px
    assert 10 <= len(path) <= 80  # resampled, neither a handful nor every pixel


def test_a_ring_traces_to_one_closed_stroke():
    strokes = hw.image_to_strokes(draw_image([circle(14, 14, 7)], width=2.5))
    assert len(strokes.paths) == 1
    path = strokes.paths[0]
    assert np.linalg.norm(path[0] - path[-1]) < 0.1  # closed, in units of the digit's size
    assert 0.85 * np.pi <= hw.length(path) <= 1.1 * np.pi  # once round a unit-diameter circle
    assert np.allclose(path.min(axis=0), 0, atol=0.02) and np.allclose(path.max(axis=0), 1, atol=0.02)


SHAPES = {  # name -> (polylines in MNIST pixels, most strokes a tracing may use)
    "plus": ([np.array([[6.0, 14.0], [22.0, 14.0]]), np.array([[14.0, 5.0], [14.0, 23.0]])], 2),
    "cross": ([np.array([[6.0, 6.0], [22.0, 22.0]]), np.array([[22.0, 6.0], [6.0, 22.0]])], 2),
    "eight": ([circle(14, 9, 4.5), circle(14, 18.5, 5)], 2),
    "four": ([np.array([[17.0, 22.0], [17.0, 5.0], [7.0, 17.0], [22.0, 17.0]])], 2),
}


@pytest.mark.parametrize("name", SHAPES)
def test_junctions_and_loops_redraw_like_the_original(name):
    paths, most_strokes = SHAPES[name]
    image = draw_image(paths, width=2.5)
    strokes = hw.image_to_strokes(image)
    assert len(strokes.paths) <= most_strokes  # the pen crosses junctions instead of lifting
    ink = hw.ink_mask(image)
    redrawn = mask([p * hw.UPSAMPLE for p in to_source(strokes)], ink.shape,
                           strokes.width * strokes.frame[2] * hw.UPSAMPLE)
    # Dilated by one MNIST pixel: the pen's path matters, not its exact edge
    # (thinning rounds off the tips of sharp corners).
    assert iou(dilate(redrawn, hw.UPSAMPLE), dilate(ink, hw.UPSAMPLE)) > 0.8


def test_a_filled_in_loop_is_drawn_as_a_loop():
    head = draw_image([np.array([[13.0, 9.0]])], width=10)  # a "9" whose loop the pen filled in
    tail = draw_image([np.array([[17.5, 11.0], [17.0, 24.0]])], width=2.5)
    strokes = hw.image_to_strokes(np.maximum(head, tail))
    offset = np.concatenate(to_source(strokes)) - [13.0, 9.0]
    radius = np.hypot(*offset.T)
    assert radius.min() > 2  # the pen goes round the blob's middle, not through it
    around = offset[radius < 5]
    angles = np.unique(np.degrees(np.arctan2(around[:, 1], around[:, 0])) // 30)
    assert len(angles) == 12  # all the way round


def test_specks_are_dropped_and_an_empty_image_is_refused():
    image = draw_image([np.array([[14.0, 5.0], [14.0, 23.0]])], width=2.5)
    image[3, 3] = 255  # one stray pixel, far from the stroke
    strokes = hw.image_to_strokes(image)
    assert len(strokes.paths) == 1 and all((p[:, 0] > 0.2).all() for p in to_source(strokes))
    with pytest.raises(ValueError):
        hw.image_to_strokes(np.zeros((SIDE, SIDE), np.uint8))


def test_mnist_test_digits_redraw_like_the_original(mnist):
    rng = np.random.default_rng(0)
    picks = np.concatenate([rng.choice(np.flatnonzero(mnist.y_test == d), 3, replace=False) for d in range(10)])
    scores = []
    for i in picks:
        strokes = hw.image_to_strokes(mnist.x_test[i])
        ink = hw.ink_mask(mnist.x_test[i])
        redrawn = mask([p * hw.UPSAMPLE for p in to_source(strokes)], ink.shape,
                               strokes.width * strokes.frame[2] * hw.UPSAMPLE)
        # Dilated by one MNIST pixel: the pen's path matters, not its exact edge.
        scores.append(iou(dilate(redrawn, hw.UPSAMPLE), dilate(ink, hw.UPSAMPLE)))
    assert min(scores) > 0.55, dict(zip(picks.tolist(), np.round(scores, 2)))
    assert np.mean(scores) > 0.8


def test_place_stays_inside_the_canvas_at_varied_sizes_and_positions():
    strokes = hw.image_to_strokes(draw_image([circle(14, 9, 4.5), circle(14, 18.5, 5)], width=2.5))
    canvas, margin = 280, 10
    rng = np.random.default_rng(1)
    placed = [placement.place(strokes, canvas, rng, margin=margin) for _ in range(300)]
    points = np.concatenate([p for pl in placed for p in pl.paths])
    assert points.min() >= margin - 1e-9 and points.max() <= canvas - margin + 1e-9
    fractions = np.array([pl.fraction for pl in placed])
    assert fractions.min() >= 1 / 3 - 1e-9 and fractions.max() <= 0.85 + 1e-9
    assert fractions.max() - fractions.min() > 0.4  # the whole range is used
    centres = np.array([np.concatenate(pl.paths).mean(axis=0) for pl in placed])
    assert centres.std(axis=0).min() > 20  # and positions vary in x and y


def test_place_at_reaches_every_edge_of_the_canvas():
    strokes = hw.image_to_strokes(draw_image([circle(14, 14, 7)], width=2.5))
    top_left = np.concatenate(placement.place_at(strokes, 200, 0.5, (0, 0), margin=10).paths)
    bottom_right = np.concatenate(placement.place_at(strokes, 200, 0.5, (1, 1), margin=10).paths)
    assert np.allclose(top_left.min(axis=0), 10) and np.allclose(bottom_right.max(axis=0), 190)
    placed = placement.place_at(strokes, 200, 0.5, (0.5, 0.5))
    assert placed.size == 100 and placed.fraction == 0.5
    assert placed.pen == pytest.approx(strokes.width * 100)  # the original's ink width at this size


def test_place_is_reproducible_from_its_seed():
    strokes = hw.image_to_strokes(draw_image([circle(14, 14, 7)], width=2.5))
    a = placement.place(strokes, 300, np.random.default_rng(7))
    b = placement.place(strokes, 300, np.random.default_rng(7))
    assert a.size == b.size and all(np.array_equal(p, q) for p, q in zip(a.paths, b.paths))


def test_place_shrinks_a_digit_that_would_not_fit():
    strokes = hw.image_to_strokes(draw_image([circle(14, 14, 7)], width=2.5))
    placed = placement.place(strokes, 100, np.random.default_rng(0), min_fraction=1.0, max_fraction=1.0, margin=10)
    assert placed.size == pytest.approx(80, abs=0.5)


def test_place_number_writes_digits_side_by_side_inside_the_pad():
    digits = [hw.image_to_strokes(draw_image(paths, width=2.5))
              for paths in ([circle(14, 14, 7)], [np.array([[14.0, 4.0], [13.0, 24.0]])], [circle(14, 9, 4.5), circle(14, 18.5, 5)])]
    width, height, margin = 600.0, 400.0, 12.0
    rng = np.random.default_rng(3)
    for _ in range(100):
        placed = placement.place_number(digits, width, height, rng, margin=margin)
        boxes = [(np.concatenate(p.paths).min(axis=0), np.concatenate(p.paths).max(axis=0)) for p in placed]
        for (lo, hi), (next_lo, _) in zip(boxes, boxes[1:]):
            gap = next_lo[0] - hi[0]
            assert gap > 0.05 * height * placed[0].fraction, "digits never touch: a gap of about 0.1-0.4 of their height"
        points = np.concatenate([p for pl in placed for p in pl.paths])
        assert points.min(axis=0).min() >= margin - 1e-9
        assert points[:, 0].max() <= width - margin + 1e-9 and points[:, 1].max() <= height - margin + 1e-9
        fractions = [p.fraction for p in placed]
        assert 0.25 * 0.85 - 1e-9 <= min(fractions) and max(fractions) <= 0.5 * 1.15 + 1e-9
        assert max(fractions) / min(fractions) <= 1.15 / 0.85 + 1e-9


def test_place_number_shrinks_a_number_that_would_not_fit():
    digits = [hw.image_to_strokes(draw_image([circle(14, 14, 7)], width=2.5))] * 4
    placed = placement.place_number(digits, 200.0, 200.0, np.random.default_rng(0), 0.5, 0.5, margin=5)
    points = np.concatenate([p for pl in placed for p in pl.paths])
    assert points[:, 0].min() >= 5 - 1e-9 and points[:, 0].max() <= 195 + 1e-9
    assert sum(p.size for p in placed) < 190  # four round digits, each half the pad high, shrunk to fit its width
