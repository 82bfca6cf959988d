"""pipeline/build/bundle.py: the drawing page's TensorFlow.js holds the kernels its model runs, and only those.

Real parts throughout: the real exported model (changed where a test says so), Node with the pinned
tfjs packages, and esbuild. Whether the bundle really runs the model in a browser is the browser tests'
part (tests/browser/test_page.py, test_failures.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from pipeline.build.bundle import BundleError, CPU_CHUNK, RUNTIME, write_bundle
from tests.helpers import NODE_MODULES, quiet, ROOT, TIMEOUT

FULL_TFJS = NODE_MODULES / "@tensorflow/tfjs/dist/tf.min.js"


def model_copy(trained_artifacts, tmp_path, op_from: str | None = None, op_to: str | None = None, attrs: dict | None = None):
    """A copy of the real artefacts (model.json, shards, metrics.json) whose graph has every `op_from` node
    turned into `op_to` (with `attrs` added); returns the artefacts folder."""
    out = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts / "tfjs", out / "tfjs")
    shutil.copy(trained_artifacts / "metrics.json", out / "metrics.json")
    if op_from:
        model = json.loads((out / "tfjs" / "model.json").read_text())
        nodes = [node for node in model["modelTopology"]["node"] if node["op"] == op_from]
        assert nodes, f"the real model has no {op_from} node"
        for node in nodes:
            node["op"] = op_to
            node.setdefault("attr", {}).update(attrs or {})
        (out / "tfjs" / "model.json").write_text(json.dumps(model))
    return out


def banner_kernels(script) -> list[str]:
    """The kernel names the bundle's banner comment lists."""
    return re.search(r"kernels ([\w ]+) \*/", script.read_text()).group(1).split()


def test_the_bundle_holds_the_real_models_kernels_and_is_a_fraction_of_tf_min_js(trained_artifacts, tmp_path):
    result = write_bundle(trained_artifacts / "tfjs", tmp_path, NODE_MODULES, log=quiet)
    kernels = result["kernels"]
    # The real model's convolutions and dense layers, as the converter fuses them.
    assert {"FusedConv2D", "_FusedMatMul", "MaxPool", "Softmax", "Reshape"} <= set(kernels["wasm"])
    assert kernels["cpu"] == kernels["wasm"]
    assert banner_kernels(tmp_path / RUNTIME) == kernels["wasm"]
    assert banner_kernels(tmp_path / CPU_CHUNK) == kernels["cpu"]
    runtime = (tmp_path / RUNTIME).read_text()
    # The wasm backend and the graph-model loader are in; the other backends are not.
    assert "setWasmPaths" in runtime and "loadGraphModel" in runtime
    assert "WEBGL_VERSION" not in runtime and "WEBGL_VERSION" in FULL_TFJS.read_text()
    assert (tmp_path / RUNTIME).stat().st_size < FULL_TFJS.stat().st_size / 2
    assert result["files"] == {RUNTIME: (tmp_path / RUNTIME).stat().st_size, CPU_CHUNK: (tmp_path / CPU_CHUNK).stat().st_size}


def test_another_architecture_gets_its_own_kernels(trained_artifacts, tmp_path):
    """The real model with its ReLUs made ReLU6: Relu6 comes in, Relu (used by nothing else) goes."""
    before = write_bundle(trained_artifacts / "tfjs", tmp_path / "before", NODE_MODULES, log=quiet)
    artifacts = model_copy(trained_artifacts, tmp_path, "Relu", "Relu6")
    after = write_bundle(artifacts / "tfjs", tmp_path / "after", NODE_MODULES, log=quiet)
    for backend in ("wasm", "cpu"):
        assert "Relu" in before["kernels"][backend] and "Relu6" not in before["kernels"][backend]
        assert "Relu6" in after["kernels"][backend] and "Relu" not in after["kernels"][backend]
    assert (tmp_path / "after" / RUNTIME).read_bytes() != (tmp_path / "before" / RUNTIME).read_bytes()


def test_a_model_the_wasm_backend_cannot_run_stops_the_build_with_one_line(trained_artifacts, tmp_path):
    """Einsum has a cpu kernel but no wasm one: `pipeline build` (a real subprocess) says so and writes nothing.
    The model's Softmax (on (N, 10)) becomes an einsum "ab->ab", the identity."""
    equation = {"equation": {"s": base64.b64encode(b"ab->ab").decode()}, "N": {"i": "1"}}
    artifacts = model_copy(trained_artifacts, tmp_path, "Softmax", "Einsum", equation)
    out = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--artifacts", str(artifacts), "--out", str(out),
         "--node-modules", str(NODE_MODULES)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(artifacts / "tfjs" / "model.json") in lines[0] and "wasm" in lines[0] and "Einsum" in lines[0], lines[0]
    assert not out.exists()


def test_an_op_the_converter_does_not_know_is_named(trained_artifacts, tmp_path):
    artifacts = model_copy(trained_artifacts, tmp_path, "Softmax", "NoSuchOp")
    with pytest.raises(BundleError, match=r"model.json: op NoSuchOp is not supported by TensorFlow.js's converter"):
        write_bundle(artifacts / "tfjs", tmp_path / "vendor", NODE_MODULES, log=quiet)


def test_without_the_bundler_the_error_says_npm_ci(trained_artifacts, tmp_path):
    with pytest.raises(BundleError, match=r"esbuild/package.json: missing \(run `npm ci`\)"):
        write_bundle(trained_artifacts / "tfjs", tmp_path / "vendor", tmp_path / "node_modules", log=quiet)
