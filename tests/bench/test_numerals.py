"""bench/numerals.py: one imagined hand writing ٢ ٣ ٤ ٧ ٨ as pen strokes, no browser."""

from __future__ import annotations

import numpy as np

from bench.numerals import LABELS, Hand
from pipeline.data import handwriting as hw


def test_a_hand_writes_each_numeral_in_the_unit_box_and_the_same_seed_writes_the_same():
    one, same, other = Hand(3), Hand(3), Hand(4)
    for label in LABELS:
        strokes = one.write(label)
        points = np.concatenate(strokes.paths)
        assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9
        assert (points.max(axis=0) - points.min(axis=0)).max() > 0.97, "the longer side spans the box (resampled)"
        assert all(np.array_equal(a, b) for a, b in zip(strokes.paths, same.write(label).paths))
        assert not np.allclose(np.concatenate(other.write(label).paths)[:10], points[:10])


def test_the_numerals_are_five_different_shapes_and_each_varies_a_little():
    hand = Hand(0)
    images = {label: [hw.rasterise([p * 27 + 0.5 for p in hand.write(label).paths], (28, 28), 2.5) for _ in range(5)]
              for label in LABELS}
    overlap = lambda a, b: (a & b).sum() / (a | b).sum()  # noqa: E731
    same = np.mean([overlap(images[label][0], images[label][i]) for label in LABELS for i in range(1, 5)])
    different = np.mean([overlap(images[a][0], images[b][0]) for a in LABELS for b in LABELS if a < b])
    assert same > different + 0.15, (same, different)
    assert same < 0.95, "each writing varies"
