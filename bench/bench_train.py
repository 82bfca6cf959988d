"""Training and export benchmark on the machine at hand: images/s, time to 99.5 %, export time, sizes.

    python -m bench.bench_train                      # the default config on all of MNIST
    python -m bench.bench_train --smoke              # 1 epoch on 2,000 images: checks the plumbing (~30 s of CPU)
    python -m bench.bench_train --export-only --artifacts DIR   # export figures of a model trained elsewhere

Trains with `pipeline.train.loop.train` and the default TrainConfig (so the figures
are those of `make train`), plus one Keras callback that, after every epoch,
classifies the 10,000 test images and notes the training time so far. The
callback's own evaluation time is left out of every figure; the validation pass
that training itself runs each epoch is left in the time to target (a user pays
for it) but out of images/s. Then exports the model once per quantization with
`pipeline.export.export` (including its tfjs parity check) and records the time
and the sizes.

Writes results (bench/results/ for the default config, bench/results/smoke/
otherwise, so a quick run never replaces the real figures):
  training.json          images/s, first epoch (with compilation), time to target, accuracy, wall time
  training-epochs.json   per epoch: seconds, training time so far, test accuracy
  export.json            per quantization: export seconds, model bytes, ratio to unquantized, parity
and leaves the trained model with its default (uint8) tfjs export in --artifacts,
for `bench.bench_page` to build a site from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import click

from bench.results_file import RESULTS, command_option, save_result
from pipeline.config import ExportConfig, TrainConfig

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.995  # test accuracy whose first crossing is timed (the training benchmark's 99.5 %)
QUANTIZATIONS = ("uint8", "float16", "none")  # all of ExportConfig.quantize's choices; the first is the default
SMOKE = {"epochs": 1, "train_limit": 2000, "validation_size": 500, "test_limit": 1000}  # TrainConfig fields
SMOKE_PARITY_IMAGES = 1000  # test images the smoke run's export checks
ACCURACY_CROSS_CHECK = 0.003  # most the callback's last test accuracy may differ from train()'s (precision noise)
SMOKE_MIN_AGREEMENT = 0.98  # a one-epoch model has many near-ties that uint8 weights may flip


# ------------------------------------------------------------------ callback


def epoch_test_accuracy_callback(x_test, y_test):
    """A Keras callback that times training and measures test accuracy after each epoch.

    x_test: float32 (N, 28, 28, 1), 0-1; y_test: int (N,). After fit, `.rows` holds per
    epoch: epoch, epoch_seconds (whole epoch, compilation and validation included),
    train_pass_seconds (the training pass alone), train_seconds (fit time so far,
    this callback's evaluations excluded) and test_accuracy (of the model as trained, before
    training's calibration); `.last_probabilities` the last epoch's (N, classes) predictions.
    """
    import keras
    import numpy as np

    class EpochTestAccuracy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.rows, self.excluded, self.fit_started = [], 0.0, time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started, self.pass_ended = time.perf_counter(), None

        def on_test_begin(self, logs=None):  # the validation pass inside fit starts: the training pass is over
            if self.pass_ended is None:
                self.pass_ended = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            ended = time.perf_counter()
            probs = self.model.predict(x_test, batch_size=1000, verbose=0)  # augmentation is off outside training
            self.last_probabilities = probs
            accuracy = float(np.mean(np.argmax(probs, axis=1) == y_test))
            self.rows.append({
                "epoch": epoch + 1,
                "epoch_seconds": ended - self.epoch_started,
                "train_pass_seconds": (self.pass_ended or ended) - self.epoch_started,
                "train_seconds": ended - self.fit_started - self.excluded,
                "test_accuracy": accuracy,
            })
            self.excluded += time.perf_counter() - ended

    return EpochTestAccuracy()


def calibrated_accuracy(probabilities, labels, metrics: dict) -> float:
    """The accuracy of the model as trained (its `probabilities`) once training's calibration is applied: the
    temperature, then the prior of "not a digit" (metrics.json's `calibration`, `nondigit_prior`)."""
    import numpy as np

    from pipeline import calibration

    temperature = (metrics.get("calibration") or {}).get("temperature", 1.0)
    shift = (metrics.get("nondigit_prior") or {}).get("logit_shift", 0.0)
    calibrated = calibration.with_prior_shift(calibration.scaled(probabilities, temperature), shift)
    return float(np.mean(calibrated.argmax(1) == np.asarray(labels)))


def train_with_callback(config: TrainConfig, out_dir: Path, callback, log) -> dict:
    """pipeline.train.loop.train(config, out_dir, callbacks=[callback]); returns its metrics."""
    from pipeline.train.loop import train

    return train(config, out_dir, log=log, callbacks=[callback])


# ------------------------------------------------------------------ figures


def training_rows(rows: list[dict], metrics: dict, images_per_epoch: int, target: float) -> list[list]:
    """The summary table of a run: [measure, value, unit]."""
    rates = [images_per_epoch / r["train_pass_seconds"] for r in rows]
    reached = next((r for r in rows if r["test_accuracy"] >= target), None)
    best = max(rows, key=lambda r: r["test_accuracy"])
    return [
        ["training throughput, median of epochs 2–N (training pass only)",
         round(statistics.median(rates[1:])) if len(rates) > 1 else None, "images/s"],
        ["training throughput, first epoch (with compilation)", round(rates[0]), "images/s"],
        ["first epoch, compilation and validation included", round(rows[0]["epoch_seconds"], 1), "s"],
        [f"time to {target:.1%} test accuracy (fit time, validation included)",
         round(reached["train_seconds"], 1) if reached else f"not reached (best {best['test_accuracy']:.2%})",
         "s" if reached else ""],
        [f"epoch that first reached {target:.1%}", reached["epoch"] if reached else None, ""],
        ["test accuracy after the last epoch", round(metrics["test_accuracy"] * 100, 2), "%"],
        ["fit time, all epochs (validation included)", round(rows[-1]["train_seconds"], 1), "s"],
        ["train() wall time (data, fit, test evaluation, saving)", metrics["wall_seconds"], "s"],
    ]


def epoch_rows(rows: list[dict]) -> list[list]:
    """Per epoch: [epoch, epoch seconds, training time so far, test accuracy %]."""
    return [[r["epoch"], round(r["epoch_seconds"], 1), round(r["train_seconds"], 1), round(r["test_accuracy"] * 100, 2)]
            for r in rows]


def export_all(artifacts_dir: Path, quantizations: tuple[str, ...], parity_images: int, min_agreement: float,
               log, min_accuracy: float = ExportConfig.min_accuracy) -> list[dict]:
    """Export artifacts_dir/model.keras once per quantization; the first lands in artifacts_dir/tfjs,
    the others in temporary copies. Returns one report per quantization (pipeline.export's, timed)."""
    from pipeline.export import export
    from pipeline.artifacts import MODEL_FILE

    reports = []
    for i, quantize in enumerate(quantizations):
        config = ExportConfig(quantize=quantize, parity_images=parity_images, min_agreement=min_agreement,
                              min_accuracy=min_accuracy)
        with tempfile.TemporaryDirectory() as tmp:
            target = artifacts_dir
            if i > 0:
                target = Path(tmp)
                shutil.copy2(artifacts_dir / MODEL_FILE, target / MODEL_FILE)
            started = time.perf_counter()
            report = export(target, config, node_modules=ROOT / "node_modules", log=log)
            reports.append({**report, "seconds": time.perf_counter() - started})
    return reports


def export_rows(reports: list[dict]) -> list[list]:
    """Per quantization: [quantize, seconds, model bytes, size ÷ unquantized, agreement %, max diff, tfjs acc %]."""
    unquantized = next((r["model_bytes"] for r in reports if r["quantize"] == "none"), None)
    return [[r["quantize"], round(r["seconds"], 1), r["model_bytes"],
             round(r["model_bytes"] / unquantized, 3) if unquantized else None,
             round(r["argmax_agreement"] * 100, 2), float(f"{r['max_probability_difference']:.2g}"),
             round(r["tfjs_test_accuracy"] * 100, 2)] for r in reports]


def accelerator() -> str:
    """The accelerators Keras trains on here, or 'none'."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        devices = [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    else:
        import tensorflow as tf

        devices = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                   for g in tf.config.list_physical_devices("GPU")]
    return ", ".join(devices) or "none"


# --------------------------------------------------------------------- CLI


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts/bench"),
              show_default=True, help="Where the trained model and its tfjs export are left.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where results go [default: {RESULTS.relative_to(ROOT)}, or its smoke/ for non-default runs].")
@click.option("--smoke", is_flag=True, help="Tiny run: 1 epoch on 2,000 images, uint8 export checked on 1,000.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the config's epochs.")
@click.option("--train-limit", type=click.IntRange(min=1), default=None, help="Use only this many training images.")
@click.option("--export-only", is_flag=True,
              help="Skip training: benchmark the export of the model.keras already in --artifacts.")
@click.option("--skip-export", is_flag=True,
              help="Training figures only (a machine with JAX but no TensorFlow cannot export).")
@click.option("--quantize", "quantizations", multiple=True, type=click.Choice(QUANTIZATIONS),
              help="Quantizations to export (repeatable) [default: all; uint8 only with --smoke].")
@click.option("--target", type=click.FloatRange(0, 1), default=TARGET, show_default=True,
              help="Test accuracy whose first crossing is timed.")
@command_option("bench.bench_train")
def main(artifacts: Path, results_dir: Path | None, smoke: bool, epochs: int | None, train_limit: int | None,
         export_only: bool, skip_export: bool, quantizations: tuple[str, ...], target: float, command_line: str | None):
    """Benchmark training (images/s, time to 99.5 % test accuracy) and export (time, sizes)."""
    if export_only and skip_export:
        raise click.UsageError("--export-only and --skip-export leave nothing to measure")
    config = TrainConfig(**SMOKE) if smoke else TrainConfig()
    overrides = {k: v for k, v in {"epochs": epochs, "train_limit": train_limit}.items() if v is not None}
    config = dataclasses.replace(config, **overrides)
    quantizations = quantizations or (QUANTIZATIONS[:1] if smoke else QUANTIZATIONS)
    if quantizations[0] != ExportConfig().quantize:  # the page bench builds from artifacts/tfjs: keep it the default
        quantizations = (ExportConfig().quantize, *[q for q in quantizations if q != ExportConfig().quantize])
    load_at_start = round(os.getloadavg()[0], 2)
    if export_only:
        metrics, config = trained_model(artifacts)
    results_dir = results_dir or (RESULTS if config == TrainConfig() else RESULTS / "smoke")
    from pipeline.data import DataError  # after the checks above: these start Keras
    from pipeline.export import ExportError

    try:
        if export_only:
            paths = []
        else:
            metrics, paths = benchmark_training(config, artifacts, target, command_line, results_dir)
        machine = machine_extras(metrics, load_at_start)
        if not skip_export:
            paths.append(benchmark_export(artifacts, quantizations, smoke, config_note(config, metrics),
                                          command_line, machine, results_dir))
    except (DataError, ExportError) as err:
        raise click.ClickException(str(err)) from None
    for path in paths:
        click.echo(f"bench: wrote {path}")


def trained_model(artifacts: Path) -> tuple[dict, TrainConfig]:
    """metrics.json of the model already in `artifacts`, and the config it was trained with."""
    metrics_file = artifacts / "metrics.json"
    if not (artifacts / "model.keras").is_file() or not metrics_file.is_file():
        raise click.ClickException(f"{artifacts}: no model.keras and metrics.json; --export-only needs a trained model")
    metrics = json.loads(metrics_file.read_text())
    try:
        return metrics, TrainConfig.from_dict(metrics["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise click.ClickException(f"{metrics_file}: config not readable by this version ({err})") from None


def config_note(config: TrainConfig, metrics: dict) -> str:
    """'' for the default config, else a sentence naming the fields that differ and the test accuracy."""
    differing = [f"{f.name}={getattr(config, f.name)}" for f in dataclasses.fields(config)
                 if getattr(config, f.name) != getattr(TrainConfig(), f.name)]
    if not differing:
        return ""
    return f"Not the default config: {', '.join(differing)} (test accuracy {metrics['test_accuracy']:.2%}). "


def machine_extras(metrics: dict, load_at_start: float) -> dict:
    """What the training figures depend on besides the CPU: accelerator, backend, strategy, precision."""
    strategy = metrics.get("strategy", {})
    return {"accelerator": accelerator(), "keras_backend": metrics.get("backend"), "strategy": strategy.get("name"),
            **{k: strategy[k] for k in ("precision", "jit_compile") if k in strategy},
            "load_average_1m_at_start": load_at_start}


def benchmark_training(config: TrainConfig, artifacts: Path, target: float, command_line: str,
                       results_dir: Path) -> tuple[dict, list[Path]]:
    """Train with the per-epoch test callback; write training.json and training-epochs.json.
    Returns train()'s metrics and the paths written."""
    from pipeline.data.mnist import load_mnist, to_model_input

    load_at_start = round(os.getloadavg()[0], 2)
    mnist = load_mnist(log=click.echo)
    x_test, y_test = mnist.x_test, mnist.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    callback = epoch_test_accuracy_callback(to_model_input(x_test), y_test)
    metrics = train_with_callback(config, artifacts, callback, log=click.echo)
    images_per_epoch = metrics["train_images"]  # MNIST's less the validation split, with the generated non-digits
    calibrated = calibrated_accuracy(callback.last_probabilities, y_test, metrics)
    if abs(calibrated - metrics["test_accuracy"]) > ACCURACY_CROSS_CHECK:
        raise click.ClickException(f"callback test accuracy {calibrated:.4f} (calibrated as training calibrates) "
                                   f"disagrees with train()'s {metrics['test_accuracy']:.4f}; the benchmark is "
                                   "measuring something else")
    machine = machine_extras(metrics, load_at_start)
    run = (f"{config_note(config, metrics)}{config.epochs} epoch{'s' * (config.epochs != 1)} of "
           f"{images_per_epoch:,} training images (redrawn digits and generated non-digits included), "
           f"batch {config.batch_size}, seed {config.seed}; test accuracy over {len(x_test):,} test images after each "
           "epoch by an extra callback whose own time is excluded, of the model as trained (train()'s figure comes "
           "after calibration, which moves \"not a digit\" to the page's prior).")
    paths = [
        save_result("training", title="Training: throughput and time to target accuracy", command=command_line,
                    columns=["measure", "value", "unit"],
                    rows=training_rows(callback.rows, metrics, images_per_epoch, target),
                    notes=run, extra_machine=machine, results_dir=results_dir),
        save_result("training-epochs", title="Training: test accuracy after each epoch", command=command_line,
                    columns=["epoch", "epoch (s)", "fit time so far (s)", "test accuracy (%)"],
                    rows=epoch_rows(callback.rows), notes=run, extra_machine=machine, results_dir=results_dir),
    ]
    return metrics, paths


def benchmark_export(artifacts: Path, quantizations: tuple[str, ...], smoke: bool, note: str, command_line: str,
                     machine: dict, results_dir: Path) -> Path:
    """Export artifacts/model.keras once per quantization; write export.json and return its path."""
    reports = export_all(artifacts, quantizations, SMOKE_PARITY_IMAGES if smoke else ExportConfig().parity_images,
                         SMOKE_MIN_AGREEMENT if smoke else ExportConfig().min_agreement, log=click.echo,
                         min_accuracy=0.0 if smoke else ExportConfig().min_accuracy)  # the smoke model is weak by design
    keras_bytes = (artifacts / "model.keras").stat().st_size
    return save_result(
        "export", title="Export: time and size per quantization", command=command_line,
        columns=["quantize", "export (s)", "model.json + weights (bytes)", "size ÷ unquantized",
                 "argmax agreement with Keras (%)", "largest probability difference", "tfjs test accuracy (%)"],
        rows=export_rows(reports),
        notes=(f"{note}Each export: load model.keras, model.export() to a SavedModel, tensorflowjs_converter, "
               f"then the tfjs model run in Node (wasm) on {reports[0]['parity_images']:,} test images against Keras. "
               f"model.keras: {keras_bytes:,} bytes. Sizes compared as ratios within this run."),
        extra_machine=machine, results_dir=results_dir)


if __name__ == "__main__":
    main()
