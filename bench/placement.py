"""Digits traced into strokes (pipeline.data.handwriting) placed on a canvas as a person writes them: alone at a
random size and place, or side by side as a number (pipeline.data.pen draws them). For the tests and
benchmarks that draw MNIST's handwriting on the page or into image files; production never places digits.

Coordinates are (x, y) in canvas pixels: x to the right, y down.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pipeline.data.handwriting import Strokes


@dataclasses.dataclass(frozen=True)
class Placement:
    """Strokes placed on a canvas.

    paths: each float64 (K, 2), (x, y) in canvas pixels.
    size: the unit box's side, canvas pixels; fraction: size / the canvas side.
    pen: the pen width that would reproduce the original's ink at this size,
        canvas pixels (for comparison with the pen that actually draws).
    """

    paths: tuple[np.ndarray, ...]
    size: float
    fraction: float
    pen: float


def place_at(strokes: Strokes, canvas: float, fraction: float, position: tuple[float, float], margin: float = 0.0) -> Placement:
    """Scale the strokes so the unit box is `fraction` of the canvas side (less if
    the digit would not fit) and put them at `position`: (0, 0) is as far up and
    left as they fit, (1, 1) as far down and right, `margin` pixels (e.g. half
    the pen's width) clear of every edge."""
    points = np.concatenate(strokes.paths)
    lo, hi = points.min(axis=0), points.max(axis=0)
    size = min(fraction * canvas, (canvas - 2 * margin) / max(float((hi - lo).max()), 1e-6))
    low = margin - lo * size
    high = np.maximum(low, canvas - margin - hi * size)
    offset = low + np.asarray(position, float) * (high - low)
    return Placement(
        paths=tuple(p * size + offset for p in strokes.paths),
        size=size,
        fraction=size / canvas,
        pen=strokes.width * size,
    )


def place(
    strokes: Strokes,
    canvas: float,
    rng: np.random.Generator,
    min_fraction: float = 1 / 3,
    max_fraction: float = 0.85,
    margin: float = 0.0,
) -> Placement:
    """`place_at` a random size (fraction of the canvas side, uniform in
    [min_fraction, max_fraction]) and a random position where the digit fits."""
    fraction = float(rng.uniform(min_fraction, max_fraction))
    return place_at(strokes, canvas, fraction, tuple(rng.uniform(0, 1, size=2)), margin)


def pick_digits(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n test-set indices, as evenly spread over the ten digits as n allows, in shuffled order."""
    rng = np.random.default_rng(seed)
    per_class = [n // 10 + (d < n % 10) for d in range(10)]
    picks = np.concatenate([rng.choice(np.flatnonzero(labels == d), k, replace=False) for d, k in enumerate(per_class)])
    return rng.permutation(picks)


def place_number(
    digits: list[Strokes],
    width: float,
    height: float,
    rng: np.random.Generator,
    min_fraction: float = 1 / 4,
    max_fraction: float = 1 / 2,
    margin: float = 0.0,
) -> list[Placement]:
    """Write digits side by side as a person writes a number on a width×height pad (pixels).

    The number's digit height is uniform in [min_fraction, max_fraction] of the
    pad's height, each digit ×0.85-1.15 of it; the gaps between digits'
    boxes 0.1-0.4 of the digit height; each baseline drifts by up to ±0.08 of
    it from the last. A number that would not fit (`margin` pixels clear of
    every edge) is shrunk until it does; it sits at a random place where it fits.
    Returns one Placement per digit, left to right (fraction: of the pad's height).
    """
    base = float(rng.uniform(min_fraction, max_fraction)) * height
    sizes = base * rng.uniform(0.85, 1.15, len(digits))
    gaps = base * rng.uniform(0.1, 0.4, max(len(digits) - 1, 0))
    drift = np.cumsum(np.concatenate([[0.0], base * rng.uniform(-0.08, 0.08, max(len(digits) - 1, 0))]))
    boxes = []
    for strokes in digits:
        points = np.concatenate(strokes.paths)
        boxes.append((points.min(axis=0), points.max(axis=0)))
    widths = np.array([(hi - lo)[0] for lo, hi in boxes]) * sizes
    lefts = np.concatenate([[0.0], np.cumsum(widths[:-1] + gaps)])
    tops = drift + (sizes.max() - sizes)  # digits of different sizes share a baseline, give or take the drift
    bottoms = tops + np.array([(hi - lo)[1] for lo, hi in boxes]) * sizes
    span = np.array([lefts[-1] + widths[-1], bottoms.max() - tops.min()])
    room = np.array([width, height]) - 2 * margin
    shrink = min(1.0, float((room / np.maximum(span, 1e-6)).min()))
    corner = margin + rng.uniform(0, 1, 2) * (room - span * shrink)
    placements = []
    for strokes, (lo, _), size, left, top in zip(digits, boxes, sizes, lefts, tops):
        scale = size * shrink
        offset = corner + np.array([left, top - tops.min()]) * shrink - lo * scale
        paths = tuple(p * scale + offset for p in strokes.paths)
        placements.append(Placement(paths=paths, size=scale, fraction=scale / height, pen=strokes.width * scale))
    return placements
