"""The non-digits (pipeline/data/nondigits.py): seeded, MNIST-shaped, and in two sets that share nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.contract import FIT_SIZE, IMAGE_SIZE
from pipeline.data import nondigits, sources


def test_trained_and_held_out_kinds_share_nothing():
    assert not set(nondigits.TRAINED) & set(nondigits.HELD_OUT)
    assert set(nondigits.TRAINED) | set(nondigits.HELD_OUT) == {*nondigits.OWN, *sources.SOURCES}


def test_labelled_draws_the_source_share_from_sources(mnist):
    """SOURCE_SHARE of the drawings come from the trained sources, the rest from the kinds written here."""
    digits, labels = mnist.x_train[:500], mnist.y_train[:500]
    images, y = nondigits.labelled(40, 11, digits, labels)
    own = nondigits.generate(40 - round(nondigits.SOURCE_SHARE * 40), 11, nondigits.OWN, digits[labels != 1])
    others = nondigits.generate(round(nondigits.SOURCE_SHARE * 40), 11, sources.TRAINED)
    assert np.array_equal(images, np.concatenate([own, others])) and set(y) == {10}


def test_the_same_seed_draws_the_same_images_and_another_seed_others(mnist):
    digits = mnist.x_train[:500][mnist.y_train[:500] != 1]
    first = nondigits.generate(48, 7, nondigits.TRAINED, digits)
    assert first.shape == (48, IMAGE_SIZE, IMAGE_SIZE) and first.dtype == np.uint8
    assert np.array_equal(first, nondigits.generate(48, 7, nondigits.TRAINED, digits))
    assert not np.array_equal(first, nondigits.generate(48, 8, nondigits.TRAINED, digits))


@pytest.mark.parametrize("kind", sorted(nondigits.STROKE_KINDS))
def test_every_kind_is_an_mnist_style_image(kind):
    """Inked, fitted to the 20-pixel box and centred by mass, as the page preprocesses a drawing."""
    for image in nondigits.generate(12, 3, (kind,)):
        rows, cols = np.nonzero(image)
        assert image.max() > 128, "real ink"
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in (FIT_SIZE, FIT_SIZE + 1)
        ys, xs = np.indices(image.shape)
        mass = image.astype(float).sum()
        centre = ((image * (ys + 0.5)).sum() / mass, (image * (xs + 0.5)).sum() / mass)
        assert np.allclose(centre, IMAGE_SIZE / 2, atol=1.0)


def test_kinds_vary_from_drawing_to_drawing():
    for kind in nondigits.STROKE_KINDS:
        images = nondigits.generate(6, 5, (kind,))
        assert len({image.tobytes() for image in images}) >= 5, kind  # one lone dot is always the same disk


def test_overlapping_digits_need_digits_and_differ_from_either():
    with pytest.raises(ValueError, match="needs MNIST digits"):
        nondigits.generate(2, 0, (nondigits.OVERLAP,))
    a, b = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
    a[4:24, 12:15] = 255  # a bar
    b[4:7, 6:22] = 255  # a dash on top
    image = nondigits.overlapping_digits(np.random.default_rng(0), np.stack([a, b]))
    assert image.shape == (28, 28) and image.max() > 128


def test_strokes_for_the_page_fill_the_unit_box():
    for kind in nondigits.HELD_OUT[:3]:
        paths = nondigits.strokes(kind, 1)
        points = np.concatenate(paths)
        assert points.min() == pytest.approx(0, abs=1e-9) and points.max() == pytest.approx(1)


@pytest.mark.slow  # the run's real model
def test_the_real_model_says_not_a_digit_for_fresh_drawings_and_rarely_for_digits(trained_artifacts, mnist):
    """The 11th class is learnt: new drawings of the trained kinds (a seed training never used) are shown as ?,
    MNIST test digits almost never; metrics.json reports each source training never saw, and each trained one."""
    from pipeline import calibration
    from pipeline.artifacts import load_keras_model
    from pipeline.contract import NOT_A_DIGIT
    from pipeline.data.mnist import to_model_input

    model = load_keras_model(trained_artifacts / "model.keras")
    kinds = tuple(k for k in nondigits.TRAINED if k != nondigits.OVERLAP)
    drawings = model.predict(to_model_input(nondigits.generate(20 * len(kinds), 987_654, kinds)), verbose=0)
    doubted = np.mean([calibration.judge(p)["shown"] == "?" for p in drawings])
    digits = model.predict(to_model_input(mnist.x_test[:2000]), verbose=0)
    assert doubted >= 0.9, f"only {doubted:.0%} of fresh non-digits shown as ?"
    assert np.mean(digits.argmax(1) == NOT_A_DIGIT) <= 0.01
    metrics = json.loads((trained_artifacts / "metrics.json").read_text())
    for key, names in (("nondigits_held_out", sources.HELD_OUT), ("nondigits_trained_sources", sources.TRAINED)):
        figures = metrics[key]
        assert set(figures["sources"]) == set(names) and figures["images"] == 200 * len(names)
        assert figures["doubted"] == pytest.approx(np.mean(list(figures["sources"].values())))
