"""The `pipeline` command: train, export, build, evaluate, serve.

Each command parses its flags, builds the stage's config and calls one function
of the stage's module. Heavy imports (TensorFlow) happen inside the commands so
`--help` stays instant. User mistakes end with one line and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import sys
import tempfile
from pathlib import Path

import click

from pipeline.artifacts import ArtifactError
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
    help="MNIST to use instead of the cache/download: a folder of IDX files (raw or .gz) or an .npz.",
)


DEFAULTS = TrainConfig()  # the flags mirror its fields; defaults are named once, there


def _fail(err: Exception):
    raise click.ClickException(str(err)) from None


def _stage(name: str):
    """Import the stage module `pipeline.NAME`, holding back what native code prints to stderr meanwhile.

    Importing TensorFlow prints C++ start-up chatter (cuDNN/cuFFT factory registration,
    absl warnings) straight to file descriptor 2, which would bury a one-line error.
    It is shown only if the import itself fails.
    """
    with _native_stderr_held():
        return importlib.import_module(f"pipeline.{name}")


@contextlib.contextmanager
def _native_stderr_held():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class OneLineErrors(click.Group):
    """A click group whose user mistakes print exactly one line on stderr and exit non-zero.

    click prints a usage line, a hint and a blank line before a usage error; here the
    hint joins the error's line: `Error: Invalid value for '--epochs': ... (see pipeline train --help)`.
    An OSError that names a file (permission denied, is a directory, disk full) is one line too.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # bare `pipeline`: the help, as click shows it
            err.show()
            sys.exit(err.exit_code)
        except click.ClickException as err:
            hint = ""
            if isinstance(err, click.UsageError) and err.ctx is not None:
                hint = f" (see {err.ctx.command_path} --help)"
            click.echo(f"Error: {err.format_message()}{hint}", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except OSError as err:
            if err.filename is None:
                raise
            click.echo(f"Error: {err.filename}: {err.strerror}", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main():
    """Train a digit-recognising CNN on MNIST, convert it to TensorFlow.js and build a static site.

    \b
    pipeline train     MNIST -> artifacts/model.keras + metrics.json
    pipeline export    artifacts/model.keras -> artifacts/tfjs/ (checked against Keras)
    pipeline build     artifacts/ + site_template/ -> dist/ (for GitHub Pages)
    pipeline evaluate  accuracy and confusion matrix of the trained model
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
    stage = _stage("train")
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
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed @tensorflow/tfjs (used for the parity check).")
def export(artifacts, data, quantize, node_modules):
    """Convert ARTIFACTS/model.keras to a TensorFlow.js graph model in ARTIFACTS/tfjs/.

    The converted model is run with tfjs (wasm) on the 10,000 test images and
    must agree with Keras on at least 99.9 % of them, or nothing is replaced.
    """
    stage = _stage("export")
    from pipeline.data import DataError

    try:
        stage.export(artifacts, ExportConfig(quantize=quantize), node_modules=node_modules, data_path=data)
    except (stage.ExportError, DataError, ArtifactError) as err:
        _fail(err)


@main.command()
@ARTIFACTS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"), show_default=True,
              help="Output folder (replaced whole).")
@click.option("--template", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("site_template"), show_default=True, help="Folder of Jinja templates and assets.")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("node_modules"),
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
    stage = _stage("evaluate")
    from pipeline.data import DataError

    try:
        result = stage.evaluate(artifacts, data_path=data)
    except (stage.EvaluateError, DataError, ArtifactError) as err:
        _fail(err)
    click.echo(stage.to_json(result) if as_json else stage.to_text(result))


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
