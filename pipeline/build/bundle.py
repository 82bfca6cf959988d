"""The drawing page's TensorFlow.js: a size-optimized bundle with only the kernels the exported model runs.

Reads:  ARTIFACTS/tfjs/ (model.json + shards), node_modules/ (tfjs-core, tfjs-converter,
        tfjs-backend-wasm, tfjs-backend-cpu, esbuild; pinned by package-lock.json)
Writes: dist/vendor/tfjs-digits.js      core + converter + wasm backend with the model's kernels
                                        (a classic script: the worker's importScripts; global `tf`)
        dist/vendor/tfjs-digits-cpu.js  the cpu backend with the same model's kernels, loaded by
                                        the worker only where WebAssembly is missing

The work is done by bundle.mjs in Node, as TensorFlow.js's guide "Generating size-optimized
browser bundles" does it: the kernels come from tf.profile of one prediction on each backend, the
converter's ops from tfjs-converter/metadata/kernel2op.json, and esbuild bundles the result. So a
model with another architecture gets its own kernels, and one that a backend cannot run stops the
build with one line instead of failing in a visitor's browser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("bundle.mjs")
RUNTIME = "tfjs-digits.js"  # dist/vendor/: what the drawing page's worker loads
CPU_CHUNK = "tfjs-digits-cpu.js"  # dist/vendor/: the fallback without WebAssembly
BUNDLER = "esbuild/package.json"  # inside node_modules: the bundler package.json pins
TIMEOUT_S = 300  # the bundler's limit; it takes a few seconds


class BundleError(Exception):
    """The bundle cannot be made for this model. One line for the user."""


def write_bundle(model_dir: Path, vendor_dir: Path, node_modules: Path, log=print) -> dict:
    """Bundle tfjs for the graph model in `model_dir` into `vendor_dir` (RUNTIME and CPU_CHUNK).

    Returns {"ops": [...], "kernels": {"wasm": [...], "cpu": [...]}, "files": {name: bytes}}.
    """
    node = shutil.which("node")
    if node is None:
        raise BundleError("node: not found (Node.js builds the page's TensorFlow.js bundle; install it)")
    if not (node_modules / BUNDLER).is_file():
        raise BundleError(f"{node_modules / BUNDLER}: missing (run `npm ci`)")
    vendor_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([node, str(SCRIPT), str(model_dir), str(vendor_dir), str(node_modules)],
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BundleError(f"{SCRIPT.name}: bundling took over {TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise BundleError(lines[-1] if lines[-1].startswith(str(model_dir)) else f"{SCRIPT.name}: {lines[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sizes = ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in result["files"].items())
    log(f"build: TensorFlow.js for the drawing page with {len(result['kernels']['wasm'])} kernels "
        f"({' '.join(result['kernels']['wasm'])}): {sizes}")
    return result
