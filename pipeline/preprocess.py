"""MNIST-style preprocessing in numpy: the same algorithm, bit for bit, as the page's
`site_template/js/preprocess.js` (read its header for the full description).

  1. crop to the bounding box of every pixel with ink > 0;
  2. scale so the longer side is FIT_SIZE (20) px, aspect kept, with exact area
     averaging (integer overlaps of source and output pixels);
  3. shift by whole pixels so the centre of mass (pixel centres at i + 0.5)
     lands on IMAGE_SIZE / 2, rounding halves up; clip what falls outside.

With integer ink (0-255) every sum is an exact int64 and each output pixel is
one float64 division cast to float32, exactly as the JavaScript computes it.
"""

from __future__ import annotations

import numpy as np

from pipeline.contract import FIT_SIZE, IMAGE_SIZE


def box_weights(n: int, fit: int, longer: int) -> np.ndarray:
    """int64 (n, ceil(n*fit/longer)): overlap of source pixel i, [i*fit, (i+1)*fit), with
    output pixel j, [j*longer, (j+1)*longer), in units where the scale fit/longer is exact."""
    size = -(-n * fit // longer)
    i = np.arange(n, dtype=np.int64)[:, None]
    j = np.arange(size, dtype=np.int64)[None, :]
    overlap = np.minimum((i + 1) * fit, (j + 1) * longer) - np.maximum(i * fit, j * longer)
    return np.maximum(overlap, 0)


def centring_shift(values: np.ndarray, size: int = IMAGE_SIZE) -> tuple[int, int]:
    """Whole-pixel (dx, dy) that moves the centre of mass of `values` (H, W) to size/2."""
    mass = int(values.sum())
    ys, xs = np.indices(values.shape, dtype=np.int64)
    moment_x, moment_y = int((values * (2 * xs + 1)).sum()), int((values * (2 * ys + 1)).sum())
    shift = lambda moment: (size * mass + mass - moment) // (2 * mass)  # noqa: E731  floor division, as in JS
    return shift(moment_x), shift(moment_y)


BAND_PIXELS = 2**20  # pixels of a large drawing box-filtered at a time: bounds the memory a photo-sized image takes


def _times_columns(crop: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """crop @ weights, exactly, as int64 (H, fit): in float64 (BLAS) a band of rows at a time. Exact in any order
    of summation: each entry is a sum of integers at most full ink x `longer` (a column of weights sums to it),
    far below 2**53."""
    band = max(1, BAND_PIXELS // crop.shape[1])
    out = np.empty((crop.shape[0], weights.shape[1]), np.int64)
    for start in range(0, crop.shape[0], band):
        out[start : start + band] = crop[start : start + band].astype(np.float64) @ weights
    return out


def to_mnist(ink: np.ndarray, image_size: int = IMAGE_SIZE, fit_size: int = FIT_SIZE, full_ink: int = 255):
    """A drawing as an MNIST image.

    ink: integer array (H, W), 0..full_ink, the ink of each pixel (e.g. the canvas alpha).
    Returns float32 (image_size, image_size), 0-1, white ink on black; None if there is no ink.
    """
    ink = np.asarray(ink)
    if ink.ndim != 2:
        raise ValueError(f"ink must be 2-D (H, W), got shape {ink.shape}")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    longer = max(crop.shape)
    sums = box_weights(crop.shape[0], fit_size, longer).T @ _times_columns(crop, box_weights(crop.shape[1], fit_size, longer))
    dx, dy = centring_shift(sums, image_size)
    out = np.zeros((image_size, image_size), np.float32)
    values = (sums / float(longer * longer * full_ink)).astype(np.float32)
    h, w = values.shape
    y0, x0 = max(dy, 0), max(dx, 0)  # destination window, clipped to the image
    y1, x1 = min(dy + h, image_size), min(dx + w, image_size)
    if y0 < y1 and x0 < x1:
        out[y0:y1, x0:x1] = values[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return out
