"""Shared fixtures: real MNIST, and the real model, trained, exported and built once per test run.

The real model trains on the full MNIST for a few epochs (about two minutes on
2 cores), is converted by the real tensorflowjs_converter and built into a real
dist/. It is made once per run, even when pytest-xdist runs the tests in
several worker processes: the first worker that needs it makes it under a file
lock in the run's shared temporary folder, and the others wait for it and reuse it.
Tests that use it are marked `slow` automatically and run after the others, so
workers start on the quick tests. Set PIPELINE_TEST_ARTIFACTS to a folder that
already holds model.keras, metrics.json and tfjs/ to reuse it instead (handy while developing).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tests.helpers import NODE_MODULES, ROOT, quiet

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SESSION_EPOCHS = 3  # enough for ~99 % test accuracy; the browser tests need a model that really works
REAL_MODEL_FIXTURES = {"trained_artifacts", "evaluated_artifacts", "built_dist", "report_dist"}


def pytest_collection_modifyitems(items):
    """Mark every test that uses the real model `slow`, and run those after the others."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)  # stable: keeps file order within each part


def made_once(tmp_path_factory, name: str, make) -> Path:
    """The folder `name` in the run's shared temporary folder, made by `make(folder)` the first time any
    worker asks for it (under a file lock; the others wait) and reused after that."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    target = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not target.is_dir():
            staging = shared / f"{name}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            make(staging)
            staging.rename(target)
    return target


@pytest.fixture(scope="session")
def mnist():
    """Verified MNIST (uint8 arrays: x_train, y_train, x_test, y_test) from the cache or a download."""
    from pipeline.data.mnist import load_mnist

    return load_mnist(log=quiet)


def _train_and_export(out: Path) -> None:
    from pipeline.config import TrainConfig
    from pipeline.export import export
    from pipeline.train.loop import train

    train(TrainConfig(epochs=SESSION_EPOCHS), out, log=print)
    export(out, node_modules=NODE_MODULES, log=print)


@pytest.fixture(scope="session")
def trained_artifacts(tmp_path_factory) -> Path:
    """An artefacts folder with model.keras, metrics.json and tfjs/ from a real short training run. Read only."""
    reuse = os.environ.get("PIPELINE_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    return made_once(tmp_path_factory, "real-artifacts", _train_and_export)


@pytest.fixture(scope="session")
def keras_test_accuracy(trained_artifacts) -> float:
    """The Keras test accuracy recorded by training (metrics.json)."""
    return json.loads((trained_artifacts / "metrics.json").read_text())["test_accuracy"]


def _build(artifacts: Path):
    def make(out: Path) -> None:
        from pipeline.build.site import build

        build(artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    return make


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory, trained_artifacts) -> Path:
    """A dist/ built by `pipeline.build.site.build` from the real model and the real site_template/. Read only:
    a test that changes files uses `copy_of_dist`."""
    return made_once(tmp_path_factory, "real-dist", _build(trained_artifacts))


@pytest.fixture
def copy_of_dist(built_dist, tmp_path) -> Path:
    """A private copy of the built site that a test may break."""
    target = tmp_path / "dist"
    shutil.copytree(built_dist, target)
    return target


@pytest.fixture(scope="session")
def evaluated_artifacts(tmp_path_factory, trained_artifacts) -> Path:
    """Artefacts whose tfjs/ also holds the model report's evaluation.json and architecture.json.

    The run's own export writes them; artefacts from an older export
    (PIPELINE_TEST_ARTIFACTS) are copied and exported again, never changed in place.
    """
    from pipeline.build.report import ARCHITECTURE_FILE, EVALUATION_FILE

    tfjs = trained_artifacts / "tfjs"
    if (tfjs / EVALUATION_FILE).is_file() and (tfjs / ARCHITECTURE_FILE).is_file():
        return trained_artifacts

    def export_again(out: Path) -> None:
        from pipeline.export import export

        shutil.copytree(trained_artifacts, out)
        export(out, node_modules=NODE_MODULES, log=print)
    return made_once(tmp_path_factory, "evaluated-artifacts", export_again)


@pytest.fixture(scope="session")
def report_dist(tmp_path_factory, evaluated_artifacts, trained_artifacts) -> Path:
    """A dist/ whose report page has real data: the run's built site when the run's export wrote that data."""
    name = "real-dist" if evaluated_artifacts == trained_artifacts else "report-dist"
    return made_once(tmp_path_factory, name, _build(evaluated_artifacts))
