"""Every CLI mistake a user makes ends in exactly one line on stderr that names the flag or file,
exit 1 (a usage error: 2), nothing on stdout, no traceback and nothing written: bad paths, missing
or corrupt artefacts, bad numbers, unknown choices, unreadable data, an output folder that is a file,
a port in use. An unexpected exception is one line too, exit 70; `pipeline --debug` shows its traceback.

Each case runs the real `python -m pipeline` in a child process, as a user runs it, and reads its
real stderr. The CLI imports TensorFlow only inside the commands that need it, so most cases take
well under 2 s; the flag mistakes run side by side.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import NODE_MODULES, ROOT, SITE, TEMPLATE, check_one_line, finished, start_cli, start_cli_noting_imports


def run(*args: str) -> tuple[int, str]:
    """`python -m pipeline ARGS` in the current folder; returns (exit code, stderr)."""
    return finished(start_cli(*args))


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def a_file(path: Path, content: bytes = b"not what you think") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# (args built from the work folder, fragments the one line must contain)
FLAG_MISTAKES = {
    "negative epochs": (["train", "--epochs", "-3"], ["--epochs", "-3"]),
    "fractional epochs": (["train", "--epochs", "2.5"], ["--epochs", "2.5"]),
    "zero batch size": (["train", "--batch-size", "0"], ["--batch-size", "0"]),
    "learning rate not a number": (["train", "--learning-rate", "fast"], ["--learning-rate", "fast"]),
    "zero learning rate": (["train", "--learning-rate", "0"], ["--learning-rate", "0"]),
    "negative validation size": (["train", "--validation-size", "-1"], ["--validation-size", "-1"]),
    "negative augmentation": (["train", "--augment-strength", "-0.5"], ["--augment-strength", "-0.5"]),
    "zero cpu replicas": (["train", "--cpu-replicas", "0"], ["--cpu-replicas", "0"]),
    "unknown strategy": (["train", "--strategy", "tpu"], ["--strategy", "tpu"]),
    "unknown quantization": (["export", "--quantize", "int4"], ["--quantize", "int4"]),
    "data path missing": (["train", "--data", "no/such/mnist"], ["--data", "no/such/mnist"]),
    "evaluate data path missing": (["evaluate", "--data", "nowhere.npz"], ["--data", "nowhere.npz"]),
    "template folder missing": (["build", "--template", "no_template"], ["--template", "no_template"]),
    "node_modules missing for build": (["build", "--template", str(TEMPLATE), "--node-modules", "no_modules"],
                                       ["--node-modules", "no_modules"]),
    "node_modules missing for export": (["export", "--node-modules", "no_modules"], ["--node-modules", "no_modules"]),
    "serve a folder that is not there": (["serve", "--dist", "no_dist"], ["--dist", "no_dist"]),
    "port out of range": (["serve", "--port", "70000"], ["--port", "70000"]),
    "port not a number": (["serve", "--port", "http"], ["--port", "http"]),
    "unknown command": (["trian"], ["trian"]),
    "unknown option": (["train", "--epoch", "3"], ["--epoch"]),
    "option without its value": (["train", "--epochs"], ["--epochs"]),
}


def test_bad_flags(work):
    """All FLAG_MISTAKES, side by side; each fails alone in one line and writes nothing."""
    processes = {case: start_cli(*args) for case, (args, _) in FLAG_MISTAKES.items()}
    failures = []
    for case, process in processes.items():
        try:
            check_one_line(*finished(process), FLAG_MISTAKES[case][1])
        except AssertionError as err:
            failures.append(f"{case}: {err}")
    assert failures == []
    assert files_under(work) == set()


def test_artifacts_folder_that_is_a_file(work):
    a_file(work / "artifacts.txt")
    check_one_line(*run("train", "--artifacts", "artifacts.txt"), ["--artifacts", "artifacts.txt", "file"])


def test_out_folder_that_is_a_file(work):
    a_file(work / "dist")
    check_one_line(*run("build", "--out", "dist", *SITE), ["--out", "dist", "file"])


def test_serve_a_file_instead_of_a_folder(work):
    a_file(work / "index.html")
    check_one_line(*run("serve", "--dist", "index.html"), ["--dist", "index.html"])


def test_port_in_use(work):
    (work / "dist").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        check_one_line(*run("serve", "--dist", "dist", "--port", str(port)), [f"--port {port}", "in use"])


def test_export_without_a_trained_model(work):
    check_one_line(*run("export", "--artifacts", "empty", "--node-modules", str(NODE_MODULES)),
                   ["empty/model.keras", "pipeline train"])


def test_evaluate_without_a_trained_model(work):
    check_one_line(*run("evaluate", "--artifacts", "empty"), ["empty/model.keras"])


def test_build_without_an_exported_model(work):
    check_one_line(*run("build", "--artifacts", "empty", *SITE),
                   ["empty/tfjs/model.json", "pipeline export"])


def stand_in_export(artifacts: Path) -> None:
    """The files `pipeline build` looks for before it reads any (empty: these tests stop earlier)."""
    for name in ("tfjs/model.json", "tfjs/export.json", "tfjs/adapt.json", "tfjs/adapt.bin", "tfjs/network.json",
                 "tfjs/network.png", "metrics.json"):
        a_file(artifacts / name, b"{}")


def test_build_with_node_modules_lacking_tfjs(work):
    (work / "modules").mkdir()
    stand_in_export(work / "artifacts")
    check_one_line(*run("build", "--template", str(TEMPLATE), "--node-modules", "modules"), ["modules/@tensorflow", "npm ci"])
    assert not (work / "dist").exists()


def test_build_with_a_template_folder_without_index(work):
    (work / "template").mkdir()
    stand_in_export(work / "artifacts")
    check_one_line(*run("build", "--template", "template", "--node-modules", str(NODE_MODULES)), ["template", "index.html"])


@pytest.mark.parametrize("broken", ["tfjs/model.json", "metrics.json"])
def test_build_with_a_corrupt_json_artefact(work, trained_artifacts, broken):
    artifacts = work / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    (artifacts / broken).write_text('{"truncated": ')
    check_one_line(*run("build", *SITE), [f"artifacts/{broken}"])
    assert not (work / "dist").exists()


@pytest.mark.parametrize("command", ["export", "evaluate", "predict"])
def test_a_corrupt_keras_model(work, command):
    a_file(work / "artifacts" / "model.keras", b"PK\x03\x04 this zip was cut short")
    extra = {"export": ["--node-modules", str(NODE_MODULES)], "evaluate": [], "predict": [str(a_digit_png(work))]}
    check_one_line(*run(command, *extra[command]), ["artifacts/model.keras", "not a readable Keras model"])


def a_digit_png(folder: Path) -> Path:
    """A 60x60 PNG of a dark vertical stroke on white (a "1")."""
    from PIL import Image

    from pipeline.data import pen

    Image.fromarray(255 - pen.ink([[(30, 8), (28, 52)]], 60, 5)).save(folder / "one.png")
    return folder / "one.png"


@pytest.mark.parametrize("content", [b"{not json", b'{"epochs": 3, "colour": "red"}', b"[1, 2]"])
def test_train_config_and_sweep_base_read_settings_alike(work, content):
    """`train --config` and `sweep --base` share one reader: the same file, the same one line."""
    a_file(work / "settings.json", content)
    train_line = check_one_line(*run("train", "--config", "settings.json"), ["settings.json"])
    sweep_line = check_one_line(*run("sweep", "--grid", "epochs=1", "--base", "settings.json"), ["settings.json"])
    assert train_line == sweep_line


def test_data_with_a_truncated_gzip_file(work):
    data = work / "mnist"
    a_file(data / "train-images-idx3-ubyte.gz", gzip.compress(b"\x00\x00\x08\x03" + bytes(4096))[:100])
    check_one_line(*run("train", "--data", "mnist", "--artifacts", "out"), ["train-images-idx3-ubyte.gz"])
    assert not (work / "out").exists()


def test_data_file_that_is_a_folder(work):
    (work / "mnist" / "train-images-idx3-ubyte").mkdir(parents=True)
    check_one_line(*run("train", "--data", "mnist", "--artifacts", "out"), ["train-images-idx3-ubyte"])


def test_data_npz_that_is_not_an_npz(work):
    a_file(work / "mnist.npz", b"hello")
    check_one_line(*run("train", "--data", "mnist.npz", "--artifacts", "out"), ["mnist.npz"])
    assert not (work / "out").exists()


@pytest.mark.parametrize("args, fragments", [
    (["--config", "settings.json"], ["settings.json", "batch_size: 0 is out of range"]),
    (["--workers", "a:1,b:2", "--worker-index", "2"], ["--workers", "worker index 2 is not in 0..1"]),
])
def test_a_settings_mistake_fails_before_tensorflow_starts(work, args, fragments):
    """Flag and settings mistakes never import TensorFlow: the CLI imports it inside the commands."""
    (work / "settings.json").write_text('{"batch_size": 0}')
    code, err = finished(start_cli_noting_imports(("tensorflow", "keras"), "train", *args))
    check_one_line(code, err, fragments)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["evaluate", "--artifacts", "cut"], ["cut/model.keras", "not a readable Keras model"]),
        (["train", "--workers", "x", "--worker-index", "0"], ["--workers", "'x' is not host:port"]),
        (["train", "--data", "mnist", "--artifacts", "out"], ["mnist/train-images-idx3-ubyte", "not an MNIST IDX file"]),
    ],
)
def test_the_terminal_shows_one_line(work, args, fragments):
    """Mistakes found after TensorFlow started: its native start-up chatter must not reach stderr either."""
    a_file(work / "cut" / "model.keras", b"PK\x03\x04 cut short")
    a_file(work / "mnist" / "train-images-idx3-ubyte", b"\x89PNG\r\n\x1a\n" + bytes(64))
    check_one_line(*run(*args), fragments)
    assert not (work / "out").exists()


# A command whose library function raises what no one expects (a bug): `python -c` patches it, then runs the CLI.
BUG = ("import sys, pipeline.build.site as site, pipeline.cli as cli\n"
       "def broken(*args, **kwargs):\n    raise KeyError('the bug')\n"
       "site.build = broken\nsys.argv[0] = 'pipeline'\ncli.main()\n")


def test_an_unexpected_exception_is_one_line_and_exit_70(work):
    code, err = finished(start_cli("-c", BUG, "build", *SITE, prefix=()))
    assert code == 70, err
    assert err.splitlines() == ["Error: internal error: KeyError: 'the bug'; run with --debug for the traceback"]


def test_debug_shows_the_traceback_of_an_unexpected_exception(work):
    process = start_cli("-c", BUG, "--debug", "build", *SITE, prefix=())
    _, err = process.communicate(timeout=240)
    assert process.returncode == 1 and err.startswith("Traceback (most recent call last):"), err
    assert err.rstrip().endswith("KeyError: 'the bug'") and "in broken" in err


def test_debug_leaves_a_user_mistake_one_line(work):
    check_one_line(*run("--debug", "train", "--epochs", "0"), ["--epochs", "0"])
