"""The model report: what export measured about the shipped model, turned into data the report page draws.

Two halves, on either side of the file hand-over:

- at export (`evaluation`, `architecture`): the tfjs model's own predictions on
  the 10,000 test images (the ones export's parity check already computed) and
  the Keras model's layers, written to ARTIFACTS/tfjs/evaluation.json and
  ARTIFACTS/tfjs/architecture.json;
- at build (`write_report`): metrics.json + evaluation.json + architecture.json
  + export.json -> dist/report.json and dist/report/digits.png, a sprite of
  every digit the page shows, so the build needs no MNIST.

The digits shown carry their pixels inside evaluation.json (base64, 784 uint8,
white ink on black) for that reason.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline import artifacts
from pipeline.artifacts import ARCHITECTURE_FILE, EVALUATION_FILE, NUMBER
from pipeline.contract import IMAGE_SIZE, LABELS

REPORT_JSON = "report.json"  # in dist/, read by the report page
SPRITE_FILE = "report/digits.png"  # in dist/: the shown digits, side by side
GRID_DIGITS = 15  # the page's 3×5 grid of test digits
MISTAKES = 12  # the most confident mistakes kept
SAMPLE_SEED = 20260  # picks the grid's digits; fixed so rebuilds show the same ones
DIGIT_SHAPE = {"index": int, "true": int, "predicted": int, "confidence": NUMBER, "pixels": str}
SHAPES = {  # what the build and the report page read from each file (artifacts.check_fields)
    EVALUATION_FILE: {"images": int, "accuracy": NUMBER, "loss": NUMBER, "per_class": [{}], "confusion_matrix": list,
                      "runtime": str, "mistakes": [DIGIT_SHAPE], "sample": [DIGIT_SHAPE]},
    ARCHITECTURE_FILE: {"layers": [{"name": str, "type": str, "output_shape": list, "parameters": int}],
                        "parameters": int},
}
LICENCE = {
    "data": "MNIST",
    "holders": "Yann LeCun and Corinna Cortes",
    "licence": "CC BY-SA 3.0",
    "url": "https://creativecommons.org/licenses/by-sa/3.0/",
}


# ------------------------------------------------------------------ at export
def evaluation(y_true: np.ndarray, probabilities: np.ndarray, images: np.ndarray, runtime: str) -> dict:
    """The evaluation the report shows, from one model's predictions on the test set.

    y_true: int (N,), the test labels; probabilities: float32 (N, 11), the model's
    outputs; images: uint8 (N, 28, 28), white ink on black, 0–255 (the pixels of
    the digits listed are embedded); runtime: what made the predictions, in words.
    Returns accuracy, loss, per-class precision/recall, the confusion matrix
    (rows: true digit, columns: predicted), `mistakes` (the MISTAKES most confident
    wrong predictions, most confident first) and `sample` (GRID_DIGITS test digits
    drawn at random with a fixed seed, right or wrong, in index order).
    """
    from pipeline.tools.evaluate import summarize  # here, not at the top: the build imports this module without TensorFlow

    y_true = np.asarray(y_true).astype(np.int64)
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    wrong = np.flatnonzero(predicted != y_true)
    most_confident = wrong[np.argsort(-confidence[wrong], kind="stable")][:MISTAKES]
    sample = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(y_true), min(GRID_DIGITS, len(y_true)), replace=False))

    def digit(i: int) -> dict:
        return {
            "index": int(i),  # position in the MNIST test set (t10k), 0-based
            "true": int(y_true[i]),
            "predicted": int(predicted[i]),
            "confidence": float(confidence[i]),  # the model's probability of `predicted`
            "pixels": base64.b64encode(np.ascontiguousarray(images[i], dtype=np.uint8).tobytes()).decode(),
        }

    return {
        **summarize(y_true, probabilities),
        "runtime": runtime,
        "mistakes": [digit(i) for i in most_confident],
        "sample": [digit(i) for i in sample],
    }


def architecture(model) -> dict:
    """A Keras model's layers: name, type, output shape (batch as null) and parameter count."""
    layers = []
    for layer in model.layers:
        shape = layer.output.shape
        layers.append({
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": [None if d is None else int(d) for d in shape],
            "parameters": int(layer.count_params()),
        })
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    return {"name": model.name, "layers": layers, "parameters": total, "trainable_parameters": trainable}


# ------------------------------------------------------------------- at build
def write_report(tfjs_dir: Path, metrics: dict, export_report: dict, out_dir: Path, log=print) -> dict:
    """Write out_dir/report.json (and the digit sprite) from the artefacts; returns the report.

    tfjs_dir: ARTIFACTS/tfjs (evaluation.json, architecture.json); metrics: metrics.json;
    export_report: export.json (model size), {} if absent. Artefacts from an export
    older than the report have no evaluation: the report then says so (`available`
    false) and the build goes on. A corrupt one is an ArtifactError naming it.
    """
    missing = [n for n in (EVALUATION_FILE, ARCHITECTURE_FILE) if not (tfjs_dir / n).is_file()]
    if missing:
        log(f"build: {tfjs_dir / missing[0]} missing, the report page will say so (rerun `pipeline export`)")
        report = {"available": False, "reason": f"{missing[0]} missing: run `pipeline export` again", "licence": LICENCE}
    else:
        read = {name: _read_checked(tfjs_dir / name) for name in (EVALUATION_FILE, ARCHITECTURE_FILE)}
        report = page_report(metrics, read[EVALUATION_FILE], read[ARCHITECTURE_FILE], export_report)
        try:
            sprite = sprite_png(report["sprite"]["pixels"])
        except ValueError as err:  # binascii.Error too: pixels that are not base64
            raise artifacts.ArtifactError(f"{tfjs_dir / EVALUATION_FILE}: a digit's pixels are unreadable ({err})") from None
        (out_dir / SPRITE_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / SPRITE_FILE).write_bytes(sprite)
        del report["sprite"]["pixels"]
    (out_dir / REPORT_JSON).write_text(json.dumps(report, indent=1) + "\n")
    return report


def check_files(tfjs_dir: Path) -> None:
    """Read and check evaluation.json and architecture.json where they are, so that a corrupt one stops the
    build before it writes anything (ArtifactError naming the file)."""
    for name in SHAPES:
        if (tfjs_dir / name).is_file():
            _read_checked(tfjs_dir / name)


def _read_checked(path: Path) -> dict:
    """evaluation.json or architecture.json, read and checked against SHAPES; ArtifactError naming it."""
    value = artifacts.read_json(path)
    artifacts.check_fields(value, SHAPES[path.name], path)
    return value


def page_report(metrics: dict, evaluation: dict, architecture: dict, export_report: dict) -> dict:
    """What the report page draws (pure: dicts in, dict out).

    Digits refer to cells of the sprite by `cell` (0-based, left to right);
    report["sprite"]["pixels"] holds their base64 pixels for `sprite_png`.
    """
    pixels: list[str] = []

    def shown(d: dict) -> dict:
        pixels.append(d["pixels"])
        return {k: d[k] for k in ("index", "true", "predicted", "confidence")} | {"cell": len(pixels) - 1}

    history = [
        {k: row[k] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy") if k in row}
        for row in metrics.get("history", [])
    ]
    return {
        "available": True,
        "labels": [*LABELS, "?"],  # the digits, then what the model's last output is shown as: not a digit
        "history": history,
        "keras_test_accuracy": metrics.get("test_accuracy"),
        "evaluation": {
            k: evaluation[k] for k in ("images", "accuracy", "loss", "per_class", "confusion_matrix", "runtime")
        },
        "grid": [shown(d) for d in evaluation["sample"]],
        "mistakes": [shown(d) for d in evaluation["mistakes"]],
        "architecture": architecture,
        "model": {k: export_report[k] for k in ("model_bytes", "weight_bytes", "quantize") if k in export_report},
        "licence": LICENCE,
        "sprite": {"url": SPRITE_FILE, "cell_size": IMAGE_SIZE, "cells": len(pixels), "pixels": pixels},
    }


def sprite_png(cells: list[str]) -> bytes:
    """A greyscale PNG, 28 px high, of the base64 28×28 uint8 images side by side (cell i at x = 28·i)."""
    strip = np.zeros((IMAGE_SIZE, IMAGE_SIZE * max(1, len(cells))), dtype=np.uint8)
    for i, cell in enumerate(cells):
        image = np.frombuffer(base64.b64decode(cell, validate=True), dtype=np.uint8)
        if image.size != IMAGE_SIZE * IMAGE_SIZE:
            raise ValueError(f"sprite cell {i}: {image.size} pixels, expected {IMAGE_SIZE * IMAGE_SIZE}")
        strip[:, i * IMAGE_SIZE : (i + 1) * IMAGE_SIZE] = image.reshape(IMAGE_SIZE, IMAGE_SIZE)
    out = io.BytesIO()
    Image.fromarray(strip, mode="L").save(out, format="PNG", optimize=True)
    return out.getvalue()
