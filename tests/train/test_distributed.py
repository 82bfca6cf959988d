"""Every multi-device path, on the CPU: MirroredStrategy over 4 logical devices (over 2, Kaggle's t4x2:
tests/bench/test_bench_gpu.py, which runs it as the notebook does), two MultiWorkerMirrored workers on
127.0.0.1, and the JAX backend (DataParallel over 2 devices) without TensorFlow ever imported. Each run is its
own process (devices are fixed at start-up) on a tiny real MNIST subset."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from pipeline.train.cluster import parse_workers
from pipeline.train.distribute import scaled_batch_and_rate
from pipeline.train.profiles import PROFILES
from tests.helpers import finish, pipeline_train, ROOT


TINY = ["--epochs", "2", "--train-limit", "2000", "--validation-size", "400", "--test-limit", "1000",
        "--batch-size", "32"]


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_global_batch_and_learning_rate_scale_with_replicas():
    assert scaled_batch_and_rate(128, 3e-3, 1, "sqrt") == (128, 3e-3)
    batch, lr = scaled_batch_and_rate(128, 3e-3, 4, "sqrt")
    assert batch == 512 and lr == pytest.approx(6e-3)
    assert scaled_batch_and_rate(128, 3e-3, 4, "linear")[1] == pytest.approx(12e-3)
    assert scaled_batch_and_rate(128, 3e-3, 4, "none")[1] == pytest.approx(3e-3)


def test_t4x2_trains_fasts_global_batch_and_rate_on_two_replicas_and_half_of_each_on_one():
    t4x2, fast = PROFILES["t4x2"], PROFILES["fast"]
    two = scaled_batch_and_rate(t4x2.batch_size, t4x2.learning_rate, 2, t4x2.lr_scaling)
    assert two[0] == fast.batch_size and two[1] == pytest.approx(fast.learning_rate)
    assert two == (512, pytest.approx(6e-3))
    assert scaled_batch_and_rate(t4x2.batch_size, t4x2.learning_rate, 1, t4x2.lr_scaling) == (256, 3e-3)
    assert (t4x2.epochs, t4x2.warmup_epochs, t4x2.model) == (fast.epochs, fast.warmup_epochs, fast.model)


def test_worker_lists_are_checked():
    assert parse_workers("10.0.0.1:2222, host-b:2222") == ["10.0.0.1:2222", "host-b:2222"]
    for bad in ("", "nohost", "h:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_workers(bad)


@pytest.mark.slow  # trains on real MNIST
def test_mirrored_strategy_over_logical_cpus(tmp_path):
    """Four replicas (two: the GPU bench's smoke test); a global batch of 64: on 1,600 images, bigger global batches
    leave too few steps to learn."""
    replicas = 4
    per_replica = str(64 // replicas)
    out = finish(pipeline_train("--artifacts", str(tmp_path), "--cpu-replicas", str(replicas),
                                "--strategy", "mirrored", *TINY, "--batch-size", per_replica))
    assert f"MirroredStrategy over {replicas} replicas" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["strategy"]["replicas"] == replicas and len(metrics["strategy"]["devices"]) == replicas
    assert metrics["global_batch"] == 64
    assert metrics["peak_learning_rate"] == pytest.approx(3e-3 * replicas)  # default linear scaling
    assert metrics["test_accuracy"] > 0.8, "the replicas must learn together"


@pytest.mark.slow  # trains on real MNIST
def test_two_workers_on_localhost_train_to_completion(tmp_path):
    workers = ",".join(f"127.0.0.1:{port}" for port in free_ports(2))
    processes = [pipeline_train("--artifacts", str(tmp_path), "--workers", workers, "--worker-index", str(i), *TINY)
                 for i in range(2)]
    outputs = [finish(p) for p in processes]
    assert all("MultiWorkerMirroredStrategy over 2 workers" in out for out in outputs)
    assert "wrote" in outputs[0] and "wrote" not in outputs[1], "only the chief writes artefacts"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["strategy"]["replicas"] == 2 and metrics["global_batch"] == 64
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    assert metrics["test_accuracy"] > 0.8
    assert not (tmp_path / "checkpoint").exists(), "a finished run removes its checkpoint"


@pytest.mark.slow  # trains on real MNIST
def test_jax_backend_trains_without_tensorflow(tmp_path):
    """KERAS_BACKEND=jax: DataParallel over two CPU devices, and `tensorflow` never imported."""
    script = (
        "import sys\nfrom pipeline.cli import main\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\nsys.exit(code)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "train", "--artifacts", str(tmp_path), "--cpu-replicas", "2", *TINY],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "jax"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = finish(process)
    assert "jax backend, DataParallel over 2 devices" in out
    assert "tensorflow imported: False" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["backend"] == "jax" and metrics["strategy"]["replicas"] == 2
    assert "tensorflow" not in metrics["versions"] and metrics["versions"]["jax"]
    assert metrics["test_accuracy"] > 0.8
