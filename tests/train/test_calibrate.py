"""The calibration step of training (pipeline/train/loop.py: calibrate) on a one-layer model whose true
over-confidence is known: the saved model's own probabilities must come out calibrated, not only the
figures metrics.json records about them."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from pipeline import calibration
from pipeline.train.loop import calibrate
from pipeline.train.model import OUTPUT_LAYER

OVERCONFIDENCE = 3.0  # the model's logits are this many times those its labels are drawn from


def overconfident_model_and_data(n: int, seed: int = 0):
    """(model, images, labels): a Flatten + Dense softmax model named like the real one's last layer, and
    labels drawn from softmax(logits / OVERCONFIDENCE), so the model is too sure by that factor."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax", name=OUTPUT_LAYER)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.get_layer(OUTPUT_LAYER).set_weights([rng.normal(0, 0.5, (784, 10)).astype("float32"),
                                               rng.normal(0, 1, 10).astype("float32")])
    images = rng.random((n, 28, 28, 1)).astype("float32")
    honest = calibration.scaled(model.predict(images, verbose=0), OVERCONFIDENCE)
    labels = (honest.cumsum(1) < rng.random((n, 1))).sum(1).clip(0, 9)
    return model, images, labels


def test_the_saved_model_s_own_probabilities_are_calibrated(tmp_path):
    model, images, labels = overconfident_model_and_data(3000)
    before = model.predict(images, verbose=0)
    lines = []
    result = calibrate(model, images, labels, 1, log=lines.append)
    model.save(tmp_path / "model.keras")
    saved = keras.saving.load_model(tmp_path / "model.keras").predict(images, verbose=0)

    assert result["temperature"] == pytest.approx(OVERCONFIDENCE, rel=0.1)
    assert calibration.expected_calibration_error(before, labels) > 0.1
    # measured on what the saved model itself answers, not recomputed from the unsaved probabilities
    assert calibration.expected_calibration_error(saved, labels) < 0.03
    assert np.allclose(saved, calibration.scaled(before, result["temperature"]), atol=1e-5)
    assert np.array_equal(saved.argmax(1), before.argmax(1))
    # what metrics.json records: the figures of the probabilities before and after, on the validation labels
    assert result == {
        "temperature": result["temperature"], "fitted_on": "3000 validation images",
        "validation_ece_before": pytest.approx(calibration.expected_calibration_error(before, labels), abs=1e-6),
        "validation_ece_after": pytest.approx(calibration.expected_calibration_error(saved, labels), abs=1e-3),
        "validation_nll_before": pytest.approx(calibration.negative_log_likelihood(before, labels), abs=1e-6),
        "validation_nll_after": pytest.approx(calibration.negative_log_likelihood(saved, labels), abs=1e-3)}
    assert lines == [f"calibration: temperature {result['temperature']:.3f}; validation ECE "
                     f"{result['validation_ece_before']:.2%} -> {result['validation_ece_after']:.2%}"]


def test_without_validation_images_the_model_is_left_as_it_is():
    model, images, _ = overconfident_model_and_data(50)
    before = model.predict(images, verbose=0)
    lines = []
    assert calibrate(model, images[:0], np.zeros(0, int), 1, log=lines.append) is None
    assert lines == ["calibration: none (no validation images; --validation-size 0)"]
    assert np.array_equal(model.predict(images, verbose=0), before)
