"""Offline proxy for the browser's drawn-digit test: how well does a model read digits as the page draws them?

MNIST test digits (never trained on) are traced into pen strokes
(tests/browser/handwriting.py), drawn anti-aliased with the page's pen (1/14 of
the canvas side) at random sizes (a third to 85 % of the canvas) and positions,
preprocessed exactly as the page does (pipeline.preprocess) and classified by
the Keras model. Minutes faster than driving the browser; for model selection.

    python bench/drawn_offline.py --artifacts artifacts --n 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.data import load_mnist  # noqa: E402
from pipeline.preprocess import to_mnist  # noqa: E402
from tests.browser import handwriting  # noqa: E402

CANVAS = 280  # canvas side, CSS pixels
SUPERSAMPLE = 3  # drawn at 3× and box-filtered down: anti-aliased edges like a canvas


def draw_canvas(paths, pen: float) -> np.ndarray:
    """uint8 (CANVAS, CANVAS) alpha of polylines drawn with a round pen `pen` px wide."""
    big = Image.new("L", (CANVAS * SUPERSAMPLE,) * 2, 0)
    draw = ImageDraw.Draw(big)
    width, r = int(round(pen * SUPERSAMPLE)), pen * SUPERSAMPLE / 2
    for path in paths:
        pts = [tuple(p * SUPERSAMPLE) for p in path]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(big.resize((CANVAS, CANVAS), Image.BOX))


def drawn_images(n: int, seed: int):
    """(images float32 (n, 28, 28, 1), labels, size fractions) of n drawn test digits."""
    mnist = load_mnist(log=lambda *a: None)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(mnist.x_test), n, replace=False)
    images, fractions = [], []
    for i in picks:
        strokes = handwriting.image_to_strokes(mnist.x_test[i])
        placed = handwriting.place(strokes, CANVAS, rng, margin=CANVAS / 28)
        images.append(to_mnist(draw_canvas(placed.paths, CANVAS / 14)))
        fractions.append(placed.fraction)
    return np.stack(images)[..., None], mnist.y_test[picks], np.array(fractions)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, nargs="+", default=[Path("artifacts")])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import keras

    x, y, fraction = drawn_images(args.n, args.seed)
    for folder in args.artifacts:
        model = keras.saving.load_model(folder / "model.keras", compile=False)
        right = model.predict(x, batch_size=500, verbose=0).argmax(1) == y
        small = fraction < 0.5
        print(f"{folder}: {right.mean():.2%} of {len(y)} drawn digits; "
              f"small (<½ canvas) {right[small].mean():.2%}, large {right[~small].mean():.2%}")


if __name__ == "__main__":
    main()
