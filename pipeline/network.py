"""The network view's data (network.html): which layers it shows, which graph node computes each, what excites them.

Written by `pipeline export` beside the converted graph model, from the Keras model and the converted model itself:

  network.json  {"layers": [{name, type, kind, shape, weights, node, relu, top}, ...] in the model's order,
                 "filters": {layer, shape, values}, "digits": {sprite, tile, columns, count, test_indices}, "top": K}
  network.png   the MNIST test digits named by the layers' `top`, one greyscale sprite of 28×28 tiles

Shown layers (`shown_layers`): the input, every activation (a convolution block's output, kind "conv" when its
output has channels, "dense" when it is flat), every pooling, and the model's last layer ("output"). `weights`
counts every weight of the layers since the shown layer before (a block's convolution and batch norm).

The page runs the shipped graph model and asks it for intermediate nodes by name. The converter's optimiser
fuses and reorders the Keras graph (a batch norm into its convolution; a ReLU after the max-pool that follows
it: the two commute), so a node's name does not say which layer it computes. `match_nodes` finds out by value:
on a few test images, each shown layer's Keras output is compared with every graph node of its shape, as it is
and through a ReLU; the closest wins, and it must agree within MATCH_TOLERANCE. `relu` true tells the page to
apply the ReLU itself (the one case: an activation the optimiser moved behind a pooling).

`top` (for kinds "conv" and "dense"): per channel (unit), the indices into `digits` of the TOP_DIGITS MNIST test
digits whose largest value of that channel over all positions is highest (ties: the lower test index first).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pipeline import artifacts

TOP_DIGITS = 4  # MNIST test digits shown per channel / dense unit as what excites it most
MATCH_IMAGES = 20  # test images on which Keras layers and graph nodes are compared
MATCH_TOLERANCE = 0.1  # largest difference allowed between a layer and its node, × the layer's largest |value|
SPRITE_COLUMNS = 32  # tiles per row of network.png
ACTIVATIONS = ("ReLU", "Activation", "LeakyReLU", "ELU", "PReLU", "Softmax")
POOLINGS = ("MaxPooling2D", "AveragePooling2D")
NOT_COMPUTED = ("Const", "Placeholder", "Shape", "StridedSlice", "Pack", "NoOp")  # graph ops whose output is no layer's
NODES_SCRIPT = Path(__file__).with_name("nodes_tfjs.mjs")


class NetworkError(Exception):
    """The view's data cannot be made. One line for the user."""


def _kind(layer, is_last: bool) -> str | None:
    """'input', 'conv', 'pool', 'dense', 'output' for a layer the view shows, else None."""
    kind = type(layer).__name__
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    rank = len(layer.output.shape)
    if is_last:
        return "output"
    if kind == "InputLayer":
        return "input"
    if kind in POOLINGS:
        return "pool"
    if kind in ACTIVATIONS or (kind in ("Conv2D", "Dense") and activation != "linear"):
        return "conv" if rank == 4 else "dense"
    return None


def shown_layers(model) -> list[dict]:
    """The layers the view shows, in order: {name, type, kind, shape (without the batch), weights}."""
    shown, weights = [], 0
    layers = list(model.layers)
    if type(layers[0]).__name__ != "InputLayer":  # a functional model lists its input; a Sequential one may not
        shown.append({"name": model.inputs[0].name, "type": "InputLayer", "kind": "input",
                      "shape": [int(d) for d in model.inputs[0].shape[1:]], "weights": 0})
    for i, layer in enumerate(layers):
        weights += int(layer.count_params()) if layer.built else 0
        kind = _kind(layer, i == len(layers) - 1)
        if kind:
            shown.append({"name": layer.name, "type": type(layer).__name__, "kind": kind,
                          "shape": [int(d) for d in layer.output.shape[1:]], "weights": weights})
            weights = 0
    return shown


def keras_outputs(model, layers: list[dict], x: np.ndarray, batch_size: int = 500) -> list[np.ndarray]:
    """Each shown layer's Keras output on float32 (N, 28, 28, 1) images, in inference mode."""
    import keras

    inner = [model.get_layer(layer["name"]).output for layer in layers if layer["kind"] != "input"]
    probe = keras.Model(model.inputs[0], inner)
    values = probe.predict(x, batch_size=batch_size, verbose=0)
    values = iter(values if isinstance(values, list) else [values])
    return [x if layer["kind"] == "input" else np.asarray(next(values)) for layer in layers]


def graph_nodes(model_json: Path) -> list[str]:
    """The graph model's nodes that compute something (not constants, the input or shape plumbing), in order."""
    topology = artifacts.read_json(model_json)["modelTopology"]["node"]
    return [node["name"] for node in topology if node["op"] not in NOT_COMPUTED]


def run_nodes(model_dir: Path, x: np.ndarray, nodes: list[str], node_modules: Path) -> dict[str, np.ndarray]:
    """The converted model's values of `nodes` on float32 (N, 28, 28, 1) images, run in Node with the page's runtime."""
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images.f32"
        np.ascontiguousarray(x, dtype="<f4").tofile(images)
        result = subprocess.run(["node", str(NODES_SCRIPT), str(model_dir), str(images), tmp, str(node_modules), *nodes],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise NetworkError(f"running the graph model's nodes failed: {result.stderr.strip().splitlines()[-1:]}")
        shapes = json.loads(result.stdout.strip().splitlines()[-1])
        return {node: np.fromfile(Path(tmp) / f"{i}.f32", dtype="<f4").reshape(shape)
                for i, (node, shape) in enumerate(zip(nodes, shapes))}


def match_nodes(layers: list[dict], keras_values: list[np.ndarray], node_values: dict[str, np.ndarray],
                input_node: str) -> list[dict]:
    """For each shown layer, {node, relu, error}: the graph node (through a ReLU where `relu`) whose values on the
    same images are closest to the layer's Keras output; `error` is the largest difference × the layer's largest
    |value|. NetworkError when a layer's closest node is further than MATCH_TOLERANCE."""
    found = []
    for layer, wanted in zip(layers, keras_values):
        if layer["kind"] == "input":
            found.append({"node": input_node, "relu": False, "error": 0.0})
            continue
        scale = float(np.abs(wanted).max()) or 1.0
        best = None
        for node, value in node_values.items():
            if value.shape != wanted.shape:
                continue
            for relu in (False, True):
                error = float(np.abs((np.maximum(value, 0) if relu else value) - wanted).max()) / scale
                if best is None or error < best["error"]:
                    best = {"node": node, "relu": relu, "error": error}
        if best is None or best["error"] > MATCH_TOLERANCE:
            closest = f"the closest differs by {best['error']:.0%}" if best else "none has its shape"
            raise NetworkError(f"no node of the converted graph model computes layer {layer['name']} "
                               f"{tuple(wanted.shape[1:])} ({closest}); the network view cannot show it")
        found.append(best)
    return found


def excitation(model, layers: list[dict], x: np.ndarray, top: int = TOP_DIGITS, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """For each "conv" and "dense" layer: int (channels, top) indices into `x` of the images whose largest value
    of the channel (over positions) is highest, highest first, ties to the lower index; and its scores (the
    same shape, float32) under NAME + "/score"."""
    import keras

    excited = [layer for layer in layers if layer["kind"] in ("conv", "dense")]
    probe = keras.Model(model.inputs[0], [model.get_layer(layer["name"]).output for layer in excited])
    scores = [[] for _ in excited]
    for start in range(0, len(x), batch_size):
        values = probe(x[start:start + batch_size], training=False)
        for i, value in enumerate(values if isinstance(values, (list, tuple)) else [values]):
            value = np.asarray(value)
            scores[i].append(value.reshape(len(value), -1, value.shape[-1]).max(axis=1))
    result = {}
    for layer, parts in zip(excited, scores):
        score = np.concatenate(parts)  # (N, channels)
        order = np.argsort(-score, axis=0, kind="stable")[:top].T  # (channels, top)
        result[layer["name"]] = order
        result[layer["name"] + "/score"] = np.take_along_axis(score.T, order, axis=1)
    return result


def first_filters(model) -> dict:
    """The first Conv2D's kernel: {layer, shape (kh, kw, in, out), values (flat, row-major, 4 decimals)}."""
    conv = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if conv is None:
        return {}
    kernel = np.asarray(conv.get_weights()[0], dtype=np.float32)
    return {"layer": conv.name, "shape": list(kernel.shape), "values": kernel.round(4).ravel().tolist()}


def write_sprite(path: Path, images: np.ndarray, columns: int = SPRITE_COLUMNS) -> None:
    """uint8 (N, 28, 28) images as one greyscale PNG, `columns` tiles a row, left to right, top to bottom."""
    from PIL import Image

    rows = max(1, -(-len(images) // columns))
    side = images.shape[1]
    sheet = np.zeros((rows * side, columns * side), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet[r * side:(r + 1) * side, c * side:(c + 1) * side] = image
    Image.fromarray(sheet, "L").save(path, optimize=True)


def write_network_files(model, out_dir: Path, test_images: np.ndarray, node_modules: Path, log=print) -> dict:
    """Write NETWORK_JSON and NETWORK_PNG into `out_dir` (which holds the converted model) from `model` (Keras)
    and uint8 (N, 28, 28) MNIST test images; returns export.json's fields on them."""
    from pipeline.data import mnist

    layers = shown_layers(model)
    x = mnist.to_model_input(test_images)
    probe = x[:MATCH_IMAGES]
    nodes = graph_nodes(out_dir / artifacts.TFJS_MODEL_FILE)
    input_node = next(n["name"] for n in artifacts.read_json(out_dir / artifacts.TFJS_MODEL_FILE)["modelTopology"]["node"]
                      if n["op"] == "Placeholder")
    matched = match_nodes(layers, keras_outputs(model, layers, probe), run_nodes(out_dir, probe, nodes, node_modules),
                          input_node)
    excited = excitation(model, layers, x)
    picked = sorted({int(i) for name, order in excited.items() if not name.endswith("/score") for i in order.ravel()})
    position = {index: i for i, index in enumerate(picked)}
    for layer, match in zip(layers, matched):
        layer.update(node=match["node"], relu=match["relu"])
        if layer["name"] in excited:
            layer["top"] = [[position[int(i)] for i in row] for row in excited[layer["name"]]]
    write_sprite(out_dir / artifacts.NETWORK_PNG, test_images[picked])
    artifacts.write_json(out_dir / artifacts.NETWORK_JSON, {
        "layers": layers, "filters": first_filters(model), "top": TOP_DIGITS,
        "digits": {"sprite": artifacts.NETWORK_PNG, "tile": int(test_images.shape[1]), "columns": SPRITE_COLUMNS,
                   "count": len(picked), "test_indices": picked},
    })
    worst = max(match["error"] for match in matched)
    log(f"export: network view: {len(layers)} layers matched to graph nodes (largest difference {worst:.2%} of a "
        f"layer's range), {len(picked)} MNIST test digits excite their channels most")
    return {"network_layers": len(layers), "network_match_error": worst}
