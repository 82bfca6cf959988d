"""MNIST digits redrawn with a pen (pipeline/data/redrawn.py): the same digit, the pen's width, seeded, cached."""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from pipeline.contract import IMAGE_SIZE
from pipeline.data import redrawn


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1) / 255.0


def _share_near(ink: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each image of bool masks `ink` (N, H, W): the share of its ink within 2 px of the `other` image's ink
    (a redrawn digit is centred anew, so it may sit a pixel off)."""
    near = np.stack([scipy.ndimage.binary_dilation(mask, iterations=2) for mask in other])
    return (ink & near).sum(axis=(1, 2)) / ink.sum(axis=(1, 2))


def test_a_redrawn_digit_is_its_own_digit_in_a_pen_of_the_given_width(mnist):
    sources = mnist.x_train[:40]
    thin = np.stack([redrawn.redraw(image, 0.08) for image in sources])
    wide = np.stack([redrawn.redraw(image, 0.17) for image in sources])
    assert thin.shape == (40, IMAGE_SIZE, IMAGE_SIZE) and thin.dtype == np.uint8
    assert (wide > 127).sum(axis=(1, 2)).mean() > 1.3 * (thin > 127).sum(axis=(1, 2)).mean()
    for pen_drawn in (thin, wide):  # drawn along the source's strokes: its ink near theirs, and theirs near its
        ink, source_ink = pen_drawn > 127, sources > 127
        assert _share_near(ink, source_ink).mean() >= 0.95 and _share_near(source_ink, ink).mean() >= 0.9
        assert _share_near(ink, np.roll(source_ink, 1, axis=0)).mean() < 0.8  # a digit's neighbour is not near


def test_a_speck_cannot_be_traced():
    speck = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    speck[14, 14] = 255
    assert redrawn.redraw(speck, 0.12) is None


def test_labelled_is_seeded_keeps_the_labels_and_caches(mnist, tmp_path):
    digits, labels = mnist.x_train[:300], mnist.y_train[:300]
    lines = []
    images, got = redrawn.labelled(24, 5, digits, labels, lines.append, tmp_path)
    assert images.shape == (24, IMAGE_SIZE, IMAGE_SIZE) and len(got) == 24
    assert lines == ["data: tracing 24 training digits to draw them again with a pen (once: cached)",
                     f"data: 24 training digits redrawn with a pen, cached in {tmp_path}"]
    # the label of each is the label of the MNIST digit it is closest to
    nearest = ((_flat(images)[:, None] - _flat(digits)[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (labels[nearest] == got).mean() >= 0.9

    lines.clear()
    again = redrawn.labelled(24, 5, digits, labels, lines.append, tmp_path)
    assert lines == [f"data: 24 training digits redrawn with a pen, from the cache {tmp_path}"]
    assert np.array_equal(again[0], images) and np.array_equal(again[1], got)
    other = redrawn.labelled(24, 6, digits, labels, lines.append, tmp_path)
    assert not np.array_equal(other[0], images)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_damaged_cache_is_said_and_drawn_again(mnist, tmp_path):
    digits, labels = mnist.x_train[:100], mnist.y_train[:100]
    first = redrawn.labelled(6, 1, digits, labels, lambda *_: None, tmp_path)
    (cached,) = tmp_path.glob("*.npz")
    for damage in (b"PK\x03\x04 not a zip", b"", cached.read_bytes()[:100]):
        cached.write_bytes(damage)
        lines = []
        again = redrawn.labelled(6, 1, digits, labels, lines.append, tmp_path)
        assert np.array_equal(again[0], first[0])
        assert lines[0].startswith(f"data: redrawn digits' cache {cached} unusable, drawing again")
        assert lines[2] == f"data: 6 training digits redrawn with a pen, cached in {tmp_path}"


def test_none_asked_none_drawn(mnist, tmp_path):
    images, labels = redrawn.labelled(0, 1, mnist.x_train[:10], mnist.y_train[:10], print, tmp_path)
    assert images.shape == (0, IMAGE_SIZE, IMAGE_SIZE) and labels.shape == (0,)
    assert not any(tmp_path.iterdir())
