"""Training: one readable loop from verified MNIST to `model.keras` + `metrics.json`.

Reads MNIST (pipeline.data.mnist), holds out a seeded validation split for model
selection, trains the CNN with on-device augmentation under the strategy that
pipeline.train.distribute picks, checkpoints every epoch (pipeline.train.checkpoint),
evaluates once on the 10,000 test images and writes, atomically, into the artefacts folder:
  model.keras    the classifier, float32, without the augmentation layer
  metrics.json   test accuracy/loss, per-epoch history, config, seed, versions, devices, timings
Backend-agnostic Keras 3: only `keras`/`keras.ops` here; TensorFlow is imported by
pipeline.train.distribute on the TensorFlow backend only. Input: on TensorFlow, in-memory
arrays that Keras turns into a tf.data pipeline; on JAX, numpy batches (ShuffledBatches).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import random
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np

from pipeline import artifacts
from pipeline.train import checkpoint
from pipeline.data import mnist as data
from pipeline.train import distribute
from pipeline.train.augment import DigitAugmentation
from pipeline.config import TrainConfig
from pipeline.train.model import build_model

MODEL_FILE, METRICS_FILE = artifacts.MODEL_FILE, artifacts.METRICS_FILE
EVAL_BATCH = 1000  # images per prediction batch for the test figure


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped training; `epochs_done` epochs are checkpointed."""

    def __init__(self, epochs_done: int, signal_name: str):
        if epochs_done:
            message = f"interrupted after epoch {epochs_done}; `pipeline train --resume` continues"
        else:
            message = "interrupted during the first epoch; nothing was saved, run `pipeline train` again"
        super().__init__(message)
        self.epochs_done, self.signal_name = epochs_done, signal_name


# ------------------------------------------------------------------- input


class ShuffledBatches(keras.utils.PyDataset):
    """Full batches of (images, labels) in a fresh seeded order each epoch (the remainder is dropped,
    so every batch splits evenly across devices). Order of epoch e depends only on (seed, e), so a
    resumed run sees the same batches as an uninterrupted one.
    images: float32 (N, 28, 28, 1), 0-1; labels: uint8 (N,)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, first_epoch: int = 0):
        super().__init__()
        self.images, self.labels, self.batch_size, self.seed = images, labels, batch_size, seed
        self.epoch = first_epoch
        self._shuffle()

    def _shuffle(self):
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __len__(self):
        return len(self.images) // self.batch_size

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        return self.images[rows], self.labels[rows]

    def on_epoch_end(self):
        self.epoch += 1
        self._shuffle()


def pad_to_multiple(images: np.ndarray, labels: np.ndarray, multiple: int):
    """Pad with blank, zero-weight examples so that len is a multiple of `multiple` (even shards).
    Returns (images, labels, sample_weights: float32 (N',), 1 for real examples)."""
    extra = -len(images) % multiple
    weights = np.concatenate([np.ones(len(images), np.float32), np.zeros(extra, np.float32)])
    images = np.concatenate([images, np.zeros((extra, *images.shape[1:]), images.dtype)])
    labels = np.concatenate([labels, np.zeros(extra, labels.dtype)])
    return images, labels, weights


def fit_inputs(x_fit, y_fit, x_val, y_val, global_batch: int, replicas: int, seed: int, first_epoch: int):
    """(keyword arguments for Model.fit, steps per epoch) for this backend."""
    if keras.backend.backend() == "tensorflow":
        steps = -(-len(x_fit) // global_batch)
        kwargs = {"x": x_fit, "y": y_fit, "batch_size": global_batch, "shuffle": True}
        if len(x_val):
            kwargs["validation_data"] = (x_val, y_val)
        return kwargs, steps
    if len(x_fit) < global_batch:
        raise data.DataError(f"{len(x_fit)} training images are fewer than one global batch of {global_batch}")
    batches = ShuffledBatches(x_fit, y_fit, global_batch, seed, first_epoch)
    kwargs = {"x": batches}
    if len(x_val):
        kwargs["validation_data"] = pad_to_multiple(x_val, y_val, replicas)
        kwargs["validation_batch_size"] = global_batch
    return kwargs, len(batches)


# ------------------------------------------------------------------- model


def build_trainer(config: TrainConfig, peak_lr: float, steps_per_epoch: int, jit_compile: bool):
    """(trainer, classifier): the compiled augmentation+classifier model, and the classifier inside it.
    Call inside the strategy scope and under the dtype policy to train with."""
    classifier = build_model(config.model)
    augment = DigitAugmentation(**dataclasses.asdict(config.augment), seed=config.seed, name="augment", dtype="float32")
    trainer = keras.Sequential([augment, classifier], name="trainer")
    trainer.build((None, *classifier.input_shape[1:]))
    warmup = int(config.warmup_epochs * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=peak_lr, warmup_steps=warmup,
        decay_steps=max(1, config.epochs * steps_per_epoch - warmup),
    )
    trainer.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile,
    )
    return trainer, classifier


class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch and records its timing and logs (loss, accuracy, val_*) in `rows`."""

    def __init__(self, epochs: int, log, rows: list | None = None):
        super().__init__()
        self.epochs, self.log, self.rows = epochs, log, list(rows or [])

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


# ------------------------------------------------------------------- loop


def train(config: TrainConfig, out_dir: Path, data_path: Path | None = None, log=print,
          callbacks: list | tuple = (), resume: bool = False) -> dict:
    """Train, evaluate on the test set and write model.keras + metrics.json into `out_dir`.

    After every epoch a checkpoint goes to out_dir/checkpoint/; `resume=True` continues from it
    (checkpoint.ResumeError if there is none or the settings differ). `callbacks` are extra Keras
    callbacks; they see the trainer (augmentation + classifier; augmentation is off outside training).
    Raises TrainingInterrupted on Ctrl-C/SIGTERM. Returns the metrics dict. model.keras and
    metrics.json change only when training has finished; the checkpoint is removed then.
    """
    started = time.perf_counter()
    plan = distribute.plan(config.strategy, config.precision, config.jit_compile, log)  # MWMS must start first
    global_batch, peak_lr = distribute.scaled_batch_and_rate(config.batch_size, config.learning_rate,
                                                             plan.replicas, config.lr_scaling)
    ckpt_dir = out_dir / checkpoint.CHECKPOINT_DIR
    state = None
    if resume:
        state = checkpoint.read_state(ckpt_dir)
        checkpoint.check_compatible(state, config, plan.replicas, ckpt_dir)
        log(f"train: resuming after epoch {state['epoch']} from {ckpt_dir}")
    first_epoch = state["epoch"] if state else 0

    mnist = data.load_mnist(data_path, log=log)
    x_train, y_train = mnist.x_train, mnist.y_train
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    x_fit, y_fit, x_val, y_val = data.split_validation(x_train, y_train, config.validation_size, config.seed)
    x_test, y_test = mnist.x_test, mnist.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    log(f"data: {len(x_fit)} training, {len(x_val)} validation, {len(x_test)} test images")

    seed_everything(config.seed + first_epoch)
    fit_kwargs, steps_per_epoch = fit_inputs(
        data.to_model_input(x_fit), y_fit, data.to_model_input(x_val), y_val,
        global_batch, plan.replicas, config.seed, first_epoch)
    keras.config.set_dtype_policy(plan.precision)
    try:
        with plan.scope():
            trainer, classifier = build_trainer(config, peak_lr, steps_per_epoch, plan.jit_compile)
            # Create loss, metric and optimizer state now, from a host batch. Under MultiWorkerMirrored,
            # Keras 3 would do it from the first distributed batch with an eager cross-worker reduce that
            # fails ("Attempt to convert a value (PerReplica...)", keras-team/keras#20585), so skip that.
            trainer._symbolic_build(data_batch=(x_fit[:2, ..., None].astype("float32"), y_fit[:2]))
            if plan.multiworker:
                trainer._maybe_symbolic_build = lambda *args, **kwargs: None
            if state:
                checkpoint.restore(ckpt_dir, trainer, state)
    finally:
        keras.config.set_dtype_policy("float32")
    log(f"model: {classifier.count_params():,} parameters; {config.epochs} epochs of {steps_per_epoch} steps "
        f"of {global_batch} images; peak learning rate {peak_lr:.2g}")

    epoch_log = EpochLog(config.epochs, log, rows=state["history"] if state else [])
    saver = checkpoint.EveryEpoch(ckpt_dir, config, plan.replicas, epoch_log.rows, plan.is_chief)
    if plan.is_chief and not resume and ckpt_dir.exists():
        checkpoint.remove(ckpt_dir)  # a fresh run must not be resumable as an older one
    fit_started = time.perf_counter()
    with _signals_as_interrupts() as caught:
        try:
            trainer.fit(**fit_kwargs, epochs=config.epochs, initial_epoch=first_epoch,
                        callbacks=[epoch_log, saver, *callbacks], verbose=0)
        except KeyboardInterrupt:
            done = checkpoint.read_state(ckpt_dir)["epoch"] if (ckpt_dir / checkpoint.LATEST).exists() else 0
            raise TrainingInterrupted(done, caught.get("signal", "SIGINT")) from None
    train_seconds = time.perf_counter() - fit_started

    final = build_model(config.model)  # float32, outside any strategy: what export and the page get
    final.set_weights(classifier.get_weights())
    test_accuracy, test_loss = evaluate_on(final, data.to_model_input(x_test), y_test, plan.replicas)
    log(f"test: accuracy {test_accuracy:.4%}, loss {test_loss:.4f} on {len(x_test)} images")

    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "test_images": int(len(x_test)),
        "validation_accuracy": epoch_log.rows[-1].get("val_accuracy") if epoch_log.rows else None,
        "epochs": config.epochs,
        "history": epoch_log.rows,
        "parameters": int(final.count_params()),
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "resumed_after_epoch": first_epoch or None,
        "global_batch": global_batch,
        "steps_per_epoch": steps_per_epoch,
        "train_images": int(len(x_fit)),
        "peak_learning_rate": peak_lr,
        "config": config.to_dict(),
        "seed": config.seed,
        "data_source": mnist.source,
        "strategy": plan.describe(),
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    if plan.is_chief:
        out_dir.mkdir(parents=True, exist_ok=True)
        with _tensorflow_not_probed():
            artifacts.save_keras_model(final, out_dir / MODEL_FILE)
        artifacts.write_json(out_dir / METRICS_FILE, metrics)
        checkpoint.remove(ckpt_dir)
        log(f"train: wrote {out_dir / MODEL_FILE} and {out_dir / METRICS_FILE}")
    return metrics


def evaluate_on(model: keras.Model, images: np.ndarray, labels: np.ndarray, replicas: int = 1):
    """(accuracy, mean cross-entropy) of `model` on float32 (N, 28, 28, 1) images; padded so that
    every batch splits evenly across `replicas` devices."""
    padded, _, _ = pad_to_multiple(images, labels, replicas)
    batch = max(replicas, EVAL_BATCH // replicas * replicas)
    probs = np.asarray(model.predict(padded, batch_size=batch, verbose=0))[: len(images)]
    accuracy = float(np.mean(probs.argmax(1) == labels))
    loss = float(np.mean(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))))
    return accuracy, loss


def seed_everything(seed: int) -> None:
    """keras.utils.set_random_seed without its `import tensorflow` on other backends."""
    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    global_state.set_global_attribute("global_random_seed", seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


@contextlib.contextmanager
def _tensorflow_not_probed():
    """Keras' serialiser checks `tf.available`, which imports all of TensorFlow (seconds, GBs)
    when it is installed. On other backends a saved model needs none of it: report it absent."""
    from keras.src.utils import module_utils

    probe = module_utils.tensorflow
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules or probe._available is not None:
        yield
        return
    probe._available = False
    try:
        yield
    finally:
        probe._available = None


@contextlib.contextmanager
def _signals_as_interrupts():
    """Turn SIGTERM into KeyboardInterrupt while training (main thread only); yields {'signal': name}."""
    caught = {}
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def on_term(signum, _frame):
        caught["signal"] = signal.Signals(signum).name
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield caught
    finally:
        signal.signal(signal.SIGTERM, previous)


def _versions() -> dict:
    versions = {"python": sys.version.split()[0], "keras": keras.__version__, "numpy": np.__version__}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    if keras.backend.backend() == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


def read_metrics(out_dir: Path) -> dict:
    """Read metrics.json from an artefacts folder."""
    return json.loads((out_dir / METRICS_FILE).read_text())
