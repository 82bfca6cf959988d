"""GPU training benchmark on the JAX backend (no TensorFlow needed): the `fast` and `accurate` presets.

For each preset, two fresh `pipeline train` processes share a persistent JAX compilation
cache: the first run pays for compilation, the second shows what the cache saves. Per run it
records the process wall time (start to model written, imports and compilation included),
the training time (fit, compilation included), the test accuracy on the 10,000 test images and
the steady-state throughput (images/s over the epochs after the first). Results go to
bench/results/gpu_training.json (bench.results_file.save_result) and are printed as a table.

On the GPU machine (JAX with CUDA, keras, numpy, click, jinja2 installed; no TensorFlow):
    python -m bench.bench_gpu --data /path/to/mnist-idx
`--data` is a folder of the four MNIST IDX files (raw or .gz); without it the usual cache/download.
Smoke test on a CPU (what CI and this repository's machine can do; the figures mean nothing):
    KERAS_BACKEND=jax python -m bench.bench_gpu --limit 1000 --epochs 1 --presets fast
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results_file import RESULTS, save_result

ROOT = Path(__file__).resolve().parent.parent

COLUMNS = ["preset", "run", "test accuracy (%)", "wall incl. start-up (s)", "train incl. compile (s)",
           "first epoch (s)", "images/s (later epochs)", "epochs", "precision", "devices"]


def run_preset(preset: str, run: str, args, cache_dir: Path, work: Path) -> list:
    """One fresh `pipeline train` process; returns a table row."""
    out = work / f"{preset}-{run}"
    cmd = [sys.executable, "-m", "pipeline", "train", "--profile", preset, "--artifacts", str(out)]
    if args.data:
        cmd += ["--data", str(args.data)]
    if args.limit:
        cmd += ["--train-limit", str(args.limit + 500), "--validation-size", "500", "--test-limit", str(args.limit)]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT),
           "JAX_COMPILATION_CACHE_DIR": str(cache_dir),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench_gpu: {preset} ({run}) failed:\n{result.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    later = metrics["history"][1:]
    images = metrics["steps_per_epoch"] * metrics["global_batch"]
    rate = round(images * len(later) / sum(r["seconds"] for r in later)) if later else None
    strategy = metrics["strategy"]
    return [preset, run, round(100 * metrics["test_accuracy"], 2), round(wall, 1), metrics["train_seconds"],
            metrics["history"][0]["seconds"], rate, metrics["epochs"], strategy["precision"],
            ", ".join(strategy["devices"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of MNIST IDX files (raw or .gz)")
    parser.add_argument("--presets", default="fast,accurate", help="comma-separated profiles to run")
    parser.add_argument("--limit", type=int, default=0, help="smoke test: train/test on this many images only")
    parser.add_argument("--epochs", type=int, default=0, help="override the presets' epochs (smoke test)")
    parser.add_argument("--name", default="gpu_training", help="result name (bench/results/NAME.json)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        work = Path(tmp)
        for preset in args.presets.split(","):
            cache = work / f"jax-cache-{preset}"
            for run in ("first (compiles)", "second (cached)"):
                rows.append(run_preset(preset, run, args, cache, work))
                print(" | ".join(str(c) for c in rows[-1]), flush=True)
    smoke = bool(args.limit or args.epochs)
    device = rows[0][-1] if rows else ""
    command = "python -m bench.bench_gpu" + "".join(f" {a}" for a in sys.argv[1:])
    notes = ("KERAS_BACKEND=jax, one fresh process per run, persistent JAX compilation cache shared by the two "
             "runs of a preset. " + ("SMOKE TEST on reduced data: the figures say nothing about speed or "
                                     "accuracy." if smoke else ""))
    # a smoke test's figures must not reach BENCHMARKS.md: they go to a temporary folder
    results_dir = Path(tempfile.gettempdir()) / "bench-gpu-smoke" if smoke else RESULTS
    path = save_result(args.name, title="Training on the JAX backend (fast and accurate presets)",
                       command=command, columns=COLUMNS, rows=rows, notes=notes,
                       extra_machine={"accelerator": device}, results_dir=results_dir)
    print("\n| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
