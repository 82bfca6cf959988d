"""The run's real model: trained on the full MNIST, exported by the real converter, made once per test run.

`python -m tests.real_model FOLDER` makes FOLDER (artefacts with model.keras,
metrics.json and tfjs/) unless it exists. conftest.py starts it in the
background as the run begins, so the few minutes of training overlap the quick
tests; the fixtures that need the model wait for it on the same file lock, and
make it themselves if the background run failed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from filelock import FileLock

from tests.helpers import NODE_MODULES

EPOCHS = 2  # the recognition tests need a model that really works; 2 epochs of the default schedule make one
# Redrawing MNIST digits with a pen (pipeline.data.redrawn) costs minutes of CPU on a fresh machine; the recognition
# tests' floors hold without it, and tests/data/test_redrawn.py and the tiny training runs cover it.
REDRAWN = 0.0


def made_once(target: Path, make) -> Path:
    """`target`, made by `make(folder)` unless it exists, under the file lock `target`.lock (others wait)."""
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if not target.is_dir():
            staging = target.with_name(target.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            make(staging)
            staging.rename(target)
    return target


def train_and_export(out: Path) -> None:
    """Train the default CNN for EPOCHS epochs (without redrawn digits) into `out`, then export it to `out`/tfjs."""
    from pipeline.config import TrainConfig
    from pipeline.export import export
    from pipeline.train.loop import train

    train(TrainConfig(epochs=EPOCHS, redrawn=REDRAWN), out, log=print)
    export(out, node_modules=NODE_MODULES, log=print)


def finished_marker(target: Path) -> Path:
    """The file a background run writes when it ends, whether or not it made `target`."""
    return target.with_name(target.name + ".finished")


if __name__ == "__main__":
    target = Path(sys.argv[1])
    try:
        made_once(target, train_and_export)
    finally:
        finished_marker(target).touch()
