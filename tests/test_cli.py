"""The CLI's plumbing: help for every command, and user mistakes end in one line, exit 1 or 2, no traceback."""

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.helpers import one_line_error

COMMANDS = ["train", "export", "build", "evaluate", "predict", "sweep", "serve"]


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_top_level_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output and "--" in result.output


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "--epochs", "0"], ["--epochs", "0"]),
        (["train", "--epochs", "many"], ["--epochs", "many"]),
        (["train", "--learning-rate", "-1"], ["--learning-rate"]),
        (["train", "--strategy", "tpu"], ["--strategy", "tpu"]),
        (["train", "--data", "/no/such/mnist"], ["--data", "/no/such/mnist"]),
        (["export", "--quantize", "int4"], ["--quantize", "int4"]),
        (["serve", "--dist", "/no/such/dist"], ["--dist", "/no/such/dist"]),
        (["serve", "--port", "70000"], ["--port", "70000"]),
    ],
)
def test_bad_flags_are_named(args, fragments):
    one_line_error(run(*args), *fragments)


def test_train_help_takes_its_defaults_from_the_profiles():
    """One source per fact: the defaults shown are the TrainConfigs' that `train` would use."""
    from pipeline.config import TrainConfig
    from pipeline.train.profiles import PROFILES

    result = run("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # undo click's wrapping
    epochs = ", ".join(f"{config.epochs} ({name})" for name, config in PROFILES.items())
    assert f"Passes over the data. [default: {epochs}]" in text
    assert f"[default: {PROFILES['default'].epochs} (default)," in text
    assert f"model selection. [default: {TrainConfig().validation_size}]" in text
    assert f"0 turns it off. [default: {TrainConfig().augment.strength}]" in text
    assert f"[default: {TrainConfig().seed}]" in text


def test_missing_artefacts_are_named(tmp_path):
    one_line_error(run("export", "--artifacts", str(tmp_path)), "model.keras", "pipeline train")
    one_line_error(run("build", "--artifacts", str(tmp_path), "--out", str(tmp_path / "d")), "model.json", "export")
    one_line_error(run("evaluate", "--artifacts", str(tmp_path)), "model.keras")


def test_data_that_is_not_mnist_is_named(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    one_line_error(run("train", "--data", str(tmp_path), "--artifacts", str(tmp_path / "a")), "train-images-idx3-ubyte", "not an MNIST IDX file")
    assert not (tmp_path / "a").exists()


def test_evaluate_prints_a_readable_report(trained_artifacts):
    result = run("evaluate", "--artifacts", str(trained_artifacts))
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "confusion matrix" in result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("true")) + 1
    matrix_rows = [line.split()[1:12] for line in lines[start : start + 10]]  # "." is a zero; ten digits, ?, then the total
    assert sum(0 if c == "." else int(c) for row in matrix_rows for c in row) == 10000
