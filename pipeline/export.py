"""Export: Keras model -> SavedModel -> TensorFlow.js graph model, checked against Keras.

tfjs 4.22 cannot load Keras 3 *layers* models, so the route is
`model.export()` (SavedModel) -> `tensorflowjs_converter --input_format=tf_saved_model
--output_format=tfjs_graph_model` -> `tf.loadGraphModel` in the page.

After converting, the new model runs in Node with the page's own runtime
(@tensorflow/tfjs + wasm, `pipeline/predict_tfjs.mjs`) on the 10,000 test
images; the export fails unless its argmax agrees with Keras on at least
ExportConfig.min_agreement of them.

The model must be the one metrics.json describes (its SHA-256) and reach
ExportConfig.min_accuracy on the test images, or nothing is converted.

Reads:  ARTIFACTS/model.keras, ARTIFACTS/metrics.json (if there)
Writes: ARTIFACTS/tfjs/ (model.json, group1-shard*.bin, export.json, and for the
        model report evaluation.json + architecture.json: see pipeline/build/report.py), atomically.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline import artifacts
from pipeline.data import mnist
from pipeline.build import report as model_report
from pipeline.config import ExportConfig
from pipeline.artifacts import MODEL_FILE

QUANTIZE_FLAGS = {  # --quantize choice -> converter flag (with ='*': bare, it swallows the next path)
    "uint8": ["--quantize_uint8=*"],
    "float16": ["--quantize_float16=*"],
    "none": [],
}
PARITY_SCRIPT = Path(__file__).parent / "predict_tfjs.mjs"


class ExportError(Exception):
    """The export could not be made or failed its check. One line for the user."""


def converter_command(saved_model: Path, out_dir: Path, quantize: str) -> list[str]:
    """The tensorflowjs_converter command line for a SavedModel -> graph model conversion."""
    if quantize not in QUANTIZE_FLAGS:
        raise ExportError(f"--quantize: expected one of {', '.join(QUANTIZE_FLAGS)}, got {quantize!r}")
    beside_python = Path(sys.executable).parent / "tensorflowjs_converter"
    converter = str(beside_python) if beside_python.exists() else shutil.which("tensorflowjs_converter")
    if converter is None:
        raise ExportError("tensorflowjs_converter: not installed (pip install tensorflowjs)")
    return [
        converter,
        "--input_format=tf_saved_model",
        "--output_format=tfjs_graph_model",
        "--signature_name=serving_default",
        *QUANTIZE_FLAGS[quantize],
        str(saved_model),
        str(out_dir),
    ]


def predict_tfjs(model_dir: Path, images: np.ndarray, node_modules: Path) -> np.ndarray:
    """Run the tfjs graph model in `model_dir` on float32 (N, 28, 28, 1) images -> (N, 10)."""
    if shutil.which("node") is None:
        raise ExportError("node: not installed; it is needed to check the converted model")
    if not (node_modules / "@tensorflow" / "tfjs-backend-wasm").is_dir():
        raise ExportError(f"{node_modules}: @tensorflow/tfjs-backend-wasm missing (run `npm ci`)")
    with tempfile.TemporaryDirectory() as tmp:
        images_path, out_path = Path(tmp) / "images.f32", Path(tmp) / "probs.f32"
        np.ascontiguousarray(images, dtype="<f4").tofile(images_path)
        result = subprocess.run(
            ["node", str(PARITY_SCRIPT), str(model_dir), str(images_path), str(out_path), str(node_modules)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ExportError(f"tfjs check failed: {result.stderr.strip().splitlines()[-1:]}")
        return np.fromfile(out_path, dtype="<f4").reshape(len(images), -1)


def export(
    artifacts_dir: Path,
    config: ExportConfig = ExportConfig(),
    node_modules: Path = Path("node_modules"),
    data_path: Path | None = None,
    log=print,
) -> dict:
    """Convert ARTIFACTS/model.keras to ARTIFACTS/tfjs and check it; returns the report (export.json)."""
    model_path = artifacts_dir / MODEL_FILE
    if not model_path.is_file():
        raise ExportError(f"{model_path}: no trained model (run `pipeline train` first)")
    started = time.perf_counter()
    model_hash = artifacts.check_pair(artifacts_dir)
    model = artifacts.load_keras_model(model_path)
    digits = mnist.load_mnist(data_path, log=log)
    images, labels = digits.x_test[: config.parity_images], digits.y_test[: config.parity_images]
    x_test = mnist.to_model_input(images)
    keras_probs = model.predict(x_test, batch_size=1000, verbose=0)
    keras_accuracy = float(np.mean(keras_probs.argmax(1) == labels))
    artifacts.check_accuracy(keras_accuracy, f"{model_path} (on {len(labels):,} MNIST test images)", config.min_accuracy)

    with artifacts.replacing_dir(artifacts_dir / artifacts.TFJS_DIR) as out:
        convert(model, out, config.quantize)
        log(f"export: converted {model_path} to a tfjs graph model (quantize {config.quantize})")
        tfjs_probs = predict_tfjs(out, x_test, node_modules)
        report = check_parity(keras_probs, tfjs_probs, labels, config, log)
        weight_bytes = sum(p.stat().st_size for p in out.glob("*.bin"))
        report.update(model_bytes=weight_bytes + (out / artifacts.TFJS_MODEL_FILE).stat().st_size, weight_bytes=weight_bytes,
                      export_seconds=round(time.perf_counter() - started, 1), keras_test_accuracy=keras_accuracy,
                      **{artifacts.MODEL_HASH: model_hash})
        artifacts.write_json(out / artifacts.REPORT_FILE, report)
        # The model report reuses the check's tfjs predictions: the shipped model, evaluated once.
        runtime = f"TensorFlow.js (wasm, Node), weights {config.quantize}"
        artifacts.write_json(out / artifacts.EVALUATION_FILE,
                             model_report.evaluation(labels, tfjs_probs, images, runtime))
        artifacts.write_json(out / artifacts.ARCHITECTURE_FILE, model_report.architecture(model))
    log(f"export: wrote {artifacts_dir / artifacts.TFJS_DIR} ({report['model_bytes'] / 1024:.0f} KiB)")
    return report


def convert(model, out_dir: Path, quantize: str) -> None:
    """Write `model` (Keras) into `out_dir` as a tfjs graph model, through a temporary SavedModel."""
    with tempfile.TemporaryDirectory() as tmp:
        saved_model = Path(tmp) / "saved_model"
        model.export(str(saved_model), format="tf_saved_model", verbose=False)
        result = subprocess.run(converter_command(saved_model, out_dir, quantize), capture_output=True, text=True)
    if result.returncode != 0:
        raise ExportError(f"tensorflowjs_converter failed: {result.stderr.strip().splitlines()[-1:]}")


def check_parity(keras_probs: np.ndarray, tfjs_probs: np.ndarray, labels: np.ndarray, config: ExportConfig,
                 log=print) -> dict:
    """Compare (N, 10) probabilities of Keras and tfjs on the same images (labels: uint8 (N,)).

    Returns the report's parity fields; ExportError when the argmax agrees on less than
    config.min_agreement of the images.
    """
    agreement = float(np.mean(keras_probs.argmax(1) == tfjs_probs.argmax(1)))
    max_diff = float(np.abs(keras_probs - tfjs_probs).max())
    tfjs_accuracy = float(np.mean(tfjs_probs.argmax(1) == labels))
    log(
        f"export: tfjs vs Keras on {len(labels)} test images: argmax agreement {agreement:.4%}, "
        f"largest probability difference {max_diff:.2e}, tfjs accuracy {tfjs_accuracy:.4%}"
    )
    if agreement < config.min_agreement:
        raise ExportError(
            f"converted model disagrees with Keras on {1 - agreement:.3%} of test images "
            f"(allowed {1 - config.min_agreement:.3%}); nothing was replaced"
        )
    return {
        "quantize": config.quantize,
        "parity_images": len(labels),
        "argmax_agreement": agreement,
        "max_probability_difference": max_diff,
        "tfjs_test_accuracy": tfjs_accuracy,
    }
