"""The compact MNIST subset the build ships for training in the browser (train.html).

Reads:  MNIST (pipeline.data.mnist.load_mnist: --data, the cache, or a download)
Writes: OUT/ (dist/data/ in the site):
  train-images.png   grayscale sprite, one row of 784 pixels (28×28, row-major) per image,
                     white ink on black, 0-255; the same layout as tfjs-examples/mnist
  train-labels.bin   one uint8 label (0-9) per image, in the sprite's row order
  test-images.png    the held-out images, same layout
  test-labels.bin
  subset.json        counts, file names, seed and source (what the page reads first)
  samples.json       the first held-out image of each digit traced into pen strokes, for the drawing page's
                     "Try a sample digit": {"digits": [{"label": "3", "strokes": [[[x, y], ...], ...]}, ...]},
                     x and y in 0-1 of the digit's longer side

The training images are drawn, class-balanced and seeded, from the MNIST
*training* set; the held-out images from the MNIST *test* set, so the page
never evaluates on an image it trained on. The default size (1,200 + 200 per
class) is small enough for a quick first load on a phone and large enough for
the lab's small CNN to learn the digits in a few epochs; the build logs the
bytes, and docs/lab.md "Train in the browser" has the accuracy it reaches.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.config import SubsetConfig
from pipeline.contract import IMAGE_SIZE, NUM_DIGITS
from pipeline.data import handwriting
from pipeline.data.mnist import Mnist

MANIFEST_FILE = "subset.json"
SAMPLES_FILE = "samples.json"
SAMPLE_DECIMALS = 3  # stroke coordinates, 0-1 of the digit's side: a thousandth is below a pixel of any pad
PIXELS = IMAGE_SIZE * IMAGE_SIZE  # pixels of one image = width of the sprite


class SubsetError(Exception):
    """The subset cannot be made as asked. One line for the user."""


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator, flag: str) -> np.ndarray:
    """Indices of `per_class` examples of every class, drawn at random, in shuffled order.

    labels: uint8, shape (N,), 0-9. Returns int64, shape (per_class * NUM_DIGITS,).
    Raises SubsetError (naming `flag`) when a class has fewer than `per_class` examples.
    """
    counts = np.bincount(labels, minlength=NUM_DIGITS)
    if per_class < 1 or per_class > counts.min():
        raise SubsetError(f"{flag} {per_class}: must be between 1 and {counts.min()} (the rarest digit's count)")
    picked = [rng.permutation(np.flatnonzero(labels == digit))[:per_class] for digit in range(NUM_DIGITS)]
    return rng.permutation(np.concatenate(picked))


def sprite_png(images: np.ndarray) -> bytes:
    """uint8 images, shape (N, 28, 28) -> a grayscale PNG of N rows × 784 columns."""
    buf = io.BytesIO()
    Image.fromarray(images.reshape(len(images), PIXELS), mode="L").save(buf, format="PNG", compress_level=6)  # level 9 buys little size for much more time
    return buf.getvalue()


def read_sprite(png: bytes) -> np.ndarray:
    """The inverse of `sprite_png`: uint8, shape (N, 28, 28)."""
    rows = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return rows.reshape(len(rows), IMAGE_SIZE, IMAGE_SIZE)


def write_subset(mnist: Mnist, out_dir: Path, config: SubsetConfig = SubsetConfig()) -> dict:
    """Write the sprites, labels and subset.json into `out_dir` (which must exist); returns the manifest."""
    rng = np.random.default_rng(config.seed)
    parts = {
        "train": (mnist.x_train, mnist.y_train, balanced_indices(mnist.y_train, config.train_per_class, rng, "--train-per-class")),
        "test": (mnist.x_test, mnist.y_test, balanced_indices(mnist.y_test, config.test_per_class, rng, "--test-per-class")),
    }
    manifest = {"imageSize": IMAGE_SIZE, "numClasses": NUM_DIGITS, "seed": config.seed, "source": mnist.source, "bytes": 0}
    for name, (images, labels, picked) in parts.items():
        files = {"images": f"{name}-images.png", "labels": f"{name}-labels.bin"}
        (out_dir / files["images"]).write_bytes(sprite_png(images[picked]))
        (out_dir / files["labels"]).write_bytes(labels[picked].astype(np.uint8).tobytes())
        manifest[name] = {"count": len(picked), "perClass": len(picked) // NUM_DIGITS, **files}
        manifest["bytes"] += sum((out_dir / f).stat().st_size for f in files.values())
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    test_images, test_labels, test_picked = parts["test"]
    (out_dir / SAMPLES_FILE).write_text(json.dumps(samples(test_images[test_picked], test_labels[test_picked]),
                                                   separators=(",", ":")) + "\n")
    return manifest


def samples(images: np.ndarray, labels: np.ndarray) -> dict:
    """The first image of each digit (uint8 (N, 28, 28), labels (N,)) as pen strokes in its unit box
    (pipeline/data/handwriting.py), digits in order 0-9: what samples.json holds."""
    digits = []
    for digit in range(NUM_DIGITS):
        (first,) = np.flatnonzero(labels == digit)[:1]
        strokes = handwriting.image_to_strokes(images[first]).paths
        digits.append({"label": str(digit),
                       "strokes": [np.round(path, SAMPLE_DECIMALS).tolist() for path in strokes]})
    return {"digits": digits}
