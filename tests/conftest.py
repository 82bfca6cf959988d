"""Shared fixtures: real MNIST, and the real model, trained, exported and built once per test run.

The real model (tests/real_model.py) trains on the full MNIST for a few epochs,
is converted by the real tensorflowjs_converter and built into a real dist/. It
is made once per run, even when pytest-xdist runs the tests in several worker
processes, and it starts training in the background as the run begins, so the
quick tests run meanwhile. Tests that use it are marked `slow` automatically and
run after the others. Set PIPELINE_TEST_ARTIFACTS to a folder that already holds
model.keras, metrics.json and tfjs/ to reuse it instead (handy while developing).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The test workers outnumber the cores (Makefile's TEST_WORKERS), so each TensorFlow process, the workers and the
# small training runs they start, gets one thread per pool: more only spin against each other. Set before anything
# imports TensorFlow or copies the environment for a child; the real model's background run gets the defaults back.
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
for _name, _value in ONE_THREAD.items():
    os.environ.setdefault(_name, _value)

import pytest

from tests import real_model

pytest_plugins = ["pytester"]  # tests/test_timeouts.py runs a stuck test in a child pytest
from tests.helpers import NODE_MODULES, ROOT, SLOW_TIMEOUT, quiet

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Under `make mutation`, mutmut forks a child for each mutant from a server that has collected the tests, so what
# that server imports, each child has for free. Importing Keras takes some 3 s, which every child whose tests load a
# model would pay again. Only the import: a child forked after TensorFlow has run an op hangs in its first one.
if "MUTANT_UNDER_TEST" in os.environ:
    import keras  # noqa: F401

REAL_MODEL_FIXTURES = {"trained_artifacts", "evaluated_artifacts", "built_dist", "report_dist"}
LONGEST_FIRST = ("tests/browser/test_drawn_digits.py",)  # the longest tests that wait for the model start first


# Under `make mutation` (bench/mutation.py), the tests that judge a mutant of a module: mutmut runs every selected
# test that calls the mutated function, so a mutant of calibration.py would also run the Keras tests of training's
# calibration step (seconds each, most of the module's run). calibration.py is judged by its own unit tests;
# those Keras tests judge loop.py's `calibrate`.
MUTATION_LEAVES_OUT = {"pipeline.calibration.": ("tests/train/test_calibrate.py",)}


# mutmut's record of each test's time (in mutants/, where it runs the tests), read to run a mutant's quickest tests
# first: it stops at the first that fails (-x), so a mutant caught by a quick test does not wait for a slow one.
MUTMUT_STATS = Path("mutmut-stats.json")


def _under_mutation(items, config) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    left_out = next((paths for prefix, paths in MUTATION_LEAVES_OUT.items() if mutant.startswith(prefix)), ())
    dropped = [item for item in items if item.nodeid.startswith(left_out)] if left_out else []
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
    if mutant and MUTMUT_STATS.is_file():
        seconds = json.loads(MUTMUT_STATS.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: seconds.get(item.nodeid, float("inf")))


def pytest_collection_finish(session):
    """Under `make mutation`, move every object made so far (Keras's, the collected tests') out of the garbage
    collector's reach: each mutant's child would otherwise walk them all in the full collections pytest runs as it
    finishes, most of a child's time when its tests take milliseconds. Nothing is kept longer: they live as long
    as the child does either way."""
    if "MUTANT_UNDER_TEST" in os.environ:
        gc.freeze()


def pytest_collection_modifyitems(items, config):
    """Mark every test that uses the real model `slow`, give slow and browser tests the long time limit,
    and run the tests that wait for the real model after the others (the longest first), so that the
    others, the small training runs among them, fill the minutes while the model trains."""
    _under_mutation(items, config)
    waits = set()
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
            waits.add(item.nodeid)
        slow = item.get_closest_marker("slow") or item.get_closest_marker("browser")
        if slow and not item.get_closest_marker("timeout"):  # a test's own timeout mark wins
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
    # stable: keeps the file order within each part
    items.sort(key=lambda item: (item.nodeid in waits, not item.nodeid.startswith(LONGEST_FIRST)))


def shared_folder(tmp_path_factory) -> Path:
    """The run's temporary folder that every xdist worker sees (each worker's own is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(tmp_path_factory, name: str, make) -> Path:
    """The folder `name` in the run's shared temporary folder, made by `make(folder)` the first time any
    worker asks for it (under a file lock; the others wait) and reused after that."""
    return real_model.made_once(shared_folder(tmp_path_factory) / name, make)


def _ahead_of_the_tests() -> None:
    """preexec_fn: a higher CPU priority (where allowed), so the model the slow tests wait for is ready sooner."""
    try:
        os.nice(-5)
    except PermissionError:
        pass


@pytest.fixture(scope="session", autouse=True)
def real_model_in_background(request, tmp_path_factory):
    """Start making the real model in a child process as the run begins, if any collected test needs it.

    Only the first worker to get here starts it (an exclusive marker file); its log goes to
    real-artifacts.log in the shared folder. At the end of this worker's tests the child is stopped if it
    is still running (an interrupted run); a worker that still needs the model then makes it itself."""
    needed = any(REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())) for item in request.session.items)
    if not needed or os.environ.get("PIPELINE_TEST_ARTIFACTS"):
        yield
        return
    shared = shared_folder(tmp_path_factory)
    try:
        started = (shared / "real-artifacts.started").open("x")
    except FileExistsError:
        yield
        return
    with started, open(shared / "real-artifacts.log", "w") as log:
        every_core = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}
        child = subprocess.Popen([sys.executable, "-m", "tests.real_model", str(shared / "real-artifacts")],
                                 cwd=ROOT, env=every_core, stdout=log, stderr=subprocess.STDOUT,
                                 preexec_fn=_ahead_of_the_tests)
        started.write(str(child.pid))
    yield
    if child.poll() is None:
        child.terminate()
        child.wait()


def wait_for_the_background_run(shared: Path) -> None:
    """Wait while the background run of tests/real_model.py (if one started) is still going, so that it,
    not this worker, makes the model. If it died without making it, made_once makes it here."""
    started, target = shared / "real-artifacts.started", shared / "real-artifacts"
    while started.exists() and not real_model.finished_marker(target).exists():
        pid = started.read_text()
        if pid and not _alive(int(pid)):
            return
        time.sleep(1)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped by its parent, does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """An empty working folder as cwd, so relative defaults (artifacts/, dist/) never touch the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def mnist():
    """Verified MNIST (uint8 arrays: x_train, y_train, x_test, y_test) from the cache or a download."""
    from pipeline.data.mnist import load_mnist

    return load_mnist(log=quiet)


@pytest.fixture(scope="session")
def trained_artifacts(tmp_path_factory) -> Path:
    """An artefacts folder with model.keras, metrics.json and tfjs/ from a real short training run. Read only."""
    reuse = os.environ.get("PIPELINE_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    wait_for_the_background_run(shared_folder(tmp_path_factory))
    return made_once(tmp_path_factory, "real-artifacts", real_model.train_and_export)


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
    from pipeline.artifacts import ARCHITECTURE_FILE, EVALUATION_FILE

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
