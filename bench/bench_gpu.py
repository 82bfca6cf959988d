"""GPU training benchmarks: the `fast` and `accurate` presets on JAX, and one replica against two on TensorFlow.

Presets (the default mode, JAX backend, no TensorFlow needed):
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

Replicas (`--replicas 1,2`, TensorFlow backend: what notebooks/train.ipynb runs on Kaggle's two T4s):
one fresh process per replica count trains `--profile` (t4x2) on that many GPUs (1: the default
strategy on the first GPU; more: MirroredStrategy), with bench.bench_train's callback measuring test
accuracy after every epoch. Per count it records the time to 99.5 % test accuracy (fit time, its
validation included), images/s per replica and in all (training pass, median of epochs 2-N) and the
speed-up over one replica (images/s in all, against the first count's), into
bench/results/gpu_replicas.json, and prints them as a Markdown table:
    python -m bench.bench_gpu --replicas 1,2 --profile t4x2
Smoke test on a CPU, the replicas as logical CPU devices (figures meaningless):
    python -m bench.bench_gpu --replicas 1,2 --cpu --limit 2000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results_file import RESULTS, save_result

ROOT = Path(__file__).resolve().parent.parent

TARGET = 0.995  # the test accuracy whose first crossing is timed
REPLICA_COLUMNS = ["replicas", "global batch", "peak learning rate", "test accuracy (%)", "time to 99.5 % (s)",
                   "first epoch (s)", "images/s per replica", "images/s in all", "speed-up over one replica"]
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


# ----------------------------------------------------------------- replicas (TensorFlow)


def one_replica_count(replicas: int, args) -> None:
    """In this (fresh) process: train args.profile on `replicas` devices with the per-epoch test callback and
    write {"rows": the callback's rows, "metrics": metrics.json} to args.out/run.json."""
    import dataclasses

    from bench.bench_train import epoch_test_accuracy_callback, train_with_callback
    from pipeline.data.mnist import load_mnist, to_model_input
    from pipeline.train import distribute
    from pipeline.train.profiles import profile_config

    if args.cpu:
        distribute.split_cpu(replicas)
    overrides = {"strategy": "mirrored" if replicas > 1 else "default"}
    if args.limit:
        overrides.update(train_limit=args.limit + 500, validation_size=500, test_limit=args.limit)
    if args.epochs:
        overrides["epochs"] = args.epochs
    config = dataclasses.replace(profile_config(args.profile), **overrides)
    digits = load_mnist(args.data)
    x_test, y_test = digits.x_test[: config.test_limit or None], digits.y_test[: config.test_limit or None]
    callback = epoch_test_accuracy_callback(to_model_input(x_test), y_test)
    metrics = train_with_callback(config, args.out, callback, log=print)
    (args.out / "run.json").write_text(json.dumps({"rows": callback.rows, "metrics": metrics}, default=str))


def replica_row(replicas: int, run: dict, one_replica_rate: float | None) -> list:
    """A table row from one run.json; the speed-up is this run's images/s in all against `one_replica_rate`
    (None: no one-replica run to compare with)."""
    rows, metrics = run["rows"], run["metrics"]
    rates = [metrics["train_images"] / r["train_pass_seconds"] for r in rows]
    rate = statistics.median(rates[1:] or rates)
    reached = next((r for r in rows if r["test_accuracy"] >= TARGET), None)
    best = max(r["test_accuracy"] for r in rows)
    return [replicas, metrics["global_batch"], round(metrics["peak_learning_rate"], 5),
            round(100 * metrics["test_accuracy"], 2),
            round(reached["train_seconds"], 1) if reached else f"not reached (best {best:.2%})",
            round(rows[0]["epoch_seconds"], 1), round(rate / replicas), round(rate),
            1.0 if replicas == 1 else round(rate / one_replica_rate, 2) if one_replica_rate else None]


def replicas_main(args) -> None:
    """One fresh `--one-run N` process per replica count; the table, printed and saved."""
    rows, runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-replicas-") as tmp:
        for replicas in (int(r) for r in args.replicas.split(",")):
            out = Path(tmp) / f"r{replicas}"
            cmd = [sys.executable, "-m", "bench.bench_gpu", "--one-run", str(replicas), "--out", str(out),
                   "--profile", args.profile, "--limit", str(args.limit), "--epochs", str(args.epochs)]
            cmd += ["--cpu"] * args.cpu + (["--data", str(args.data)] if args.data else [])
            result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                sys.exit(f"bench_gpu: {replicas} replica(s) failed:\n{result.stdout[-3000:]}")
            runs.append(json.loads((out / "run.json").read_text()))
            one = rows[0][7] if rows and rows[0][0] == 1 else None
            rows.append(replica_row(replicas, runs[-1], one))
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    smoke = bool(args.limit or args.epochs or args.cpu)
    strategy = runs[-1]["metrics"]["strategy"]
    notes = (f"--profile {args.profile}, one fresh process per replica count (TensorFlow backend; 1: the default "
             "strategy on the first device, more: MirroredStrategy); test accuracy on all test images after each "
             "epoch, the callback's own time excluded; images/s over the training pass, median of epochs 2-N. "
             + ("SMOKE TEST: the figures say nothing about speed or accuracy." if smoke else ""))
    results_dir = Path(tempfile.gettempdir()) / "bench-gpu-smoke" if smoke else RESULTS
    path = save_result("gpu_replicas", title="Training on GPUs: one replica against two (TensorFlow)",
                       command="python -m bench.bench_gpu" + "".join(f" {a}" for a in sys.argv[1:]),
                       columns=REPLICA_COLUMNS, rows=rows, notes=notes, results_dir=results_dir,
                       extra_machine={"accelerator": ", ".join(strategy["devices"]),
                                      "precision": strategy["precision"],
                                      "cross_device_ops": strategy.get("cross_device_ops", "")})
    print("\n| " + " | ".join(REPLICA_COLUMNS) + " |\n|" + " --- |" * len(REPLICA_COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"\nwrote {path}")


# ----------------------------------------------------------------- command line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of MNIST IDX files (raw or .gz)")
    parser.add_argument("--presets", default="fast,accurate", help="comma-separated profiles to run")
    parser.add_argument("--limit", type=int, default=0, help="smoke test: train/test on this many images only")
    parser.add_argument("--epochs", type=int, default=0, help="override the presets' epochs (smoke test)")
    parser.add_argument("--name", default="gpu_training", help="result name (bench/results/NAME.json)")
    parser.add_argument("--replicas", help="comma-separated replica counts, e.g. 1,2: the TensorFlow replica mode")
    parser.add_argument("--profile", default="t4x2", help="the profile the replica mode trains")
    parser.add_argument("--cpu", action="store_true", help="replica mode on logical CPU devices (smoke test)")
    parser.add_argument("--one-run", type=int, help=argparse.SUPPRESS)  # a child of --replicas: one count
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)  # the child's folder
    args = parser.parse_args()
    if args.one_run:
        return one_replica_count(args.one_run, args)
    if args.replicas:
        return replicas_main(args)

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
