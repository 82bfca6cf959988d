"""Training: one readable loop from verified MNIST to `model.keras` + `metrics.json`.

Reads MNIST (pipeline.data), holds out a seeded validation split for model
selection, trains the CNN with on-device augmentation under the right
distribution strategy, evaluates once on the 10,000 test images and writes,
atomically, into the artefacts folder:
  model.keras    the classifier (no augmentation layer)
  metrics.json   test accuracy/loss, per-epoch history, config, seed, versions, devices, timings
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

from pipeline import artifacts, data
from pipeline.augment import DigitAugmentation
from pipeline.config import TrainConfig
from pipeline.model import build_model

MODEL_FILE, METRICS_FILE = artifacts.MODEL_FILE, artifacts.METRICS_FILE


# ----------------------------------------------------------------- strategy


def choose_strategy(kind: str, log=print):
    """Pick the tf.distribute strategy: Mirrored across all GPUs when there are
    several (or when asked), else the default one. Returns (strategy, description)."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    mirrored = kind == "mirrored" or (kind == "auto" and len(gpus) > 1)
    if kind not in ("auto", "default", "mirrored"):
        raise ValueError(f"unknown strategy {kind!r}")
    if mirrored:
        devices = [d.name for d in (gpus or cpus)]
        strategy = tf.distribute.MirroredStrategy(devices)
        name = f"MirroredStrategy over {len(devices)} replicas"
    else:
        devices = [(gpus or cpus)[0].name]
        strategy = tf.distribute.get_strategy()
        name = "default strategy (one device)"
    log(f"train: {name}: {', '.join(devices)}")
    return strategy, {"name": name, "devices": devices, "replicas": strategy.num_replicas_in_sync}


def split_cpu(replicas: int) -> None:
    """Expose the CPU as `replicas` logical devices (for MirroredStrategy without GPUs).

    Must run before TensorFlow initialises its devices.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)


# ------------------------------------------------------------------- loop


class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch and records its timing and logs (loss, accuracy, val_*)."""

    def __init__(self, epochs: int, log):
        super().__init__()
        self.epochs, self.log, self.rows = epochs, log, []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.started, 2)}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        self.rows.append(row)
        self.log(
            f"epoch {epoch + 1}/{self.epochs}  {row['seconds']:.0f}s  loss {row.get('loss', 0):.4f}"
            f"  acc {row.get('accuracy', 0):.4f}  val_loss {row.get('val_loss', 0):.4f}"
            f"  val_acc {row.get('val_accuracy', 0):.4f}"
        )


def train(config: TrainConfig, out_dir: Path, data_path: Path | None = None, log=print) -> dict:
    """Train, evaluate on the test set and write model.keras + metrics.json into `out_dir`.

    Returns the metrics dict. Nothing in `out_dir` changes until training has finished.
    """
    started = time.perf_counter()
    mnist = data.load_mnist(data_path, log=log)
    x_train, y_train = mnist.x_train, mnist.y_train
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    x_fit, y_fit, x_val, y_val = data.split_validation(x_train, y_train, config.validation_size, config.seed)
    x_test, y_test = mnist.x_test, mnist.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    log(f"data: {len(x_fit)} training, {len(x_val)} validation, {len(x_test)} test images")

    keras.utils.set_random_seed(config.seed)
    strategy, strategy_info = _strategy(config, log)
    steps_per_epoch = -(-len(x_fit) // config.batch_size)
    with strategy.scope():
        classifier = build_model(config.model)
        trainer = keras.Sequential(
            [DigitAugmentation(**dataclasses.asdict(config.augment), seed=config.seed, name="augment"), classifier],
            name="trainer",
        )
        trainer.build((None, *classifier.input_shape[1:]))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            warmup_target=config.learning_rate,
            warmup_steps=int(config.warmup_epochs * steps_per_epoch),
            decay_steps=max(1, config.epochs * steps_per_epoch - int(config.warmup_epochs * steps_per_epoch)),
        )
        trainer.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    log(f"model: {classifier.count_params():,} parameters; {config.epochs} epochs of {steps_per_epoch} steps")

    epoch_log = EpochLog(config.epochs, log)
    fit_started = time.perf_counter()
    trainer.fit(
        data.to_model_input(x_fit),
        y_fit,
        validation_data=(data.to_model_input(x_val), y_val) if len(x_val) else None,
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[epoch_log],
        verbose=0,
    )
    train_seconds = time.perf_counter() - fit_started

    with strategy.scope():  # variables made for evaluation must belong to the training strategy
        classifier.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    test_loss, test_accuracy = classifier.evaluate(data.to_model_input(x_test), y_test, batch_size=1000, verbose=0)
    log(f"test: accuracy {test_accuracy:.4%}, loss {test_loss:.4f} on {len(x_test)} images")

    metrics = {
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "test_images": int(len(x_test)),
        "validation_accuracy": epoch_log.rows[-1].get("val_accuracy") if epoch_log.rows else None,
        "epochs": config.epochs,
        "history": epoch_log.rows,
        "parameters": int(classifier.count_params()),
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "config": config.to_dict(),
        "seed": config.seed,
        "data_source": mnist.source,
        "strategy": strategy_info,
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    artifacts.save_keras_model(classifier, out_dir / MODEL_FILE)
    artifacts.write_json(out_dir / METRICS_FILE, metrics)
    log(f"train: wrote {out_dir / MODEL_FILE} and {out_dir / METRICS_FILE}")
    return metrics


class _SingleDevice:
    """Stands in for a tf.distribute strategy on the other Keras backends."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def _strategy(config: TrainConfig, log):
    backend = keras.backend.backend()
    if backend != "tensorflow":
        log(f"train: {backend} backend, single device")
        return _SingleDevice(), {"name": f"{backend} default", "devices": [], "replicas": 1}
    return choose_strategy(config.strategy, log)


def _versions() -> dict:
    versions = {"python": sys.version.split()[0], "keras": keras.__version__, "numpy": np.__version__}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    return versions


def read_metrics(out_dir: Path) -> dict:
    """Read metrics.json from an artefacts folder."""
    return json.loads((out_dir / METRICS_FILE).read_text())
