"""Eastern Arabic-Indic numerals (٢ ٣ ٤ ٧ ٨) as pen strokes, written by one imagined visitor.

No MNIST model reads these: they are the hand the page must learn from a
visitor's corrections (`make bench-personal`). Each numeral is a template, a
few control points in a unit box (x right, y down), smoothed into a curve
(Catmull-Rom). A *hand* (`Hand(seed)`) is one writer: a slant, a width and a
way of drawing each template (its control points moved a little, once); each
numeral it writes then varies again by a little more (size, slant, wobble), as
one person's digits do. ٥ (a ring, like a Latin 0) and ٦ (close to a Latin 7)
are left out: teaching them would trade the Latin digits away.

Only numpy; the strokes are `handwriting.Strokes`, so `handwriting.place_at`
puts them on a pad and `rasterise` draws them.
"""

from __future__ import annotations

import numpy as np

from pipeline.data.handwriting import POINTS_PER_SIDE, Strokes, resample
from pipeline.data.nondigits import catmull_rom, transformed

# label -> strokes, each a list of (x, y) control points in the unit box
TEMPLATES: dict[int, list[list[tuple[float, float]]]] = {
    2: [[(0.80, 0.02), (0.66, 0.20), (0.50, 0.18), (0.38, 0.02), (0.40, 0.40), (0.44, 1.00)]],  # ٢ hook on a stem
    3: [[(0.90, 0.00), (0.80, 0.18), (0.68, 0.04), (0.56, 0.18), (0.40, 0.02), (0.42, 0.40), (0.46, 1.00)]],  # ٣ two hooks
    4: [[(0.78, 0.06), (0.48, 0.00), (0.30, 0.16), (0.44, 0.38), (0.60, 0.44), (0.32, 0.58), (0.28, 0.84),
         (0.50, 1.00), (0.82, 0.94)]],  # ٤ like an ε
    7: [[(0.12, 0.00), (0.34, 0.50), (0.50, 1.00), (0.66, 0.50), (0.88, 0.00)]],  # ٧ a V
    8: [[(0.12, 1.00), (0.34, 0.50), (0.50, 0.00), (0.66, 0.50), (0.88, 1.00)]],  # ٨ a Λ
}
LABELS = tuple(TEMPLATES)
PEN_WIDTH = 0.12  # ink width / the numeral's longer side (MNIST's 2-3 px of 20)


def _to_unit(paths: list[np.ndarray]) -> Strokes:
    """Scale into the unit box (longer side 0-1, the shorter centred) and resample evenly."""
    points = np.concatenate(paths)
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = float((hi - lo).max()) or 1.0
    offset = (side - (hi - lo)) / 2
    unit = tuple(resample((p - lo + offset) / side, 1 / POINTS_PER_SIDE) for p in paths)
    return Strokes(paths=unit, width=PEN_WIDTH, frame=(0.0, 0.0, 1.0))


class Hand:
    """One writer of ٢ ٣ ٤ ٧ ٨: its own style, fixed by `seed`, and a new variant at each `write`."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.slant = float(rng.uniform(-0.15, 0.25))
        self.aspect = float(rng.uniform(0.8, 1.15))
        self.style = {label: [np.asarray(s, float) + rng.normal(0, 0.03, (len(s), 2)) for s in strokes]
                      for label, strokes in TEMPLATES.items()}
        self.rng = rng

    def write(self, label: int) -> Strokes:
        """The numeral `label` (2, 3, 4, 7 or 8) as this hand writes it once more."""
        rng = self.rng
        controls = [s + rng.normal(0, 0.035, s.shape) for s in self.style[label]]
        paths = [catmull_rom(c, samples=12) for c in controls]
        paths = transformed(paths, self.slant + rng.normal(0, 0.06), self.aspect * rng.uniform(0.9, 1.1),
                       rng.normal(0, 0.08))
        return _to_unit(paths)
