"""Evaluate: the trained model on the 10,000 MNIST test images.

Reads ARTIFACTS/model.keras; returns accuracy (the argmax of all eleven
outputs, "not a digit" included), the accuracy of the likeliest of the ten
digits alone, how often the page would show the right digit (a "?", the doubt
of pipeline/calibration.py, counts wrong), loss, per-class precision,
recall and F1, the confusion matrix (rows: true digit, columns: predicted) and
how far the probabilities are to be trusted: the expected calibration error and
the reliability table behind it (pipeline/calibration.py; training calibrates
the model it writes).
Precision of digit d: of the images read as d, the fraction that are d;
recall: of the images of d, the fraction read as d; F1: their harmonic mean.
A digit never predicted (or never present) gets 0 rather than NaN.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline import artifacts, calibration
from pipeline.data import mnist as data
from pipeline.contract import LABELS, NUM_CLASSES, NUM_DIGITS
from pipeline.artifacts import MODEL_FILE  # not from train: the build (report) needs no TensorFlow


class EvaluateError(Exception):
    """No model to evaluate. One line for the user."""


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """int64 (10, 11): entry [t, p] counts images of digit t read as p; the last column, "not a digit"."""
    return np.bincount(y_true.astype(np.int64) * NUM_CLASSES + y_pred, minlength=NUM_DIGITS * NUM_CLASSES).reshape(
        NUM_DIGITS, NUM_CLASSES
    )


def summarize(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, loss, per-digit precision/recall and confusion matrix from (N, 11) probabilities."""
    y_pred = probabilities.argmax(1)
    matrix = confusion_matrix(y_true, y_pred)
    correct = np.diag(matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(correct / matrix.sum(0)[:NUM_DIGITS])
        recall = np.nan_to_num(correct / matrix.sum(1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    picked = probabilities[np.arange(len(y_true)), y_true.astype(np.int64)]
    shown = calibration.shown_digits(probabilities)
    return {
        "images": int(len(y_true)),
        "accuracy": float(correct.sum() / len(y_true)),
        "digit_accuracy": float(np.mean(probabilities[:, :NUM_DIGITS].argmax(1) == y_true)),
        "shown_accuracy": float(np.mean(shown == y_true)),
        "doubted": float(np.mean(shown == -1)),
        "loss": float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0)))),
        "per_class": [
            {"digit": LABELS[d], "precision": float(precision[d]), "recall": float(recall[d]),
             "f1": float(f1[d]), "support": int(matrix[d].sum())}
            for d in range(NUM_DIGITS)
        ],
        "confusion_matrix": matrix.tolist(),
        "calibration_error": calibration.expected_calibration_error(probabilities, y_true),
        "reliability": calibration.reliability(probabilities, y_true),
    }


def evaluate(artifacts_dir: Path, data_path: Path | None = None, log=lambda *a: None) -> dict:
    """Predict all test images with ARTIFACTS/model.keras and summarise."""
    model_path = artifacts_dir / MODEL_FILE
    if not model_path.is_file():
        raise EvaluateError(f"{model_path}: no trained model (run `pipeline train` first)")
    artifacts.check_pair(artifacts_dir)
    model = artifacts.load_keras_model(model_path)  # before the data: a broken model fails without a download
    mnist = data.load_mnist(data_path, log=log)
    probabilities = model.predict(data.to_model_input(mnist.x_test), batch_size=1000, verbose=0)
    return summarize(mnist.y_test, probabilities)


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2)


def to_text(result: dict) -> str:
    """A readable report: accuracy, a per-class table and the confusion matrix."""
    lines = [f"accuracy {result['accuracy']:.4%}  loss {result['loss']:.4f}  on {result['images']} test images",
             f"the likeliest of the ten digits right: {result['digit_accuracy']:.2%}; the page shows the right digit: "
             f"{result['shown_accuracy']:.2%} (shows ? for {result['doubted']:.2%})", ""]
    lines.append("digit  precision  recall      F1  support")
    for row in result["per_class"]:
        lines.append(
            f"{row['digit']:>5}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}  {row['support']:7d}"
        )
    lines += ["", "confusion matrix (rows: true digit, columns: read as; ?: not a digit)",
              "true  " + "".join(f"{d:>6}" for d in (*LABELS, "?")) + "   total"]
    for d, row in zip(LABELS, result["confusion_matrix"]):
        lines.append(f"{d:>4}  " + "".join(f"{c:>6}" if c else f"{'.':>6}" for c in row) + f"{sum(row):>8}")
    lines.append("total " + "".join(f"{c:>6}" for c in np.sum(result["confusion_matrix"], 0)) + f"{result['images']:>8}")
    return "\n".join(lines + ["", *reliability_text(result)])


def reliability_text(result: dict) -> list[str]:
    """The calibration error and, per bin of the top probability, how often the model was right."""
    lines = [f"calibration error (ECE, {calibration.BINS} bins of the top probability): {result['calibration_error']:.2%}",
             "top probability   images   mean   right"]
    for row in result["reliability"]:
        lines.append(f"{row['low']:6.1%} - {row['high']:6.1%}  {row['images']:7d}  {row['confidence']:5.1%}  {row['accuracy']:6.1%}")
    return lines
