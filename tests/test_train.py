"""Training on a small real subset: files written, metrics recorded, strategies chosen."""

import json
import os
import subprocess
import sys

import pytest

from pipeline.config import TrainConfig
from pipeline.train import train

from .conftest import ROOT, quiet


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("short")
    config = TrainConfig(epochs=2, train_limit=6000, validation_size=1000, test_limit=2000, batch_size=64)
    metrics = train(config, out, log=quiet)
    return out, config, metrics


def test_short_training_learns_and_writes_its_artefacts(short_run):
    out, config, metrics = short_run
    assert (out / "model.keras").is_file()
    written = json.loads((out / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    assert metrics["test_accuracy"] > 0.85, "2 epochs on 5,000 real digits should already work"
    assert metrics["test_images"] == 2000
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(metrics["history"][0])
    assert metrics["config"] == config.to_dict() and metrics["seed"] == config.seed
    assert metrics["versions"]["tensorflow"] and metrics["strategy"]["replicas"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary files left"


def test_config_round_trips_through_metrics(short_run):
    _, config, metrics = short_run
    assert TrainConfig.from_dict(metrics["config"]) == config


def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    """`--cpu-replicas 2 --strategy mirrored` trains under MirroredStrategy with 2 replicas (own process:
    logical devices must be configured before TensorFlow starts)."""
    cmd = [sys.executable, "-m", "pipeline", "train", "--artifacts", str(tmp_path), "--cpu-replicas", "2",
           "--strategy", "mirrored", "--epochs", "1", "--train-limit", "3000", "--validation-size", "500",
           "--test-limit", "1000", "--batch-size", "64"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MirroredStrategy over 2 replicas" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["strategy"]["replicas"] == 2 and len(metrics["strategy"]["devices"]) == 2
    assert metrics["test_accuracy"] > 0.5
