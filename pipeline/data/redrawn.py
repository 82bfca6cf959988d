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

Tracing a default run's digits takes minutes, so the result is cached beside MNIST
(`~/.cache/digit-pipeline/redrawn/`, or $PIPELINE_CACHE/redrawn/), keyed by a hash of the
chosen images, their pens and the code that draws them: only the first run pays.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import multiprocessing
import os
import zipfile
from pathlib import Path

import numpy as np

from pipeline import artifacts, preprocess
from pipeline.contract import IMAGE_SIZE
from pipeline.data import handwriting, mnist, pen

PEN_RANGE = (0.08, 0.17)  # pen width / the digit's longer side, uniform; the page draws with contract.DIGIT_PEN
STREAM = 2  # the random stream of this source under the run's seed (nondigits uses seed and seed + 1 directly)
IN_PROCESS_BELOW = 200  # fewer digits than this are traced in this process: starting workers would cost more
CODE = (handwriting, pen, preprocess)  # the modules whose code decides the images, besides this one


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
    path = (cache_dir or mnist.cache_root() / "redrawn") / f"{_key(images, pens)}.npz"
    drawn = _read_cache(path, len(chosen), log)
    if drawn is not None:
        log(f"data: {len(chosen)} training digits redrawn with a pen, from the cache {path.parent}")
    else:
        log(f"data: tracing {len(chosen)} training digits to draw them again with a pen (once: cached)")
        drawn = _draw(images, pens)
        buffer = io.BytesIO()
        np.savez(buffer, drawn=drawn)
        artifacts.write_bytes(path, buffer.getvalue())
        log(f"data: {len(chosen)} training digits redrawn with a pen, cached in {path.parent}")
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


def _key(images: np.ndarray, pens: np.ndarray) -> str:
    """A hash of what decides the redrawn images: the digits, their pens, and the code that draws them."""
    digest = hashlib.sha256()
    for source in (*(module.__file__ for module in CODE), __file__):
        digest.update(Path(source).read_bytes())
    digest.update(images.tobytes())
    digest.update(pens.tobytes())
    return digest.hexdigest()[:32]


def _read_cache(path: Path, count: int, log) -> np.ndarray | None:
    """The cached images, or None when there are none; a damaged cache file is reported and made again."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            drawn = archive["drawn"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log(f"data: redrawn digits' cache {path} unusable, drawing again ({type(err).__name__})")
        return None
    if drawn.shape != (count, IMAGE_SIZE, IMAGE_SIZE) or drawn.dtype != np.uint8:
        log(f"data: redrawn digits' cache {path} unusable, drawing again (shape {drawn.shape})")
        return None
    return drawn
