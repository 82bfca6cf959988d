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

The graph model has two outputs: the probabilities, and the features (the
input of the model's last layer, a Dense softmax). Beside it go the files the
page needs to learn a visitor's hand (site_template/js/adapt.js): the last
layer's weights in float32 and the features of a few MNIST training digits per
class and of as many generated non-digits, computed by the converted model
itself, which the page replays so that a correction does not make it forget
MNIST, or what is not a digit. A head reads, beside the features, a block: the
network view's last pooling layer, projected on ExportConfig.block_directions
fixed random directions by js/adapt.js itself (run in Node here, in the worker
on the page). They carry the features' version: a hash of every weight before
the last layer and of the block's description, so that a visitor's personal
head is only ever used on the features it was trained on.

Reads:  ARTIFACTS/model.keras, ARTIFACTS/metrics.json (if there)
Writes: ARTIFACTS/tfjs/ (model.json, group1-shard*.bin, export.json, adapt.json + adapt.bin,
        network.json + network.png for the network view (pipeline/network.py),
        and for the model report evaluation.json + architecture.json: see pipeline/build/report.py),
        atomically.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline import artifacts, network
from pipeline.data import cache, mnist, nondigits
from pipeline.build import report as model_report
from pipeline.config import ExportConfig
from pipeline.artifacts import MODEL_FILE
from pipeline.contract import FEATURES_OUTPUT, NUM_DIGITS, PROBABILITIES_OUTPUT

REPLAY_SEED = 0  # seeds the replayed digits' pick and the generated non-digits
BLOCK_SEED = 1  # seeds the block's random projection (js/adapt.js projection)

# --quantize choice -> converter flag (with ='*': bare, it swallows the next path), coarsest first: a failed parity
# check names the next one (a model trained briefly has many test images near its decision boundaries)
QUANTIZE_FLAGS = {
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


def predict_tfjs(model_dir: Path, images: np.ndarray, node_modules: Path,
                 block: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Run the tfjs graph model in `model_dir` on float32 (N, 28, 28, 1) images -> (probabilities (N, 10),
    features (N, F), and with `block` (js/adapt.js's Block) its projected values (N, directions), else None)."""
    if shutil.which("node") is None:
        raise ExportError("node: not installed; it is needed to check the converted model")
    if not (node_modules / "@tensorflow" / "tfjs-backend-wasm").is_dir():
        raise ExportError(f"{node_modules}: @tensorflow/tfjs-backend-wasm missing (run `npm ci`)")
    with tempfile.TemporaryDirectory() as tmp:
        images_path, probs_path, features_path, block_path = (
            Path(tmp) / name for name in ("images.f32", "probs.f32", "features.f32", "block.f32"))
        np.ascontiguousarray(images, dtype="<f4").tofile(images_path)
        result = subprocess.run(
            ["node", str(PARITY_SCRIPT), str(model_dir), str(images_path), str(probs_path), str(features_path),
             str(node_modules), *([json.dumps(block), str(block_path)] if block else [])],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ExportError(f"tfjs check failed: {result.stderr.strip().splitlines()[-1:]}")
        probabilities, features, projected = (np.fromfile(path, dtype="<f4").reshape(len(images), -1) if path else None
                                              for path in (probs_path, features_path, block and block_path))
        return probabilities, features, projected


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
        tfjs_probs, _, _ = predict_tfjs(out, x_test, node_modules)
        report = check_parity(keras_probs, tfjs_probs, labels, config, log)
        try:
            report.update(network.write_network_files(model, out, digits.x_test, node_modules, log))
        except network.NetworkError as err:
            raise ExportError(str(err)) from None
        report.update(write_adapt_files(model, out, digits, config, node_modules, log))  # its block: a layer network.json matched
        weight_bytes = sum(p.stat().st_size for p in out.glob(artifacts.TFJS_SHARDS))
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


def head_layer(model):
    """The model's last layer, which the page adapts: a Dense layer with a softmax, or ExportError."""
    head = model.layers[-1]
    if type(head).__name__ != "Dense" or getattr(head.activation, "__name__", "") != "softmax":
        raise ExportError(f"the model's last layer ({head.name}) is not a Dense softmax layer: "
                          "the page could not learn a visitor's hand on it")
    return head


def convert(model, out_dir: Path, quantize: str) -> None:
    """Write `model` (Keras) into `out_dir` as a tfjs graph model with two outputs (probabilities,
    features: see pipeline/contract.py), through a temporary SavedModel."""
    import keras

    outputs = {PROBABILITIES_OUTPUT: model.output, FEATURES_OUTPUT: head_layer(model).input}
    with tempfile.TemporaryDirectory() as tmp:
        saved_model = Path(tmp) / "saved_model"
        keras.Model(model.input, outputs).export(str(saved_model), format="tf_saved_model", verbose=False)
        result = subprocess.run(converter_command(saved_model, out_dir, quantize), capture_output=True, text=True)
    if result.returncode != 0:
        raise ExportError(f"tensorflowjs_converter failed: {result.stderr.strip().splitlines()[-1:]}")


def check_parity(keras_probs: np.ndarray, tfjs_probs: np.ndarray, labels: np.ndarray, config: ExportConfig,
                 log=print) -> dict:
    """Compare (N, 11) probabilities of Keras and tfjs on the same images (labels: uint8 (N,)).

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
        choices = list(QUANTIZE_FLAGS)
        finer = choices[choices.index(config.quantize) + 1] if config.quantize in choices[:-1] else None
        raise ExportError(
            f"converted model disagrees with Keras on {1 - agreement:.3%} of test images "
            f"(allowed {1 - config.min_agreement:.3%}); nothing was replaced"
            + (f"; --quantize {finer} keeps the weights closer to Keras's" if finer else "")
        )
    return {
        "quantize": config.quantize,
        "parity_images": len(labels),
        "argmax_agreement": agreement,
        "max_probability_difference": max_diff,
        "tfjs_test_accuracy": tfjs_accuracy,
    }


def features_version(model, block: dict | None = None) -> str:
    """A hash of every weight before the model's last layer and of `block` (adapt.json's): equal hashes, equal
    features."""
    digest = hashlib.sha256()
    if block is not None:
        digest.update(json.dumps(block, sort_keys=True).encode() + b"\0")
    head = head_layer(model)
    for layer in model.layers:
        if layer is not head:
            for weight in layer.weights:
                digest.update(weight.path.encode() + b"\0")
                digest.update(np.ascontiguousarray(np.asarray(weight), dtype="<f4").tobytes())
    return digest.hexdigest()[:16]


def replay_picks(labels: np.ndarray, per_class: int, seed: int = REPLAY_SEED) -> np.ndarray:
    """`per_class` indices of each digit in `labels`, class by class (fewer where a class has fewer)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.sort(rng.permutation(np.flatnonzero(labels == digit))[:per_class])
                           for digit in range(NUM_DIGITS)])


def replay_images(digits, per_class: int, log=print) -> tuple[np.ndarray, np.ndarray]:
    """What the page replays while it adapts: `per_class` MNIST training digits of each digit, then as many
    generated non-digits (nondigits.TRAINED); (uint8 (N, 28, 28), uint8 labels (N,))."""
    picks = replay_picks(digits.y_train, per_class)
    others, other_labels = nondigits.labelled(per_class, REPLAY_SEED, digits.x_train, digits.y_train,
                                              cache_dir=cache.folder(nondigits.FOLDER), log=log)
    return np.concatenate([digits.x_train[picks], others]), np.concatenate([digits.y_train[picks], other_labels])


def block_layer(out_dir: Path, directions: int) -> dict | None:
    """The block a head reads beside the features, before its scales (js/adapt.js's Block): the last pooling layer
    of network.json (written by network.write_network_files into `out_dir`), projected on `directions`; None for
    0 directions or a model without one."""
    pools = [layer for layer in artifacts.read_json(out_dir / artifacts.NETWORK_JSON)["layers"] if layer["kind"] == "pool"]
    if not directions or not pools:
        return None
    last = pools[-1]
    return {"node": last["node"], "relu": last["relu"], "inputs": int(np.prod(last["shape"])), "directions": directions,
            "seed": BLOCK_SEED}


def write_adapt_files(model, out_dir: Path, digits, config: ExportConfig, node_modules: Path, log=print) -> dict:
    """Write ADAPT_JSON (the last layer in float32, the features' version and size, the block, how adapt.bin is
    laid out) and ADAPT_BIN (the converted model's features of `replay_images`, uint8 with one scale, their
    block's values, int8 with another, then their labels, uint8); returns export.json's fields on them.

    The block's values are scaled (its `factor`) so that their mean length on the replay is the features'."""
    images, labels = replay_images(digits, config.replay_per_class, log)
    block = block_layer(out_dir, config.block_directions)
    _, features, projected = predict_tfjs(out_dir, mnist.to_model_input(images), node_modules, block)
    scale = float(features.max()) / 255 or 1.0
    data = [np.clip(np.rint(features / scale), 0, 255).astype(np.uint8)]
    if block is not None:
        lengths = [float(np.linalg.norm(x, axis=1).mean()) for x in (features, projected)]
        factor = lengths[0] / (lengths[1] or 1.0)
        block_scale = float(np.abs(projected).max()) * factor / 127 or 1.0
        data.append(np.clip(np.rint(projected * factor / block_scale), -127, 127).astype(np.int8))
        block.update(factor=factor, scale=block_scale)
    weights, bias = (np.asarray(w, dtype=np.float32) for w in head_layer(model).get_weights())
    version = features_version(model, block)
    (out_dir / artifacts.ADAPT_BIN).write_bytes(b"".join(part.tobytes() for part in data) + labels.tobytes())
    artifacts.write_json(out_dir / artifacts.ADAPT_JSON, {
        "features_version": version,
        "features": int(features.shape[1]),
        "classes": int(weights.shape[1]),
        "weights": weights.round(7).tolist(),  # features × classes, the last layer's kernel
        "bias": bias.round(7).tolist(),
        "replay": {"count": len(labels), "scale": scale,
                   "layout": "count×features uint8 features (× scale), then count×block.directions int8 block values "
                             "(× block.scale), then count uint8 labels"},
        **({} if block is None else {"block": block}),
    })
    return {"features_version": version, "features": int(features.shape[1]), "replay_images": len(labels),
            "block_directions": 0 if block is None else block["directions"]}
