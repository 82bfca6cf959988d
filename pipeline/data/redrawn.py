"""MNIST training digits drawn again with a pen: handwriting as the page shows it to the model.

MNIST's digits were written with a pen on paper and scanned; the page's digits are
drawn with a round pen of one width and rendered from their strokes. A model that
has only seen scans reads a pen-drawn digit less surely; in a number, where each
digit is small and rendered with the pen at its own size, it may answer "?" for it
(pipeline.data.nondigits's drawings are all pen-drawn: the look of the pen alone
would lean towards "not a digit"). So training adds a share of its own digits
drawn again: each traced into strokes (pipeline.data.handwriting), drawn with a
round pen of a random width around the page's, then the MNIST preprocessing
(pipeline.data.pen.digit, as the non-digits are). Their labels are the digits'.
Only training images are redrawn, and they join the training part only.

Tracing a default run's digits takes minutes, so the result is kept beside MNIST
(pipeline.data.cache: `~/.cache/digit-pipeline/redrawn/`), keyed by a hash of the
chosen images, their pens and the code that draws them: only the first run pays.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
from pathlib import Path

import numpy as np

from pipeline import contract, preprocess
from pipeline.contract import IMAGE_SIZE
from pipeline.data import cache, handwriting, pen

PEN_RANGE = (0.08, 0.17)  # pen width / the digit's longer side, uniform; the page draws with contract.DIGIT_PEN
STREAM = 2  # the random stream of this source under the run's seed (nondigits uses seed and seed + 1 directly)
IN_PROCESS_BELOW = 200  # fewer digits than this are traced in this process: starting workers would cost more
CODE = (sys.modules[__name__], handwriting, pen, preprocess, contract)  # the modules whose code decides the images
PACKAGES = ("numpy", "scipy", "pillow")  # the packages that trace and draw them


def redraw(image: np.ndarray, width: float) -> np.ndarray | None:
    """One MNIST digit (uint8 (28, 28)) traced and drawn with a pen `width` of its longer side: uint8 (28, 28),
    or None when it cannot be traced (a speck of ink)."""
    try:
        strokes = handwriting.image_to_strokes(image)
    except ValueError:
        return None
    return pen.digit(list(strokes.paths), width)


def _redraw_all(images: np.ndarray, pens: np.ndarray) -> list[np.ndarray | None]:
    return [redraw(image, width) for image, width in zip(images, pens)]


def labelled(count: int, seed: int, digits: np.ndarray, labels: np.ndarray, log=print,
             cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`count` of `digits` (uint8 (N, 28, 28), with their `labels`), chosen with `seed`, each drawn again with a
    pen: (uint8 (M, 28, 28), uint8 (M,)), M ≤ count (a digit that cannot be traced is left out)."""
    if count == 0:
        return np.empty((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.empty(0, np.uint8)
    rng = np.random.default_rng([seed, STREAM])
    chosen = np.sort(rng.choice(len(digits), size=min(count, len(digits)), replace=False))
    pens = rng.uniform(*PEN_RANGE, len(chosen))
    images, chosen_labels = digits[chosen], labels[chosen]
    name = cache.key(CODE, PACKAGES, images.tobytes(), pens.tobytes())
    path = (cache_dir or cache.folder("redrawn")) / f"{name}.npz"

    def draw() -> np.ndarray:
        log(f"data: tracing {len(chosen)} training digits to draw them again with a pen (once: cached)")
        return _draw(images, pens)
    drawn, read = cache.kept(path, len(chosen), draw, "redrawn digits'", log)
    where = "from the cache" if read else "cached in"
    log(f"data: {len(chosen)} training digits redrawn with a pen, {where} {path.parent}")
    kept = drawn.max(axis=(1, 2)) > 0  # all black: could not be traced
    return drawn[kept], chosen_labels[kept]


def _draw(images: np.ndarray, pens: np.ndarray) -> np.ndarray:
    """Every image redrawn, in order, on all cores for many; an untraceable one all black."""
    workers = min(os.cpu_count() or 1, 8)
    if len(images) < IN_PROCESS_BELOW or workers == 1:
        results = _redraw_all(images, pens)
    else:
        chunks = np.array_split(np.arange(len(images)), workers * 4)
        # spawn: this process may have started TensorFlow's threads, which a forked child would inherit locked
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = [r for part in pool.map(_redraw_all, [images[c] for c in chunks], [pens[c] for c in chunks])
                       for r in part]
    blank = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    return np.stack([blank if r is None else r for r in results])
