"""bench/bench_gpu.py's replica mode, the notebook's last cell on real GPUs: its figures from known epochs, and
a smoke run on two logical CPU devices (the figures mean nothing there; the plumbing is the point)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_gpu import REPLICA_COLUMNS, replica_row
from tests.helpers import ROOT


def run_json(global_batch: int, passes: list[float], accuracies: list[float], images: int = 10_000) -> dict:
    """What a `--one-run` child writes: the callback's rows (one epoch a second after the pass) and metrics."""
    rows, so_far = [], 0.0
    for epoch, (seconds, accuracy) in enumerate(zip(passes, accuracies), 1):
        so_far += seconds + 1
        rows.append({"epoch": epoch, "epoch_seconds": seconds + 1, "train_pass_seconds": seconds,
                     "train_seconds": so_far, "test_accuracy": accuracy})
    return {"rows": rows, "metrics": {"train_images": images, "global_batch": global_batch,
                                      "peak_learning_rate": 3e-3 * global_batch / 256, "test_accuracy": accuracies[-1]}}


def test_replica_rows_time_the_first_crossing_and_compare_throughput_with_one_replica():
    one = replica_row(1, run_json(256, [20, 10, 10, 12], [0.99, 0.994, 0.995, 0.996]), None)
    assert dict(zip(REPLICA_COLUMNS, one)) == {
        "replicas": 1, "global batch": 256, "peak learning rate": 0.003, "test accuracy (%)": 99.6,
        "time to 99.5 % (s)": 43.0, "first epoch (s)": 21, "images/s per replica": 1000, "images/s in all": 1000,
        "speed-up over one replica": 1.0}  # median of 10, 10, 12 s for 10,000 images
    two = replica_row(2, run_json(512, [30, 8, 8, 8], [0.98, 0.99, 0.993, 0.994]), one[7])
    assert two[4] == "not reached (best 99.40%)"
    assert two[6:] == [625, 1250, 1.25]


@pytest.mark.slow  # trains on real MNIST, twice
def test_replica_mode_smoke_runs_one_and_two_logical_devices(tmp_path):
    """The bench's default profile, t4x2, as the notebook runs it on Kaggle's two T4s, the GPUs stood in for by
    two logical CPUs: one replica of 256 at 3e-3, then two (a global batch of 512 at 6e-3) whose gradients are
    summed by ReductionToOneDevice (GPUs get it too, not NCCL)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bench.bench_gpu", "--replicas", "1,2", "--cpu", "--limit", "1000",
                             "--epochs", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = [line for line in result.stdout.splitlines() if re.match(r"\| \d ", line)]
    assert [line.split(" | ")[:3] for line in table] == [["| 1", "256", "0.003"], ["| 2", "512", "0.006"]]
    assert table[0].endswith("| 1.0 |")
    saved = json.loads((tmp_path / "bench-gpu-smoke" / "gpu_replicas.json").read_text())
    assert "SMOKE TEST" in saved["notes"] and len(saved["rows"]) == 2, "a smoke run never reaches bench/results/"
    assert saved["machine"]["cross_device_ops"] == "ReductionToOneDevice"
    assert len(saved["machine"]["accelerator"].split(", ")) == 2
