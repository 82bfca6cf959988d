"""The `pipeline` command: train, export, build, evaluate, serve.

Each command parses its flags, builds the stage's config and calls one function
of the stage's module. Heavy imports (TensorFlow) happen inside the commands so
`--help` and a mistake in the flags stay instant. The group is the one error
boundary: a user mistake ends with one line and exit 1 (a usage error: exit 2);
anything unexpected ends with one line too and exit 70 (`pipeline --debug`
shows its traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
import tempfile
from pathlib import Path

import click

from pipeline.artifacts import CHECKPOINT_DIR, MIN_ACCURACY, ArtifactError
from pipeline.config import MEANINGS, SETTINGS, ExportConfig, SubsetConfig
from pipeline.tools.sweep import PARAMETERS as SWEEP_PARAMETERS
from pipeline.train.profiles import PROFILES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the way

INTERNAL_ERROR = 70  # exit code of an unexpected exception (EX_SOFTWARE in sysexits.h)

ALLOW_WEAK = click.option(
    "--allow-weak", is_flag=True,
    help=f"Go ahead with a model below the {MIN_ACCURACY:.0%} MNIST test accuracy floor (a deliberately tiny or test model).")
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
    """A click group whose every failure prints exactly one line on stderr, never a traceback.

    click prints a usage line, a hint and a blank line before a usage error; here the
    hint joins the error's line: `Error: Invalid value for '--epochs': ... (see pipeline train --help)`.
    An OSError (permission denied, is a directory, disk full) is one line and exit 1 too. Any other
    exception is a bug: one line naming it and exit 70, or its traceback with `pipeline --debug`.
    Ctrl-C is click's: "Aborted!" and exit 1, unless the command handles it (train, sweep, serve).
    """

    debug = False  # set by the group's --debug for the run in progress

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        OneLineErrors.debug = False
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # bare `pipeline`: the help, as click shows it
            err.show()
            sys.exit(err.exit_code)
        except click.ClickException as err:
            hint = ""
            if isinstance(err, click.UsageError) and err.ctx is not None:
                hint = f" (see {err.ctx.command_path} --help)"
            _one_line(f"Error: {err.format_message()}{hint}", err.exit_code)
        except click.Abort:
            _one_line("Aborted!", 1)
        except OSError as err:
            _one_line(f"Error: {err.filename + ': ' if err.filename else ''}{err.strerror or err}", 1)
        except Exception as err:  # a bug, not a mistake of the user's
            if OneLineErrors.debug:
                raise
            message = str(err).splitlines()[0][:300] if str(err).strip() else "(no message)"
            _one_line(f"Error: internal error: {type(err).__name__}: {message}; "
                      "run with --debug for the traceback", INTERNAL_ERROR)
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(line: str, code: int):
    click.echo(" ".join(line.split("\n")), err=True)
    sys.exit(code)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="On an internal error (exit 70), show its traceback.")
def main(debug):
    """Train a digit-recognising CNN on MNIST, convert it to TensorFlow.js and build a static site.

    \b
    pipeline train     MNIST -> artifacts/model.keras + metrics.json
    pipeline export    artifacts/model.keras -> artifacts/tfjs/ (checked against Keras)
    pipeline build     artifacts/ + site_template/ -> dist/ (for GitHub Pages)
    pipeline evaluate  accuracy, per-class precision/recall/F1, confusion matrix
    pipeline predict   the digit or number in PNG/JPEG files, with the page's preprocessing
    pipeline sweep     hyperparameter search, chosen by validation accuracy
    pipeline serve     preview dist/ on http://127.0.0.1
    """
    OneLineErrors.debug = debug


def _profile_default(field: str) -> str:
    """'[default: V]' for TrainConfig field `field` ('augment.strength' for nested ones), read from
    the profiles; where they differ, each profile's value."""
    values = {}
    for name, config in PROFILES.items():
        value = config
        for part in field.split("."):
            value = getattr(value, part)
        values[name] = value
    if len(set(values.values())) == 1:
        return f"[default: {values['default']}]"
    return "[default: " + ", ".join(f"{value} ({name})" for name, value in values.items()) + "]"


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (which pass its comparisons)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _setting(field: str) -> click.ParamType:
    """The click type of a TrainConfig field's flag, from its type and range in pipeline.config.SETTINGS
    (the settings-file reader checks against the same table)."""
    setting = SETTINGS[field]
    if setting.kind is str:
        return click.Choice(setting.choices)
    if setting.kind is int:
        return click.IntRange(setting.low, setting.top)
    return FiniteFloatRange(setting.low, setting.high, min_open=setting.low_open, max_open=setting.high_open)


# The TrainConfig fields that `train` takes as flags, in --help's order. A flag is its field's name with dashes
# (augment.strength: --augment-strength) unless FLAG_NAMES names it; its type, range and help are the field's.
TRAIN_FLAGS = ("epochs", "batch_size", "learning_rate", "lr_scaling", "seed", "validation_size", "nondigits",
               "nondigit_prior", "redrawn", "augment.strength", "train_limit", "test_limit", "strategy", "precision",
               "jit_compile")
FLAG_NAMES = {"jit_compile": "--xla"}  # the name users know it by
SETTING_FIELDS = {field.replace(".", "_"): field for field in TRAIN_FLAGS}  # the flag's parameter -> its field


def _flag(field: str):
    """The click option of TrainConfig field `field`: its Setting's type, its meaning and its profiles' default."""
    name = FLAG_NAMES.get(field, "--" + field.replace(".", "-").replace("_", "-"))
    return click.option(name, field.replace(".", "_"), type=_setting(field),
                        help=f"{MEANINGS[field]} {_profile_default(field)}")


TRAIN_SETTINGS = [_flag(field) for field in TRAIN_FLAGS]


def _train_settings(command):
    """Decorate `command` with every TRAIN_SETTINGS flag, in the listed order."""
    for option in reversed(TRAIN_SETTINGS):
        command = option(command)
    return command


@main.command()
@ARTIFACTS
@DATA
@click.option("--profile", type=click.Choice(list(PROFILES)), default="default", show_default=True,
              help="Preset: default (2-core CPU budget), fast (one GPU, seconds), accurate (wider, longer; GPU).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Training settings as JSON (TrainConfig.to_dict(), e.g. sweep's best.json, or a metrics.json); "
              "replaces --profile.")
@click.option("--resume", is_flag=True,
              help="Continue from ARTIFACTS/checkpoint/ (the last completed epoch) with the settings saved there.")
@click.option("--extra-data", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              metavar="FILE", help="More labelled digits for training (repeatable): a Kaggle-style CSV "
              "with Kaggle's header (label,pixel0,...,pixel783; pixels 0-255, white ink on black). Its rows go to the "
              "training images only, never to validation or test; --resume needs the same files.")
@_train_settings
@click.option("--cpu-replicas", type=click.IntRange(min=1), default=1, show_default=True,
              help="Split the CPU into this many logical devices (to try the multi-device paths without GPUs).")
@click.option("--workers", default=None, metavar="HOST:PORT,...",
              help="Multi-worker training: every worker's address, the same list and order on each machine.")
@click.option("--worker-index", type=click.IntRange(min=0), default=None,
              help="This machine's position in --workers (0 is the chief, which writes the artefacts).")
def train(artifacts, data, profile, config_file, resume, extra_data, cpu_replicas, workers, worker_index, **settings):
    """Train the CNN on MNIST; write ARTIFACTS/model.keras and ARTIFACTS/metrics.json.

    Settings come from --profile (or --config FILE), then the flags given. Every
    completed epoch is checkpointed in ARTIFACTS/checkpoint/; after Ctrl-C or a
    kill, `pipeline train --resume` continues from there.
    """
    from pipeline.config import ConfigFileError
    from pipeline.data import DataError
    from pipeline.train.inputs import read_inputs
    from pipeline.train.latest import ResumeError, read_state
    from pipeline.train.profiles import with_overrides

    _join_cluster(workers, worker_index)
    overrides = {SETTING_FIELDS.get(k, k): v for k, v in settings.items() if v is not None}
    folder = artifacts / CHECKPOINT_DIR
    try:  # every input read once, before TensorFlow starts its devices and talks: a bad one fails in one line
        resumed = read_state(folder) if resume else None
        config = with_overrides(_train_base(profile, config_file, resumed), overrides)
        inputs = read_inputs(data, extra_data, resumed, folder, log=click.echo)
    except (ConfigFileError, DataError, ResumeError) as err:
        _fail(err)
    if cpu_replicas > 1:
        _stage("train.distribute").split_cpu(cpu_replicas)  # before the backend starts its devices
    stage = _stage("train.loop")  # first, so TensorFlow's import chatter is held back
    from pipeline.train.cluster import DistributeError

    try:
        stage.train(config, artifacts, inputs=inputs)
    except stage.TrainingInterrupted as stop:
        click.echo(str(stop), err=True)
        raise SystemExit(143 if stop.signal_name == "SIGTERM" else 130) from None
    except KeyboardInterrupt:  # Ctrl-C while setting up, before the first epoch started
        click.echo("interrupted before training started; nothing was written", err=True)
        raise SystemExit(130) from None
    except (DataError, ResumeError, DistributeError) as err:
        _fail(err)


def _join_cluster(workers: str | None, worker_index: int | None) -> None:
    """--workers/--worker-index: set TF_CONFIG for this worker (both flags or neither)."""
    if (workers is None) != (worker_index is None):
        raise click.UsageError("--workers and --worker-index go together")
    if workers is None:
        return
    from pipeline.train.cluster import parse_workers, write_tf_config

    try:
        write_tf_config(parse_workers(workers), worker_index)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--workers/--worker-index") from None


def _train_base(profile: str, config_file: Path | None, resumed: dict | None):
    """The TrainConfig the flags override: --config's file, else on --resume the checkpoint's (`resumed`, its
    latest.json; unless --profile was given), else the profile's."""
    from pipeline.config import TrainConfig, read_train_config
    from pipeline.train.profiles import profile_config

    if config_file is not None:
        return read_train_config(config_file)
    profile_given = click.get_current_context().get_parameter_source("profile") == click.core.ParameterSource.COMMANDLINE
    if resumed is not None and not profile_given:
        return TrainConfig.from_dict(resumed["config"])
    return profile_config(profile)


@main.command(help=f"""Convert ARTIFACTS/model.keras to a TensorFlow.js graph model in ARTIFACTS/tfjs/.

    The converted model is run with tfjs (wasm) on the {ExportConfig.parity_images:,} test images and
    must agree with Keras on at least {ExportConfig.min_agreement:.1%} of them, or nothing is replaced.
    A model below {ExportConfig.min_accuracy:.0%} test accuracy, or not the one metrics.json
    describes, is refused.
    """)
@ARTIFACTS
@DATA
@click.option("--quantize", type=click.Choice(["uint8", "float16", "none"]), default=ExportConfig.quantize, show_default=True,
              help="Weight quantization of the tfjs model (uint8: 4x smaller).")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed @tensorflow/tfjs (used for the parity check).")
@ALLOW_WEAK
def export(artifacts, data, quantize, node_modules, allow_weak):
    stage = _stage("export")
    from pipeline.data import DataError

    config = ExportConfig(quantize=quantize, **({"min_accuracy": 0.0} if allow_weak else {}))
    try:
        stage.export(artifacts, config, node_modules=node_modules, data_path=data)
    except (stage.ExportError, DataError, ArtifactError) as err:
        _fail(err)


@main.command()
@ARTIFACTS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"), show_default=True,
              help="Output folder, replaced whole: new, empty, or a previous build.")
@click.option("--template", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("site_template"), show_default=True, help="Folder of Jinja templates and assets.")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("node_modules"),
              show_default=True, help="Where npm installed the tfjs bundles that are self-hosted.")
@DATA
@click.option("--train-per-class", type=click.IntRange(min=1), default=SubsetConfig.train_per_class, show_default=True,
              help="Training images per digit shipped for train.html (from the MNIST training set).")
@click.option("--test-per-class", type=click.IntRange(min=1), default=SubsetConfig.test_per_class, show_default=True,
              help="Held-out images per digit shipped for train.html (from the MNIST test set).")
@ALLOW_WEAK
def build(artifacts, out, template, node_modules, data, train_per_class, test_per_class, allow_weak):
    """Render the static site into OUT (default dist/), ready for GitHub Pages.

    Also ships a class-balanced MNIST subset (OUT/data/) that train.html
    trains on in the visitor's browser. OUT must be new, empty or a previous
    build, apart from the inputs; a model below the accuracy floor is refused (see --allow-weak).
    """
    from pipeline.build import site

    subset = SubsetConfig(train_per_class=train_per_class, test_per_class=test_per_class)
    try:
        site.build(artifacts, out, template, node_modules, subset=subset, data_path=data,
                   **({"min_accuracy": 0.0} if allow_weak else {}))
    except (site.BuildError, ArtifactError) as err:
        _fail(err)


@main.command()
@ARTIFACTS
@DATA
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def evaluate(artifacts, data, as_json):
    """Evaluate ARTIFACTS/model.keras on the 10,000 MNIST test images."""
    stage = _stage("tools.evaluate")
    from pipeline.data import DataError

    try:
        result = stage.evaluate(artifacts, data_path=data)
    except (stage.EvaluateError, DataError, ArtifactError) as err:
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
    """Read the digit or the number in each IMAGE (PNG or JPEG, any size, dark-on-light or light-on-dark).

    The ink is found from the transparency or from the contrast with the
    border; its marks are grouped into digits, left to right; each digit gets
    the page's MNIST-style preprocessing (crop, fit to 20 px, centre of mass
    in 28x28), then ARTIFACTS/model.keras (or, with --runtime tfjs, the
    shipped TensorFlow.js model) reads all of them in one batch. Prints the
    digit and its ten probabilities per image; for a number, the number, then
    each digit with its box (x,y width x height, pixels) and probabilities.
    """
    from pipeline.tools import predict as stage

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
              "with --random also a range LOW..HIGH. Repeatable. NAME: " + ", ".join(SWEEP_PARAMETERS) + ".")
@click.option("--space", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file of NAME=VALUES lines (# comments); --grid flags add to or override it.")
@click.option("--random", "random_trials", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random search: this many seeded draws from the space (0: the full grid).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the random search's draws.")
@click.option("--base", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Base training settings: a TrainConfig JSON (a best.json) or a metrics.json, read as "
              "`train --config` reads them; default: train's defaults.")
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
    import shlex

    from pipeline.config import ConfigFileError
    from pipeline.tools import sweep as stage

    limits = {"train_limit": train_limit, "validation_size": validation_size, "test_limit": test_limit}
    try:
        space_values = _search_space(stage, space, grid)
        base_config = _sweep_base(base, limits)
        command = shlex.split(train_command) if train_command else None
        stage.sweep(space_values, out, base_config, random=random_trials, seed=seed, data_path=data,
                    train_command=command, log=click.echo)
    except (stage.SweepError, ConfigFileError) as err:
        _fail(err)
    except KeyboardInterrupt:
        finished = len(stage.read_results(out))
        click.echo(f"sweep: interrupted; {finished} trials recorded in {out / stage.RESULTS_CSV}. "
                   "Run the same command again to resume.", err=True)
        raise SystemExit(130) from None


def _search_space(stage, space_file: Path | None, grid: tuple[str, ...]) -> dict:
    """The --space file's NAME=VALUES, then the --grid flags over them; SweepError when both are empty."""
    values = stage.read_space_file(space_file) if space_file else {}
    if grid:
        values.update(stage.parse_space(list(grid)))
    if not values:
        raise stage.SweepError("no search space: give --grid NAME=VALUES or --space FILE")
    return values


def _sweep_base(base: Path | None, limits: dict):
    """The config every trial starts from: --base's (read as `train --config` reads it) or train's
    defaults, with the limits that were given."""
    import dataclasses

    from pipeline.config import TrainConfig, read_train_config

    config = read_train_config(base) if base else TrainConfig()
    return dataclasses.replace(config, **{k: v for k, v in limits.items() if v is not None})


@main.command()
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to serve.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--base", default="/", show_default=True,
              help="URL prefix, e.g. /REPO/ to preview a GitHub Pages project path.")
def serve(dist, port, base):
    """Preview the built site on http://127.0.0.1:PORT/ (Ctrl-C stops)."""
    from pipeline.tools.serve import make_server

    try:
        server = make_server(dist, port=port, base=base, verbose=True)
    except OSError as err:
        _fail(f"--port {port}: {err.strerror}")
    click.echo(f"serving {dist} at http://127.0.0.1:{server.server_address[1]}{server.base} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
