"""Training: one readable loop from verified MNIST to `model.keras` + `metrics.json`.

`train` runs four steps, each a function below it:
  plan     the strategy and devices (pipeline.train.distribute), the global batch and peak
           learning rate, the checkpoint to resume from, the seeded validation split, and what is
           added to the training part only: digits redrawn with a pen and the --extra-data rows
  restore  seed, build and compile the trainer (augmentation + classifier) under the strategy,
           then load the checkpoint's variables when resuming
  fit      Model.fit with a log line and a checkpoint (pipeline.train.checkpoint) every epoch
  write    calibrate (pipeline.calibration: the temperature, then the page's share of drawings that
           are not digits), evaluate once on the 10,000 test images and write, atomically, into the
           artefacts folder:
             model.keras    the classifier, float32, without the augmentation layer
             metrics.json   test accuracy/loss, per-epoch history, config, seed, versions, devices, timings
Backend-agnostic Keras 3: only `keras`/`keras.ops` here; TensorFlow is imported by
pipeline.train.distribute on the TensorFlow backend only, and what reaches into Keras
internals lives in pipeline.train.keras_fixes. Input: on TensorFlow, in-memory arrays
that Keras turns into a tf.data pipeline; on JAX, numpy batches (ShuffledBatches).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np

from pipeline import artifacts, calibration
from pipeline.config import TrainConfig
from pipeline.contract import NOT_A_DIGIT
from pipeline.data import DataError, cache, mnist, nondigits, redrawn, sources
from pipeline.data.formats import ExtraDigits
from pipeline.train.inputs import Inputs, read_inputs
from pipeline.train import checkpoint, distribute, keras_fixes
from pipeline.train.augment import DigitAugmentation
from pipeline.train.model import OUTPUT_LAYER, build_model

EVAL_BATCH = 1000  # images per prediction batch for the test figure
NONDIGITS_PER_SOURCE = 200  # drawings of each non-digit source (pipeline.data.sources), for metrics.json
NONDIGITS_PER_TEST_IMAGE = 0.05  # with --test-limit, drawings of each source per test image (at least MIN_PER_SOURCE)
MIN_PER_SOURCE = 10


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped training; `epochs_done` epochs are checkpointed."""

    def __init__(self, epochs_done: int, signal_name: str):
        if epochs_done:
            message = f"interrupted after epoch {epochs_done}; `pipeline train --resume` continues"
        else:
            message = "interrupted during the first epoch; nothing was saved, run `pipeline train` again"
        super().__init__(message)
        self.epochs_done, self.signal_name = epochs_done, signal_name


@dataclasses.dataclass(frozen=True)
class Splits:
    """The images one run uses: uint8 (N, 28, 28), 0-255; labels uint8 (N,)."""

    x_fit: np.ndarray  # training images the optimizer sees
    y_fit: np.ndarray
    x_val: np.ndarray  # held out from the training set for model selection (seeded)
    y_val: np.ndarray
    x_test: np.ndarray  # evaluated once, after training
    y_test: np.ndarray
    source: str  # where MNIST came from, for metrics.json
    extra: tuple[dict, ...] = ()  # the --extra-data files in x_fit: {"path", "rows", "sha256"} each


@dataclasses.dataclass(frozen=True)
class Run:
    """What the steps of one run share, decided by `plan` before any model exists."""

    hardware: distribute.Plan  # strategy, replicas, precision, XLA, whether this process is the chief
    global_batch: int  # images per optimizer step, all replicas together
    peak_lr: float  # learning rate at the end of warm-up, scaled for the replicas
    ckpt_dir: Path  # OUT/checkpoint/
    resumed: dict | None  # the checkpoint's latest.json when resuming, else None
    data: Splits
    fit_kwargs: dict  # Model.fit's input arguments for this backend (float32 images)
    steps_per_epoch: int  # optimizer steps per epoch

    @property
    def first_epoch(self) -> int:
        """Epochs already trained: the checkpoint's when resuming, else 0."""
        return self.resumed["epoch"] if self.resumed else 0


# ------------------------------------------------------------------- loop


def train(config: TrainConfig, out_dir: Path, inputs: Inputs | None = None, log=print, callbacks: list | tuple = ()) -> dict:
    """Train, evaluate on the test set and write model.keras + metrics.json into `out_dir`.

    `inputs` (pipeline.train.inputs.read_inputs; None: MNIST from the cache or a download, nothing else): MNIST,
    the --extra-data rows, added to the training images only (never to validation or test; metrics.json records
    each file's path, rows and SHA-256), and on --resume the checkpoint's latest.json.

    After every epoch a checkpoint goes to out_dir/checkpoint/; with inputs.resumed the run continues from it
    (checkpoint.ResumeError if the settings differ). `callbacks` are extra Keras
    callbacks; they see the trainer (augmentation + classifier; augmentation is off outside training).
    Raises TrainingInterrupted on Ctrl-C/SIGTERM. Returns the metrics dict. model.keras and
    metrics.json change only when training has finished; the checkpoint is removed then.
    """
    started = time.perf_counter()
    run = plan(config, out_dir, inputs or read_inputs(log=log), log)
    trainer, classifier = restore(config, run, log)
    history, train_seconds = fit(trainer, config, run, callbacks, log)
    return write(out_dir, config, run, classifier, history, train_seconds, started, log)


def plan(config: TrainConfig, out_dir: Path, inputs: Inputs, log) -> Run:
    """Choose devices and strategy, scale batch and rate, check the checkpoint to resume against them, split
    the data."""
    # first: MultiWorkerMirroredStrategy must be created before any other TensorFlow work
    hardware = distribute.plan(config.strategy, config.precision, config.jit_compile, log)
    global_batch, peak_lr = distribute.scaled_batch_and_rate(config.batch_size, config.learning_rate,
                                                             hardware.replicas, config.lr_scaling)
    ckpt_dir = out_dir / artifacts.CHECKPOINT_DIR
    resumed = inputs.resumed
    if resumed is not None:
        checkpoint.check_compatible(resumed, config, hardware.replicas, ckpt_dir, [e.record for e in inputs.extra])
        log(f"train: resuming after epoch {resumed['epoch']} from {ckpt_dir}")
    data = split_data(config, inputs.digits, log, inputs.extra)
    fit_kwargs, steps_per_epoch = fit_inputs(
        mnist.to_model_input(data.x_fit), data.y_fit, mnist.to_model_input(data.x_val), data.y_val,
        global_batch, hardware.replicas, config.seed, resumed["epoch"] if resumed else 0)
    return Run(hardware, global_batch, peak_lr, ckpt_dir, resumed, data, fit_kwargs, steps_per_epoch)


def split_data(config: TrainConfig, digits: mnist.Mnist, log, extra: list[ExtraDigits] | tuple = ()) -> Splits:
    """`digits` (verified MNIST) cut to config.train_limit / test_limit (0: all), with the validation split held out;
    then added to the training part only (never validated or tested on): config.redrawn of its digits per
    digit drawn again with a pen (pipeline.data.redrawn) and the `extra` rows; and to training and
    validation each config.nondigits non-digit drawings per image, labelled NOT_A_DIGIT
    (pipeline.data.nondigits: the kinds it trains on, never a held-out source). The test images stay MNIST's."""
    train_limit, test_limit = config.train_limit or None, config.test_limit or None
    x_fit, y_fit, x_val, y_val = mnist.split_validation(
        digits.x_train[:train_limit], digits.y_train[:train_limit], config.validation_size, config.seed)
    pen_drawn = redrawn.labelled(round(config.redrawn * len(x_fit)), config.seed, x_fit, y_fit, log)
    kept = {"cache_dir": cache.folder(nondigits.FOLDER), "log": log}
    fit_others = nondigits.labelled(round(config.nondigits * len(x_fit)), config.seed, x_fit, y_fit, **kept)
    val_others = nondigits.labelled(round(config.nondigits * len(x_val)), config.seed + 1, x_fit, y_fit, **kept)
    x_fit = np.concatenate([x_fit, pen_drawn[0], *(e.images for e in extra), fit_others[0]])
    y_fit = np.concatenate([y_fit, pen_drawn[1], *(e.labels for e in extra), fit_others[1]])
    x_val, y_val = np.concatenate([x_val, val_others[0]]), np.concatenate([y_val, val_others[1]])
    data = Splits(x_fit, y_fit, x_val, y_val, digits.x_test[:test_limit], digits.y_test[:test_limit], digits.source,
                  tuple(e.record for e in extra))
    added = "".join(f" (+{len(e.labels)} from {e.path})" for e in extra)
    log(f"data: {len(data.x_fit)} training{added} and {len(data.x_val)} validation images, of which "
        f"{len(pen_drawn[1])} are digits redrawn with a pen and {len(fit_others[1])} and {len(val_others[1])} are "
        f"not digits; {len(data.x_test)} test images")
    return data


def restore(config: TrainConfig, run: Run, log):
    """(trainer, classifier), built and compiled under the run's strategy and precision with all their
    state created; when resuming, every variable holds the checkpoint's value."""
    keras_fixes.seed_everything(config.seed + run.first_epoch)  # a resumed run draws new, repeatable numbers
    keras.config.set_dtype_policy(run.hardware.precision)
    try:
        with run.hardware.scope():
            trainer, classifier = build_trainer(config, run.peak_lr, run.steps_per_epoch, run.hardware.jit_compile)
            keras_fixes.build_from_host_batch(trainer, (mnist.to_model_input(run.data.x_fit[:2]), run.data.y_fit[:2]))
            if run.hardware.multiworker:
                keras_fixes.skip_distributed_build(trainer)
            if run.resumed:
                checkpoint.restore(run.ckpt_dir, trainer, run.resumed)
    finally:
        keras.config.set_dtype_policy("float32")
    log(f"model: {classifier.count_params():,} parameters; {config.epochs} epochs of {run.steps_per_epoch} steps "
        f"of {run.global_batch} images; peak learning rate {run.peak_lr:.2g}")
    return trainer, classifier


def fit(trainer: keras.Model, config: TrainConfig, run: Run, callbacks, log) -> tuple[list[dict], float]:
    """Train epochs run.first_epoch+1 .. config.epochs, checkpointing each; returns (history rows, seconds).
    Raises TrainingInterrupted on Ctrl-C/SIGTERM."""
    epoch_log = EpochLog(config.epochs, log, rows=run.resumed["history"] if run.resumed else [])
    saver = checkpoint.EveryEpoch(run.ckpt_dir, config, run.hardware.replicas, epoch_log.rows, run.hardware.is_chief,
                                  run.data.extra)
    if run.hardware.is_chief and not run.resumed and run.ckpt_dir.exists():
        checkpoint.remove(run.ckpt_dir)  # a fresh run must not be resumable as an older one
    started = time.perf_counter()
    with _signals_as_interrupts() as caught:
        try:
            trainer.fit(**run.fit_kwargs, epochs=config.epochs, initial_epoch=run.first_epoch,
                        callbacks=[epoch_log, saver, *callbacks], verbose=0)
        except KeyboardInterrupt:
            latest = run.ckpt_dir / checkpoint.LATEST
            done = checkpoint.read_state(run.ckpt_dir)["epoch"] if latest.exists() else 0
            raise TrainingInterrupted(done, caught.get("signal", "SIGINT")) from None
    return epoch_log.rows, time.perf_counter() - started


def write(out_dir: Path, config: TrainConfig, run: Run, classifier: keras.Model, history: list[dict],
          train_seconds: float, started: float, log) -> dict:
    """The trained classifier made final (finalize), measured (measure) and recorded (record); on the chief,
    saved (save). Returns the metrics dict."""
    final, calibrated, prior = finalize(config, run, classifier, log)
    measured = measure(final, config, run, log)
    metrics = record(config, run, final, measured, calibrated, prior, history, train_seconds, started)
    if run.hardware.is_chief:
        save(out_dir, final, metrics, run.ckpt_dir, log)
    return metrics


def finalize(config: TrainConfig, run: Run, classifier: keras.Model, log) -> tuple[keras.Model, dict, dict | None]:
    """A float32 copy of the classifier, outside any strategy (what export and the page get), calibrated on the
    validation images and set to expect non-digits as often as the page does: (model, calibration, prior)."""
    final = build_model(config.model)
    final.set_weights(classifier.get_weights())
    calibrated = calibrate(final, mnist.to_model_input(run.data.x_val), run.data.y_val, run.hardware.replicas, log)
    prior = expect_nondigits(final, float(np.mean(run.data.y_fit == NOT_A_DIGIT)), config.nondigit_prior, log)
    return final, calibrated, prior


def measure(final: keras.Model, config: TrainConfig, run: Run, log) -> dict:
    """The final model on the test images, and how often it shows "?" for non-digits of held-out sources and for new
    samples of trained ones: {test_accuracy, test_loss, test_images, nondigits_held_out, nondigits_trained_sources}."""
    test_accuracy, test_loss = evaluate_on(final, mnist.to_model_input(run.data.x_test), run.data.y_test,
                                           run.hardware.replicas)
    log(f"test: accuracy {test_accuracy:.4%}, loss {test_loss:.4f} on {len(run.data.x_test)} images")
    per_source = nondigits_per_source(config)
    held_out = doubted_nondigits(final, config.seed, sources.HELD_OUT, per_source, log)
    trained_sources = doubted_nondigits(final, config.seed, sources.TRAINED, per_source, log)
    log(f"test: {held_out['doubted']:.1%} of {held_out['images']} non-digits from sources never trained on shown as ? "
        f"({', '.join(f'{k} {v:.1%}' for k, v in held_out['sources'].items())}); new samples of trained sources "
        f"{trained_sources['doubted']:.1%}")
    return {"test_accuracy": test_accuracy, "test_loss": test_loss, "test_images": int(len(run.data.x_test)),
            "nondigits_held_out": held_out, "nondigits_trained_sources": trained_sources}


def record(config: TrainConfig, run: Run, final: keras.Model, measured: dict, calibrated: dict, prior: dict | None,
           history: list[dict], train_seconds: float, started: float) -> dict:
    """metrics.json's content: what was measured, and the run that made the model (its settings, data, devices,
    versions and times)."""
    return {
        "test_accuracy": measured["test_accuracy"],
        "test_loss": measured["test_loss"],
        "test_images": measured["test_images"],
        "validation_accuracy": history[-1].get("val_accuracy") if history else None,
        "calibration": calibrated,
        "nondigit_prior": prior,
        "nondigits_held_out": measured["nondigits_held_out"],
        "nondigits_trained_sources": measured["nondigits_trained_sources"],
        "epochs": config.epochs,
        "history": history,
        "parameters": int(final.count_params()),
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "resumed_after_epoch": run.first_epoch or None,
        "global_batch": run.global_batch,
        "steps_per_epoch": run.steps_per_epoch,
        "train_images": int(len(run.data.x_fit)),  # the extra data's rows included
        "validation_images": int(len(run.data.x_val)),
        "extra_data": list(run.data.extra),
        "peak_learning_rate": run.peak_lr,
        "config": config.to_dict(),
        "seed": config.seed,
        "data_source": run.data.source,
        "strategy": run.hardware.describe(),
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }


def save(out_dir: Path, final: keras.Model, metrics: dict, ckpt_dir: Path, log) -> None:
    """model.keras, then metrics.json holding its SHA-256 (the pair's link: export and evaluate refuse a model.keras
    whose hash is not this one), each atomically, into `out_dir`; the checkpoint is removed then."""
    model_path, metrics_path = out_dir / artifacts.MODEL_FILE, out_dir / artifacts.METRICS_FILE
    out_dir.mkdir(parents=True, exist_ok=True)
    with keras_fixes.tensorflow_not_probed():
        artifacts.save_keras_model(final, model_path)
    metrics[artifacts.MODEL_HASH] = artifacts.file_sha256(model_path)
    artifacts.write_json(metrics_path, metrics)
    checkpoint.remove(ckpt_dir)
    log(f"train: wrote {model_path} and {metrics_path}")


def nondigits_per_source(config: TrainConfig) -> int:
    """How many drawings of each non-digit source the final model is measured on: NONDIGITS_PER_SOURCE, fewer in
    proportion when --test-limit cuts the test images (a quick run measures less of everything)."""
    if not config.test_limit:
        return NONDIGITS_PER_SOURCE
    return min(NONDIGITS_PER_SOURCE, max(MIN_PER_SOURCE, round(config.test_limit * NONDIGITS_PER_TEST_IMAGE)))


def doubted_nondigits(model: keras.Model, seed: int, names: tuple[str, ...],
                      per_source: int = NONDIGITS_PER_SOURCE, log=print) -> dict:
    """How often `model` shows "?" (the page's rule, calibration.shown_digits) for new drawings (seeds training never
    uses) of each non-digit source in `names` (pipeline.data.sources): {"images", "doubted": fraction over all,
    "sources": {source: fraction}}. On sources.HELD_OUT: doubt on sources never trained on; on sources.TRAINED:
    on new samples of trained ones."""
    images = np.concatenate([nondigits.generate(per_source, seed + 100 + list(sources.SOURCES).index(name), (name,),
                                                cache_dir=cache.folder(nondigits.FOLDER), log=log) for name in names])
    doubted = calibration.shown_digits(predict_all(model, mnist.to_model_input(images))) == -1
    fractions = dict(zip(names, doubted.reshape(len(names), per_source).mean(1).tolist()))
    return {"images": len(images), "doubted": float(doubted.mean()), "sources": fractions}


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
        raise DataError(f"{len(x_fit)} training images are fewer than one global batch of {global_batch}")
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


# ------------------------------------------------------------------- helpers


def predict_all(model: keras.Model, images: np.ndarray, replicas: int = 1) -> np.ndarray:
    """(N, 10) probabilities of `model` on float32 (N, 28, 28, 1) images; padded so that every batch
    splits evenly across `replicas` devices."""
    padded, _, _ = pad_to_multiple(images, np.zeros(len(images), np.uint8), replicas)
    batch = max(replicas, EVAL_BATCH // replicas * replicas)
    return np.asarray(model.predict(padded, batch_size=batch, verbose=0))[: len(images)]


def evaluate_on(model: keras.Model, images: np.ndarray, labels: np.ndarray, replicas: int = 1):
    """(accuracy, mean cross-entropy) of `model` on float32 (N, 28, 28, 1) images."""
    probs = predict_all(model, images, replicas)
    accuracy = float(np.mean(probs.argmax(1) == labels))
    loss = float(np.mean(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))))
    return accuracy, loss


def calibrate(model: keras.Model, images: np.ndarray, labels: np.ndarray, replicas: int, log) -> dict | None:
    """Fit the temperature on the validation images and fold it into the model's last layer
    (pipeline/calibration.py): its probabilities come out calibrated, its argmax unchanged.
    Returns what metrics.json records, or None (model left as it is) without validation images."""
    if len(images) == 0:
        log("calibration: none (no validation images; --validation-size 0)")
        return None
    probs = predict_all(model, images, replicas)
    temperature = calibration.fit_temperature(probs, labels)
    layer = model.get_layer(OUTPUT_LAYER)
    layer.set_weights([weight / temperature for weight in layer.get_weights()])
    after = calibration.scaled(probs, temperature)
    result = {
        "temperature": temperature,
        "fitted_on": f"{len(images)} validation images",
        "validation_ece_before": calibration.expected_calibration_error(probs, labels),
        "validation_ece_after": calibration.expected_calibration_error(after, labels),
        "validation_nll_before": calibration.negative_log_likelihood(probs, labels),
        "validation_nll_after": calibration.negative_log_likelihood(after, labels),
    }
    log(f"calibration: temperature {temperature:.3f}; validation ECE {result['validation_ece_before']:.2%} -> "
        f"{result['validation_ece_after']:.2%}")
    return result


def expect_nondigits(model: keras.Model, trained: float, expected: float, log) -> dict | None:
    """Move "not a digit" from its share of the training images to the share the page expects, in the
    model's last layer (pipeline/calibration.py: Prior). Returns what metrics.json records, or None
    (model left as it is) when training saw no non-digits (--nondigits 0)."""
    if trained == 0:
        log("prior: none (no non-digits trained on; --nondigits 0)")
        return None
    shift = calibration.prior_shift(trained, expected)
    layer = model.get_layer(OUTPUT_LAYER)
    kernel, bias = layer.get_weights()
    bias[NOT_A_DIGIT] += shift
    layer.set_weights([kernel, bias])
    log(f"prior: not a digit moved from {trained:.1%} of training images to {expected:.1%} (logit {shift:+.3f})")
    return {"trained": trained, "expected": expected, "logit_shift": shift}


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
