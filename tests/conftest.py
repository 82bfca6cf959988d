"""Shared fixtures: real MNIST, and a model trained, exported and built once per session.

The session model trains on the full real MNIST for a few epochs (about two
minutes on 2 cores), is converted by the real tensorflowjs_converter and built
into a real dist/. Set PIPELINE_TEST_ARTIFACTS to a folder that already holds
model.keras, metrics.json and tfjs/ to reuse it instead (handy while developing).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import NODE_MODULES, ROOT, quiet

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SESSION_EPOCHS = 3  # enough for ~99 % test accuracy; the browser tests need a model that really works


@pytest.fixture(scope="session")
def mnist():
    """Verified MNIST (uint8 arrays: x_train, y_train, x_test, y_test) from the cache or a download."""
    from pipeline.data.mnist import load_mnist

    return load_mnist(log=quiet)


@pytest.fixture(scope="session")
def trained_artifacts(tmp_path_factory, mnist) -> Path:
    """An artefacts folder with model.keras, metrics.json and tfjs/ from a real short training run."""
    reuse = os.environ.get("PIPELINE_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    from pipeline.config import TrainConfig
    from pipeline.export import export
    from pipeline.train.loop import train

    out = tmp_path_factory.mktemp("artifacts")
    train(TrainConfig(epochs=SESSION_EPOCHS), out, log=print)
    export(out, node_modules=NODE_MODULES, log=print)
    return out


@pytest.fixture(scope="session")
def keras_test_accuracy(trained_artifacts) -> float:
    """The Keras test accuracy recorded by training (metrics.json)."""
    return json.loads((trained_artifacts / "metrics.json").read_text())["test_accuracy"]


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory, trained_artifacts) -> Path:
    """A dist/ built by `pipeline.build.site.build` from the session model and the real site_template/."""
    from pipeline.build.site import build

    out = tmp_path_factory.mktemp("site") / "dist"
    build(trained_artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    return out


@pytest.fixture
def copy_of_dist(built_dist, tmp_path) -> Path:
    """A private copy of the built site that a test may break."""
    target = tmp_path / "dist"
    shutil.copytree(built_dist, target)
    return target


@pytest.fixture(scope="session")
def evaluated_artifacts(tmp_path_factory, trained_artifacts) -> Path:
    """Artefacts whose tfjs/ also holds the model report's evaluation.json and architecture.json.

    The session's own export writes them; artefacts from an older export
    (PIPELINE_TEST_ARTIFACTS) are copied and exported again, never changed in place.
    """
    from pipeline.build.report import ARCHITECTURE_FILE, EVALUATION_FILE

    tfjs = trained_artifacts / "tfjs"
    if (tfjs / EVALUATION_FILE).is_file() and (tfjs / ARCHITECTURE_FILE).is_file():
        return trained_artifacts
    from pipeline.export import export

    out = tmp_path_factory.mktemp("evaluated") / "artifacts"
    shutil.copytree(trained_artifacts, out)
    export(out, node_modules=NODE_MODULES, log=print)
    return out


@pytest.fixture(scope="session")
def report_dist(tmp_path_factory, evaluated_artifacts) -> Path:
    """A dist/ built from `evaluated_artifacts`: the report page with real data."""
    from pipeline.build.site import build

    out = tmp_path_factory.mktemp("report-site") / "dist"
    build(evaluated_artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    return out


