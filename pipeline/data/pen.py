"""The pen: strokes drawn with a round pen into pixels. The one place in Python that turns polylines into ink.

`ink` draws polylines in pixel coordinates (x right, y down) with a round pen: round caps, Pillow's curved joins
(or, `stamped`, the pen pressed at every point: round joins however finely a curve is sampled, as a canvas draws
them). Drawn once, its edges are hard (each pixel is ink or not); drawn `supersample` times larger and
box-filtered down, they are anti-aliased as a browser's canvas draws them. `digit` renders one drawing as the
model reads it, the twin of the page's `digitInk` (site_template/js/drawing.js): the strokes alone, their longer
side DIGIT_SIDE pixels, a pen DIGIT_PEN of that side, then the MNIST preprocessing. Training draws its non-digits
(pipeline/data/nondigits.py) and redrawn digits (pipeline/data/redrawn.py) with `digit`; the tests, the benches
and the app's icon (pipeline/build/webapp.py) draw with `ink`, or with `digit` where they want the model's view.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from pipeline.contract import DIGIT_PEN, DIGIT_SIDE
from pipeline.preprocess import to_mnist

MARGIN = 2  # pixels beyond the pen's edge around a drawing `digit` renders (js/drawing.js READ_MARGIN)
MIN_SIDE = 1e-3  # a drawing's longer side at least this (its own units): a dot is drawn as if it were this long


def ink(paths: Sequence[np.ndarray], size: int | tuple[int, int], width: float, supersample: int = 1,
        stamped: bool = False) -> np.ndarray:
    """Polylines (each float (K, 2), x, y in pixels; one point is a dot) drawn with a round pen `width` pixels wide:
    uint8 (height, width), 0-255, white ink on black. size: the image's side, or its (width, height).
    supersample: 1 draws hard edges; n > 1 draws n times larger and averages each n×n block (anti-aliased).
    stamped: the pen is also stamped at every point, not only at the ends: a wide pen on a dense path (a curve
    sampled finely) then has no slivers between segments, which Pillow's curved joins leave there."""
    columns, rows = (size, size) if isinstance(size, int) else size
    image = Image.new("L", (columns * supersample, rows * supersample), 0)
    draw = ImageDraw.Draw(image)
    nib = width * supersample  # pixels of the image drawn on
    for path in paths:
        points = [tuple(p) for p in np.asarray(path, float) * supersample]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(nib)), joint="curve")
        for x, y in points if stamped else (points[0], points[-1]):  # round caps (and joins)
            draw.ellipse((x - nib / 2, y - nib / 2, x + nib / 2, y + nib / 2), fill=255)
    if supersample > 1:
        image = image.resize((columns, rows), Image.Resampling.BOX)
    return np.array(image)  # a writable copy


def digit(paths: Sequence[np.ndarray], pen: float = DIGIT_PEN) -> np.ndarray:
    """Strokes (each float (K, 2), x, y at any scale) as the model reads them: drawn with hard edges, their longer
    side DIGIT_SIDE pixels, with a round pen `pen` of that side, then preprocessed like MNIST: uint8 (28, 28),
    0-255, white ink on black."""
    points = np.concatenate(paths)
    lo = points.min(axis=0)
    side = max(float((points.max(axis=0) - lo).max()), MIN_SIDE)
    width = pen * DIGIT_SIDE  # pixels
    margin = width / 2 + MARGIN
    size = np.ceil((points.max(axis=0) - lo) / side * DIGIT_SIDE + 2 * margin).astype(int)
    drawn = ink([(np.asarray(p) - lo) / side * DIGIT_SIDE + margin for p in paths], (int(size[0]), int(size[1])), width)
    return np.round(to_mnist(drawn) * 255).astype(np.uint8)
