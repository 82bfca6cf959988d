"""The `pipeline` command: train, export, build, evaluate, serve.

Each command parses its flags, builds the stage's config and calls one function
of the stage's module. Heavy imports (TensorFlow) happen inside the commands so
`--help` stays instant. User mistakes end with one line and a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from pipeline.config import AugmentConfig, ExportConfig, TrainConfig

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the way

ARTIFACTS = click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="Folder of trained artefacts (model.keras, metrics.json, tfjs/).",
)
DATA = click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="MNIST to use instead of the cache/download: a folder of IDX files (raw or .gz) or an .npz; "
    "also a Kaggle digit-recognizer train.csv or a folder of QMNIST files.",
)


DEFAULTS = TrainConfig()  # the flags mirror its fields; defaults are named once, there


def _fail(err: Exception):
    raise click.ClickException(str(err)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main():
    """Train a digit-recognising CNN on MNIST, convert it to TensorFlow.js and build a static site.

    \b
    pipeline train     MNIST -> artifacts/model.keras + metrics.json
    pipeline export    artifacts/model.keras -> artifacts/tfjs/ (checked against Keras)
    pipeline build     artifacts/ + site_template/ -> dist/ (for GitHub Pages)
    pipeline evaluate  accuracy, per-class precision/recall/F1, confusion matrix
    pipeline predict   the digit in PNG/JPEG files, with the page's preprocessing
    pipeline sweep     hyperparameter search, chosen by validation accuracy
    pipeline serve     preview dist/ on http://127.0.0.1
    """


@main.command()
@ARTIFACTS
@DATA
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULTS.epochs, show_default=True, help="Passes over the data.")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULTS.batch_size, show_default=True, help="Global batch size.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.learning_rate, show_default=True,
              help="Peak learning rate (AdamW, warm-up then cosine decay).")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed for weights, split and augmentation.")
@click.option("--validation-size", type=click.IntRange(min=0), default=DEFAULTS.validation_size, show_default=True,
              help="Training images held out for model selection.")
@click.option("--augment-strength", type=click.FloatRange(min=0), default=DEFAULTS.augment.strength, show_default=True,
              help="Scales shift/rotation/scale/shear/thickness augmentation; 0 turns it off.")
@click.option("--train-limit", type=click.IntRange(min=0), default=0, help="Train on only this many images (0 = all).")
@click.option("--test-limit", type=click.IntRange(min=0), default=0, help="Evaluate on only this many (0 = all).")
@click.option("--strategy", type=click.Choice(["auto", "default", "mirrored"]), default="auto", show_default=True,
              help="auto: MirroredStrategy when there are several GPUs, else one device.")
@click.option("--cpu-replicas", type=click.IntRange(min=1), default=1, show_default=True,
              help="Split the CPU into this many logical devices (to try MirroredStrategy without GPUs).")
def train(artifacts, data, epochs, batch_size, learning_rate, seed, validation_size, augment_strength,
          train_limit, test_limit, strategy, cpu_replicas):
    """Train the CNN on MNIST; write ARTIFACTS/model.keras and ARTIFACTS/metrics.json."""
    from pipeline import train as stage
    from pipeline.data import DataError

    if cpu_replicas > 1:
        stage.split_cpu(cpu_replicas)
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        validation_size=validation_size, train_limit=train_limit, test_limit=test_limit, strategy=strategy,
        augment=dataclasses.replace(AugmentConfig(), strength=augment_strength),
    )
    try:
        stage.train(config, artifacts, data_path=data)
    except DataError as err:
        _fail(err)


@main.command()
@ARTIFACTS
@DATA
@click.option("--quantize", type=click.Choice(["uint8", "float16", "none"]), default=ExportConfig.quantize, show_default=True,
              help="Weight quantization of the tfjs model (uint8: 4x smaller).")
@click.option("--node-modules", type=click.Path(file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed @tensorflow/tfjs (used for the parity check).")
def export(artifacts, data, quantize, node_modules):
    """Convert ARTIFACTS/model.keras to a TensorFlow.js graph model in ARTIFACTS/tfjs/.

    The converted model is run with tfjs (wasm) on the 10,000 test images and
    must agree with Keras on at least 99.9 % of them, or nothing is replaced.
    """
    from pipeline import export as stage
    from pipeline.data import DataError

    try:
        stage.export(artifacts, ExportConfig(quantize=quantize), node_modules=node_modules, data_path=data)
    except (stage.ExportError, DataError) as err:
        _fail(err)


@main.command()
@ARTIFACTS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"), show_default=True,
              help="Output folder (replaced whole).")
@click.option("--template", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("site_template"), show_default=True, help="Folder of Jinja templates and assets.")
@click.option("--node-modules", type=click.Path(file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed the tfjs bundles that are self-hosted.")
def build(artifacts, out, template, node_modules):
    """Render the static site into OUT (default dist/), ready for GitHub Pages."""
    from pipeline import site

    try:
        site.build(artifacts, out, template, node_modules)
    except site.BuildError as err:
        _fail(err)


@main.command()
@ARTIFACTS
@DATA
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def evaluate(artifacts, data, as_json):
    """Evaluate ARTIFACTS/model.keras on the 10,000 MNIST test images."""
    from pipeline import evaluate as stage
    from pipeline.data import DataError

    try:
        result = stage.evaluate(artifacts, data_path=data)
    except (stage.EvaluateError, DataError) as err:
        _fail(err)
    click.echo(stage.to_json(result) if as_json else stage.to_text(result))


@main.command()
@ARTIFACTS
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--runtime", type=click.Choice(["keras", "tfjs"]), default="keras", show_default=True,
              help="keras: ARTIFACTS/model.keras; tfjs: the shipped ARTIFACTS/tfjs/ model, run with "
              "TensorFlow.js (wasm) in Node as the page runs it.")
@click.option("--node-modules", type=click.Path(file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed @tensorflow/tfjs (for --runtime tfjs).")
def predict(artifacts, images, as_json, runtime, node_modules):
    """Read the digit in each IMAGE (PNG or JPEG, any size, dark-on-light or light-on-dark).

    Each image gets the page's MNIST-style preprocessing (ink from the
    transparency or from the contrast with the border, crop, fit to 20 px,
    centre of mass in 28x28), then ARTIFACTS/model.keras (or, with --runtime
    tfjs, the shipped TensorFlow.js model) reads it. Prints the digit and the
    ten probabilities per image.
    """
    from pipeline import predict as stage

    try:
        results = stage.predict_files(list(images), artifacts, runtime=runtime, node_modules=node_modules)
    except stage.PredictError as err:
        _fail(err)
    click.echo(stage.to_json(results) if as_json else stage.to_text(results))


@main.command()
@DATA
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts/sweep"),
              show_default=True, help="Folder for trials/, results.csv, results.md and best.json (rerun to resume).")
@click.option("--grid", multiple=True, metavar="NAME=VALUES",
              help="A parameter and its values, e.g. learning_rate=1e-3,3e-3 or filters=16-16-32,32-32-64; "
              "with --random also a range LOW..HIGH. Repeatable. NAME: learning_rate, batch_size, filters, "
              "dropout, epochs, augment_strength.")
@click.option("--space", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file of NAME=VALUES lines (# comments); --grid flags add to or override it.")
@click.option("--random", "random_trials", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random search: this many seeded draws from the space (0: the full grid).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the random search's draws.")
@click.option("--base", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Base TrainConfig JSON (e.g. a metrics.json's config or a best.json); default: train's defaults.")
@click.option("--train-limit", type=click.IntRange(min=0), default=None, help="Train every trial on only this many images.")
@click.option("--validation-size", type=click.IntRange(min=1), default=None,
              help="Training images held out to choose by (default: the base config's).")
@click.option("--test-limit", type=click.IntRange(min=0), default=None,
              help="Images `train` evaluates on at its end (never used to choose).")
@click.option("--train-command", default=None, metavar="COMMAND",
              help="Command that trains one trial, given --config FILE --artifacts DIR [--data PATH] "
              "(e.g. a job launcher); default: this Python's `-m pipeline train`.")
def sweep(data, out, grid, space, random_trials, seed, base, train_limit, validation_size, test_limit, train_command):
    """Search hyperparameters; each trial is a `pipeline train` subprocess, chosen by validation accuracy.

    \b
    pipeline sweep --grid learning_rate=1e-3,3e-3 --grid batch_size=64,128
    pipeline sweep --random 8 --grid learning_rate=1e-4..1e-2 --grid dropout=0..0.5

    Writes OUT/results.csv (a row per finished trial), OUT/results.md (a table,
    best first) and OUT/best.json (`pipeline train --config OUT/best.json`
    reproduces it). Interrupted? Run the same command again: finished trials
    are skipped, the interrupted one reruns.
    """
    import json
    import shlex

    from pipeline import sweep as stage

    try:
        space_values = stage.read_space_file(space) if space else {}
        if grid:
            space_values.update(stage.parse_space(list(grid)))
        if not space_values:
            raise stage.SweepError("no search space: give --grid NAME=VALUES or --space FILE")
        base_config = TrainConfig()
        if base:
            try:
                base_config = TrainConfig.from_dict(json.loads(base.read_text()))
            except (ValueError, TypeError) as err:
                raise stage.SweepError(f"{base}: not a TrainConfig JSON ({str(err).splitlines()[0]})") from None
        overrides = {"train_limit": train_limit, "validation_size": validation_size, "test_limit": test_limit}
        base_config = dataclasses.replace(base_config, **{k: v for k, v in overrides.items() if v is not None})
        command = shlex.split(train_command) if train_command else None
        stage.sweep(space_values, out, base_config, random=random_trials, seed=seed, data_path=data,
                    train_command=command, log=click.echo)
    except stage.SweepError as err:
        _fail(err)
    except KeyboardInterrupt:
        finished = len(stage.read_results(out))
        click.echo(f"sweep: interrupted; {finished} trials recorded in {out / stage.RESULTS_CSV}. "
                   "Run the same command again to resume.", err=True)
        raise SystemExit(130) from None


@main.command()
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to serve.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--base", default="/", show_default=True,
              help="URL prefix, e.g. /REPO/ to preview a GitHub Pages project path.")
def serve(dist, port, base):
    """Preview the built site on http://127.0.0.1:PORT/ (Ctrl-C stops)."""
    from pipeline.serve import make_server

    try:
        server = make_server(dist, port=port, base=base, verbose=True)
    except OSError as err:
        _fail(f"--port {port}: {err.strerror}")
    click.echo(f"serving {dist} at http://127.0.0.1:{server.server_address[1]}{server.base} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
