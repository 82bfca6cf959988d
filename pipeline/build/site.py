"""Build: render site_template/ with Jinja into a fresh dist/, ready for GitHub Pages.

Reads:  ARTIFACTS/tfjs/ (model.json + shards, export.json), ARTIFACTS/metrics.json,
        site_template/, node_modules/@tensorflow/{tfjs,tfjs-backend-wasm} (pinned by package-lock.json)
Writes: dist/ (replaced atomically):
  index.html, ...            rendered from site_template/*.html (each includes _head.html)
  css/, js/                  copied from site_template/
  model/                     the tfjs graph model
  vendor/                    self-hosted tfjs bundles and the wasm binaries; the drawing page's own
                             size-optimized bundle (pipeline/build/bundle.py)
  metrics.json               what the page shows: accuracy, model size, ...
  sw.js, manifest.webmanifest, icons/, icon.svg   offline use and installing (pipeline/build/webapp.py)
  data/                      the compact MNIST subset train.html trains on (pipeline/build/subset.py)
  network/                   network.json + network.png, the network view's data (pipeline/network.py)
  report.json,               the model report's data (pipeline/build/report.py)
  report/digits.png
  .nojekyll                  so GitHub Pages serves files as they are
  .pipeline-build            marks the folder as a build, the only kind of non-empty --out a build replaces
Every URL in the site is relative, so it works at https://USER.github.io/REPO/.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import jinja2
import numpy as np

from pipeline import artifacts
from pipeline.build import bundle, webapp
from pipeline.build import report as model_report
from pipeline.contract import (DIGIT_PEN, DIGIT_SIDE, DOUBT_BELOW, FEATURES_OUTPUT, FIT_SIZE, IMAGE_SIZE, LABELS,
                               NOT_A_DIGIT_LABEL,
                               NUM_CLASSES, PAD_PEN, PROBABILITIES_OUTPUT, SEGMENT_LOOK, SEGMENT_NEAR, SEGMENT_OVERLAP,
                               SEGMENT_PART, SEGMENT_PART_GAP, SEGMENT_SMALL, SEGMENT_TALLEST, SEGMENT_TOUCH,
                               SEGMENT_TYPICAL, SEGMENT_WIDEST, TORN_ABOVE)
from pipeline.artifacts import METRICS_FILE, MODEL_FILE, REPORT_FILE, TFJS_DIR, TFJS_MODEL_FILE  # not from train/export: no TensorFlow
from pipeline.build.subset import SubsetConfig, SubsetError, write_subset

TEMPLATE_SUFFIXES = {".html"}  # rendered with Jinja; everything else is copied verbatim
PARTIAL_PREFIX = "_"  # site_template/_*.html are Jinja partials that pages include, not pages
VENDOR_FILES = {  # file in dist/vendor/ -> path inside node_modules
    "tf.min.js": "@tensorflow/tfjs/dist/tf.min.js",
    "tf-backend-wasm.min.js": "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "tfjs-backend-wasm.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    # not the threaded binary: threads need cross-origin isolation, which GitHub Pages cannot give (the pages say so to tfjs)
}
MODEL_DIR = "model"  # in dist/: the graph model, model.json and the weight files it lists
WASM_BINARY = "tfjs-backend-wasm-simd.wasm"  # in dist/vendor/: the binary the model worker's tfjs loads (SIMD, no threads)
PERSONAL_DIR = "personal"  # in dist/: what the drawing page needs to learn a visitor's hand (webapp.ON_DEMAND_FILES)
NETWORK_DIR = "network"  # in dist/: network.html's layers, node names and digits (pipeline/network.py)
NETWORK_FILES = (artifacts.NETWORK_JSON, artifacts.NETWORK_PNG)
# Bytes per value of each dtype a weight manifest may name (a quantized weight: its quantization's dtype)
DTYPE_BYTES = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "int16": 2, "uint8": 1, "int8": 1, "bool": 1}
MAX_REPLAY_FEATURE = 1e4  # the largest replayed feature adapt.json may describe (255 x replay.scale): far above
# any ReLU feature of a model fed 0-1 images, and small enough that the page's float32 arithmetic stays finite
MAX_ADAPT_BYTES = 64 * 2**20  # adapt.bin: a few hundred digits per class of F + E + 1 bytes each (the default: ~1.3 MB)
BLOCK_SHAPE = {"node": str, "relu": bool, "inputs": int, "directions": int, "seed": int, "factor": artifacts.NUMBER,
               "scale": artifacts.NUMBER}  # adapt.json's block (js/adapt.js's Block, and its int8 scale)
BUILD_MARKER = ".pipeline-build"  # in dist/: this folder is a build, so the next build may replace it whole
METRICS_SHAPE = {"test_accuracy": artifacts.NUMBER, "history": [{}]}  # what the build reads from metrics.json
EXPORT_SHAPE = {"tfjs_test_accuracy": artifacts.NUMBER, "model_bytes": int, "weight_bytes": int, "quantize": str,
                "features_version": str}
PAGE_METRICS = ("test_accuracy", "test_loss", "test_images", "parameters", "epochs", "train_seconds", "backend")


class BuildError(Exception):
    """The site cannot be built from what is there. One line for the user."""


def page_config(features_version: str, features_block: dict | None = None) -> dict:
    """The contract the page reads (rendered into index.html as JSON); `features_version`: export.json's,
    `features_block`: adapt.json's block (check_adapt_files)."""
    return {
        "imageSize": IMAGE_SIZE,
        "fitSize": FIT_SIZE,
        "numClasses": NUM_CLASSES,
        "labels": list(LABELS),
        "notADigit": NOT_A_DIGIT_LABEL,  # the 11th class's name (the page's 11th row, a visitor's label for it)
        "doubtBelow": DOUBT_BELOW,
        "tornAbove": TORN_ABOVE,
        "segmentation": {  # js/segment.js's rules: pipeline/tools/segment.py applies the same to an image
            "typical": SEGMENT_TYPICAL, "overlap": SEGMENT_OVERLAP, "touch": SEGMENT_TOUCH, "small": SEGMENT_SMALL,
            "near": SEGMENT_NEAR, "part": SEGMENT_PART, "partGap": SEGMENT_PART_GAP, "tallest": SEGMENT_TALLEST,
            "widest": SEGMENT_WIDEST, "look": dict(SEGMENT_LOOK)},
        "pen": {"pad": PAD_PEN, "digit": DIGIT_PEN, "digitSide": DIGIT_SIDE},  # js/drawing.js
        "modelUrl": f"{MODEL_DIR}/{TFJS_MODEL_FILE}",
        "modelOutputs": [PROBABILITIES_OUTPUT, FEATURES_OUTPUT],  # the graph model's outputs, in this order
        "adaptUrl": f"{PERSONAL_DIR}/{artifacts.ADAPT_JSON}",  # the last layer and the replayed features (js/adapt.js)
        "adaptDataUrl": f"{PERSONAL_DIR}/{artifacts.ADAPT_BIN}",
        "featuresVersion": features_version,  # a personal head is only used on the features it was learnt on
        "featuresBlock": features_block,  # what a personal head reads beside the features: the worker computes it
        "metricsUrl": "metrics.json",
        "reportUrl": model_report.REPORT_JSON,
        "vendorPath": "vendor/",
        "backends": ["wasm", "cpu"],  # vendor/tfjs-digits.js has wasm; cpu comes as a chunk where WebAssembly is missing
        "modelTimeoutMs": 60_000,  # the longest the drawing page waits on a silent model worker, ms (js/model.js)
        "subsetUrl": "data/subset.json",  # the MNIST subset train.html trains on
        "samplesUrl": "data/samples.json",  # its held-out digits of each class as strokes: the drawing page's samples
        "networkUrl": f"{NETWORK_DIR}/{artifacts.NETWORK_JSON}",  # network.html's layers (pipeline/network.py)
    }


def check_model_shape(model_json: Path) -> dict[str, list[int]]:
    """Refuse a tfjs model that does not fit the page: one input (N, 28, 28, 1), and two outputs,
    probabilities (N, 11) and features (N, F) (names: pipeline/contract.py). Returns the three shapes,
    {"input": [...], PROBABILITIES_OUTPUT: [...], FEATURES_OUTPUT: [...]}.

    A dimension the model leaves open (-1, e.g. a fully convolutional input) fits any size.
    """
    try:
        signature = artifacts.read_json(model_json)["signature"]
        (inp,) = signature["inputs"].values()
        outputs = signature["outputs"]
        shapes = {name: [int(d["size"]) for d in tensor["tensorShape"]["dim"]]
                  for name, tensor in [("input", inp), *((n, outputs[n]) for n in (PROBABILITIES_OUTPUT, FEATURES_OUTPUT))]}
    except artifacts.ArtifactError as err:
        raise BuildError(str(err)) from None
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        reason = f"{type(err).__name__}: {str(err)[:80]}"
        raise BuildError(f"{model_json}: not a tfjs graph model with one input and the outputs "
                         f"{PROBABILITIES_OUTPUT!r} and {FEATURES_OUTPUT!r} ({reason})") from None
    in_shape, out_shape = shapes["input"], shapes[PROBABILITIES_OUTPUT]
    needed_in, needed_out = [-1, IMAGE_SIZE, IMAGE_SIZE, 1], [-1, NUM_CLASSES]
    if not (shape_fits(in_shape, needed_in) and shape_fits(out_shape, needed_out)):
        raise BuildError(f"{model_json}: model maps {in_shape} -> {out_shape}, the page needs {needed_in} -> {needed_out}")
    if not shape_fits(shapes[FEATURES_OUTPUT], [-1, -1]) or shapes[FEATURES_OUTPUT][1] < 1:
        raise BuildError(f"{model_json}: its {FEATURES_OUTPUT!r} output is {shapes[FEATURES_OUTPUT]}, the page needs [-1, F]")
    return shapes


def model_files(tfjs_dir: Path) -> list[str]:
    """model.json and the weight files its manifest lists (names in `tfjs_dir`), the only files of the model the build
    publishes. BuildError unless each listed name is a plain file name there, a regular file (not a link: it
    would publish what it points to), and the files of each manifest group hold exactly the bytes its weights'
    shapes and dtypes need."""
    model_json = tfjs_dir / TFJS_MODEL_FILE
    if model_json.is_symlink():
        raise BuildError(f"{model_json}: a symbolic link; the build publishes the model's own files (run `pipeline export` again)")
    try:
        manifest = artifacts.read_json(model_json)["weightsManifest"]
        groups = [(list(group["paths"]), [(w["name"], [int(d) for d in w["shape"]], (w.get("quantization") or w)["dtype"])
                                          for w in group["weights"]]) for group in manifest]
    except artifacts.ArtifactError as err:
        raise BuildError(str(err)) from None
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise BuildError(f"{model_json}: no readable weightsManifest ({type(err).__name__}: {str(err)[:80]})") from None
    names = []
    for paths, weights in groups:
        for name in paths:
            path = tfjs_dir / str(name)
            if not isinstance(name, str) or Path(name).name != name or name.startswith(".") or "\\" in name:
                raise BuildError(f"{model_json}: lists the weight file {str(name)[:80]!r}; a weight file is a plain name beside it")
            if path.is_symlink() or not path.is_file():
                kind = "a symbolic link" if path.is_symlink() else "missing or not a regular file"
                raise BuildError(f"{path}: {kind}; model.json lists it as a weight file (run `pipeline export` again)")
            names.append(name)
        unknown = sorted({dtype for _, _, dtype in weights} - DTYPE_BYTES.keys())
        if unknown or any(d < 0 for _, shape, _ in weights for d in shape):
            raise BuildError(f"{model_json}: weights of dtype {unknown[0] if unknown else 'any'} or a negative dimension: "
                             "not a weight manifest the page reads")
        needed = sum(math.prod(shape) * DTYPE_BYTES[dtype] for _, shape, dtype in weights)
        held = sum((tfjs_dir / name).stat().st_size for name in paths)
        if held != needed:
            raise BuildError(f"{tfjs_dir / paths[0] if paths else model_json}: its group holds {held:,} bytes, model.json's weights need {needed:,}; "
                             "run `pipeline export` again")
    return [TFJS_MODEL_FILE, *names]

def shape_fits(shape: list[int], needed: list[int]) -> bool:
    """Whether a model tensor of `shape` can be fed/read as `needed`; -1 (open) fits anything."""
    return len(shape) == len(needed) and all(s == n or -1 in (s, n) for s, n in zip(shape, needed))


def build(
    artifacts_dir: Path,
    out_dir: Path = Path("dist"),
    template_dir: Path = Path("site_template"),
    node_modules: Path = Path("node_modules"),
    log=print,
    subset: SubsetConfig = SubsetConfig(),
    data_path: Path | None = None,
    min_accuracy: float = artifacts.MIN_ACCURACY,
) -> dict:
    """Render the site into `out_dir`; returns the metrics the page shows.

    `subset` sizes the MNIST subset for train.html, drawn from `data_path`
    (None: the cache or a download, see pipeline.data.mnist.load_mnist). A model
    whose test accuracy is below `min_accuracy` is refused (0: any).
    """
    tfjs_dir = artifacts_dir / TFJS_DIR
    shapes = check_inputs(artifacts_dir, template_dir, node_modules)
    published = model_files(tfjs_dir)
    inputs = [tfjs_dir, artifacts_dir / METRICS_FILE, artifacts_dir / MODEL_FILE, template_dir, node_modules]
    check_out(out_dir, inputs + ([data_path] if data_path else []))
    metrics, report = _read_artifacts(artifacts_dir, min_accuracy)
    try:
        block = check_adapt_files(tfjs_dir, report, shapes)
        check_network_file(tfjs_dir)
    except artifacts.ArtifactError as err:
        raise BuildError(str(err)) from None
    page_metrics = {k: metrics[k] for k in PAGE_METRICS if k in metrics}
    page_metrics.update({k: report[k] for k in ("quantize", "model_bytes", "tfjs_test_accuracy") if k in report})

    with artifacts.replacing_dir(out_dir) as stage:
        _copy_files(stage, template_dir, tfjs_dir, published, node_modules)
        try:
            bundle.write_bundle(tfjs_dir, stage / "vendor", node_modules, log)
        except bundle.BundleError as err:
            raise BuildError(str(err)) from None
        (stage / "metrics.json").write_text(json.dumps(page_metrics, indent=2) + "\n")
        (stage / ".nojekyll").write_text("")
        (stage / BUILD_MARKER).write_text("written by `pipeline build`, which replaces this whole folder\n")
        shipped = _write_subset(stage / "data", subset, data_path, log)
        try:
            model_report.write_report(tfjs_dir, metrics, report, stage, log=log)
        except artifacts.ArtifactError as err:
            raise BuildError(str(err)) from None
        try:
            webapp.write_app_files(stage, template_dir)
            context = {"config": page_config(report["features_version"], block), "metrics": page_metrics, "asset_version": webapp.content_hash(stage),
                       "subset": {"train_count": shipped["train"]["count"], "test_count": shipped["test"]["count"]}}
            graph = webapp.module_graph(stage, node_modules)  # the pages' import maps and the service worker's groups
            pages = render_pages(template_dir, stage, context, graph, log)
            startup = [f"{MODEL_DIR}/{name}" for name in published] + [f"vendor/{bundle.RUNTIME}", f"vendor/{WASM_BINARY}"]
            version = webapp.write_service_worker(stage, template_dir / webapp.SERVICE_WORKER,  # last: it lists every file
                                                  context["asset_version"], graph, startup)
        except webapp.PageError as err:
            raise BuildError(str(err)) from None
        log(f"build: {len(pages)} page(s) under the CSP, with the manifest and offline module; "
            f"{webapp.SERVICE_WORKER} caches {len(webapp.precache_files(stage))} files as version {version}")
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    log(f"build: wrote {out_dir} ({size / 1024:.0f} KiB) from {template_dir} and {artifacts_dir}")
    return page_metrics


def check_inputs(artifacts_dir: Path, template_dir: Path, node_modules: Path) -> dict[str, list[int]]:
    """BuildError naming the first missing input (and the command that makes it), or a model that does not fit;
    returns the model's shapes (check_model_shape)."""
    tfjs_dir = artifacts_dir / TFJS_DIR
    needed_files = [tfjs_dir / name for name in (TFJS_MODEL_FILE, REPORT_FILE, artifacts.ADAPT_JSON, artifacts.ADAPT_BIN,
                                                 *NETWORK_FILES)]
    for needed, hint in ((*needed_files[:1], "pipeline export"), (artifacts_dir / METRICS_FILE, "pipeline train"),
                         *((path, "pipeline export") for path in needed_files[1:])):
        if not needed.is_file():
            raise BuildError(f"{needed}: missing (run `{hint}` first)")
    if not (template_dir / "index.html").is_file():
        raise BuildError(f"{template_dir}: no index.html template")
    missing = [p for p in VENDOR_FILES.values() if not (node_modules / p).is_file()]
    if missing:
        raise BuildError(f"{node_modules / missing[0]}: missing (run `npm ci`)")
    return check_model_shape(tfjs_dir / TFJS_MODEL_FILE)


def check_out(out_dir: Path, inputs: list[Path]) -> None:
    """BuildError unless `out_dir` may be replaced whole: absent, an empty folder, or a previous build
    (BUILD_MARKER inside), and neither one of `inputs`, nor inside one, nor holding one. (So
    ARTIFACTS/dist is allowed, as `make bench-page` builds there, but ARTIFACTS itself is not.)"""
    out = out_dir.resolve()
    for source in inputs:
        src = source.resolve()
        if out == src or out in src.parents or src in out.parents:
            relation = "is" if out == src else "holds" if out in src.parents else "is inside"
            raise BuildError(f"--out {out_dir}: {relation} the build's input {source}; "
                             "the build replaces --out whole, so choose a folder apart from its inputs")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / BUILD_MARKER).is_file():
        raise BuildError(f"--out {out_dir}: not empty and not a previous build (no {BUILD_MARKER} in it); "
                         "the build replaces --out whole, so choose a new or empty folder, or remove this one")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"--out {out_dir}: is a file, not a folder")


def _read_artifacts(artifacts_dir: Path, min_accuracy: float) -> tuple[dict, dict]:
    """metrics.json and tfjs/export.json ({} if absent), checked: BuildError naming the file if either is not
    valid JSON or lacks what the build reads, if the two describe different models, or if the shipped model's
    test accuracy (export.json's, else metrics.json's) is below `min_accuracy`."""
    metrics_path, report_path = artifacts_dir / METRICS_FILE, artifacts_dir / TFJS_DIR / REPORT_FILE
    try:
        metrics = artifacts.read_json(metrics_path)
        artifacts.check_fields(metrics, {k: v for k, v in METRICS_SHAPE.items() if k in _as_dict(metrics)}, metrics_path)
        report = artifacts.read_json(report_path) if report_path.is_file() else {}
        artifacts.check_fields(report, {k: v for k, v in EXPORT_SHAPE.items() if k in _as_dict(report)}, report_path)
        hashes = (metrics.get(artifacts.MODEL_HASH), report.get(artifacts.MODEL_HASH))
        if None not in hashes and hashes[0] != hashes[1]:
            raise artifacts.ArtifactError(f"{report_path}: exported from another model.keras than {metrics_path} "
                                          "describes; run `pipeline export` again")
        model_report.check_files(artifacts_dir / TFJS_DIR)
        if min_accuracy > 0:
            source = report_path if "tfjs_test_accuracy" in report else metrics_path
            accuracy = report.get("tfjs_test_accuracy", metrics.get("test_accuracy"))
            artifacts.check_accuracy(accuracy, str(source), min_accuracy)
    except artifacts.ArtifactError as err:
        raise BuildError(str(err)) from None
    return metrics, report


def check_adapt_files(tfjs_dir: Path, report: dict, shapes: dict[str, list[int]]) -> dict | None:
    """ArtifactError unless adapt.json and adapt.bin are whole, within their bounds, and belong to the model that
    export.json describes and whose `shapes` (check_model_shape) the page runs: its features, its classes, the
    graph node its block names. Returns adapt.json's block (None when it has none)."""
    report_path, adapt_path, data_path = tfjs_dir / REPORT_FILE, tfjs_dir / artifacts.ADAPT_JSON, tfjs_dir / artifacts.ADAPT_BIN
    if "features_version" not in report:
        raise artifacts.ArtifactError(f"{report_path}: no features_version (an older export): run `pipeline export` again")
    adapt = artifacts.read_json(adapt_path)
    artifacts.check_fields(adapt, {"features_version": str, "features": int, "classes": int, "weights": list, "bias": list,
                                   "replay": {"count": int, "scale": artifacts.NUMBER}}, adapt_path)
    if adapt["features_version"] != report["features_version"]:
        raise artifacts.ArtifactError(f"{adapt_path}: written for other features than {report_path} describes; "
                                      "run `pipeline export` again")
    count, features, classes, scale = adapt["replay"]["count"], adapt["features"], adapt["classes"], adapt["replay"]["scale"]
    model_features, model_classes = shapes[FEATURES_OUTPUT][1], shapes[PROBABILITIES_OUTPUT][1]
    if (features, classes) != (model_features if model_features > 0 else features, NUM_CLASSES) or features < 1:
        raise artifacts.ArtifactError(f"{adapt_path}: a last layer of {features} features × {classes} classes; the model has "
                                      f"{model_features} features and the page {NUM_CLASSES} classes: run `pipeline export` again")
    if not 0 < scale * 255 <= MAX_REPLAY_FEATURE or count < 1:
        raise artifacts.ArtifactError(f"{adapt_path}: replay of {count} digits at scale {scale:g}; the page needs at least one, "
                                      f"and features of at most {MAX_REPLAY_FEATURE:g} (255 × scale)")
    try:
        weights, bias = np.asarray(adapt["weights"], dtype=float), np.asarray(adapt["bias"], dtype=float)
    except (ValueError, TypeError, OverflowError):
        weights = bias = np.zeros(0)
    if weights.shape != (features, classes) or bias.shape != (classes,) or not np.isfinite(weights).all() \
            or not np.isfinite(bias).all():
        raise artifacts.ArtifactError(f"{adapt_path}: weights are not {features}×{classes} finite numbers "
                                      f"with {classes} biases; run `pipeline export` again")
    block = adapt.get("block")
    directions = 0 if block is None else _check_block(block, adapt_path, tfjs_dir)
    for path in (adapt_path, data_path):  # published as they are: a link would publish what it points to
        if path.is_symlink() or not path.is_file():
            raise artifacts.ArtifactError(f"{path}: a symbolic link or not a regular file; run `pipeline export` again")
    size, width = data_path.stat().st_size, features + directions
    if size != count * (width + 1) or size > MAX_ADAPT_BYTES:
        raise artifacts.ArtifactError(f"{data_path}: {size:,} bytes, expected {count * (width + 1):,} "
                                      f"({count} replayed images of {width} features and a label, as {adapt_path} says)"
                                      + ("" if size <= MAX_ADAPT_BYTES else f", at most {MAX_ADAPT_BYTES // 2**20} MiB"))
    labels = np.frombuffer(data_path.read_bytes()[count * width:], np.uint8)
    if labels.size and labels.max() >= classes:
        raise artifacts.ArtifactError(f"{data_path}: a replayed digit labelled {labels.max()}, not one of the {classes} classes")
    return block


def _check_block(block, adapt_path: Path, tfjs_dir: Path) -> int:
    """adapt.json's block's directions; ArtifactError unless it is whole, its sizes and scales positive (the
    page's float32 holding them) and its node one of model.json's."""
    artifacts.check_fields(block, BLOCK_SHAPE, adapt_path, "block.")
    if min(block["inputs"], block["directions"]) < 1 or not 0 < block["factor"] <= MAX_REPLAY_FEATURE \
            or not 0 < block["scale"] * 127 <= MAX_REPLAY_FEATURE:
        raise artifacts.ArtifactError(f"{adapt_path}: a block of {block['inputs']} values on {block['directions']} directions, "
                                      f"factor {block['factor']:g}, scale {block['scale']:g}; the page needs positive sizes "
                                      f"and values of at most {MAX_REPLAY_FEATURE:g}; run `pipeline export` again")
    if block["node"] not in _graph_nodes(tfjs_dir):
        raise artifacts.ArtifactError(f"{adapt_path}: its block reads the graph node {block['node'][:80]!r}, which "
                                      f"{TFJS_MODEL_FILE} lacks (written for another model); run `pipeline export` again")
    return block["directions"]


def check_network_file(tfjs_dir: Path) -> None:
    """ArtifactError unless network.json lists layers, each computed by a node of model.json's graph (an older
    export's would name nodes the page cannot run)."""
    path = tfjs_dir / artifacts.NETWORK_JSON
    layers = _as_dict(artifacts.read_json(path)).get("layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(layer, dict) for layer in layers):
        raise artifacts.ArtifactError(f"{path}: no list of layers; run `pipeline export` again")
    nodes = _graph_nodes(tfjs_dir)
    missing = [str(layer.get("node"))[:80] for layer in layers if layer.get("node") not in nodes]
    if missing:
        raise artifacts.ArtifactError(f"{path}: names the graph node {missing[0]!r}, which {TFJS_MODEL_FILE} lacks "
                                      "(written for another model); run `pipeline export` again")


def _graph_nodes(tfjs_dir: Path) -> set:
    """The names of model.json's graph nodes (none where it is not shaped like one)."""
    topology = _as_dict(artifacts.read_json(tfjs_dir / TFJS_MODEL_FILE)).get("modelTopology")
    return {node.get("name") for node in _as_dict(topology).get("node", []) if isinstance(node, dict)}


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _copy_files(stage: Path, template_dir: Path, tfjs_dir: Path, model: list[str], node_modules: Path) -> None:
    """The template's static files (not pages, partials or what webapp renders), the `model` files (model_files),
    the adapt files and vendor/. BuildError for a link in the template: it would publish what it points to."""
    for src in sorted(template_dir.rglob("*")):
        rel = src.relative_to(template_dir)
        if src.is_symlink():
            raise BuildError(f"{src}: a symbolic link in the template; the build publishes only the template's own files")
        if src.is_file() and src.suffix not in TEMPLATE_SUFFIXES and rel.as_posix() not in webapp.RENDERED_FILES:
            _copy(src, stage / rel)
    for name in model:
        _copy(tfjs_dir / name, stage / MODEL_DIR / name)
    for name in (artifacts.ADAPT_JSON, artifacts.ADAPT_BIN):  # fetched once a visitor corrects a digit
        _copy(tfjs_dir / name, stage / PERSONAL_DIR / name)
    for name in NETWORK_FILES:  # fetched by network.html
        if (tfjs_dir / name).is_symlink():
            raise BuildError(f"{tfjs_dir / name}: a symbolic link; the build publishes the export's own files")
        _copy(tfjs_dir / name, stage / NETWORK_DIR / name)
    for name, src in VENDOR_FILES.items():
        _copy(node_modules / src, stage / "vendor" / name)


def render_pages(template_dir: Path, out_dir: Path, context: dict, graph: webapp.ModuleGraph, log=print) -> list[Path]:
    """Render every page of `template_dir` (*.html but the _*.html partials) into `out_dir` with
    `context`, plus `root` (the way up to the site's root) and `import_map`; returns their paths relative
    to `out_dir`.

    A page is rendered twice: first without an import map, to read which modules it runs; then with the
    import map webapp.import_map makes of them and `graph` (the module graph of the JavaScript already in
    `out_dir`), which the head partial writes and hashes into the page's CSP. Each page is read back by
    webapp.check_page: PageError if it does not include the head partial or has anything inline that the
    CSP blocks.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals.update(webapp.template_globals())
    pages = [src.relative_to(template_dir) for src in sorted(template_dir.rglob("*"))
             if src.is_file() and src.suffix in TEMPLATE_SUFFIXES and not src.name.startswith(PARTIAL_PREFIX)]
    for rel in pages:
        template, root = env.get_template(rel.as_posix()), "../" * (len(rel.parts) - 1)
        modules = template.render(**context, root=root, import_map=None)
        import_map = webapp.import_map(rel.as_posix(), modules, out_dir, graph, context["asset_version"])
        html = template.render(**context, root=root, import_map=import_map)
        webapp.check_page(html, rel.as_posix())
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_text(html)
    return pages


def _write_subset(out_dir: Path, config: SubsetConfig, data_path: Path | None, log) -> dict:
    """Write the MNIST subset for train.html into `out_dir`; returns its manifest."""
    from pipeline.data import DataError
    from pipeline.data.mnist import load_mnist

    out_dir.mkdir(parents=True)
    try:
        manifest = write_subset(load_mnist(data_path, log=log), out_dir, config)
    except (DataError, SubsetError) as err:
        raise BuildError(str(err)) from None
    log(f"build: MNIST subset for train.html: {manifest['train']['count']:,} training + "
        f"{manifest['test']['count']:,} held-out images ({manifest['bytes'] / 1e6:.1f} MB)")
    return manifest


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
