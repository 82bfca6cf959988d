"""Per-epoch checkpoints in ARTIFACTS/checkpoint/, and resuming from them.

After every completed epoch the chief writes
  state-epochNNN.npz   every variable of the trainer (weights, batch-norm statistics, the
                       augmentation's RNG state) and of the optimizer (moments, step count)
  latest.json          {"epoch", "file", "config", "replicas", "history", "train_seconds",
                        "extra_data": the --extra-data files' {"path", "rows", "sha256"}}
Each file is written to a temporary sibling and renamed, and latest.json is replaced
only after its .npz is complete, so a kill at any moment (even SIGKILL) leaves the
previous epoch's checkpoint readable. Values are plain numpy arrays, so the same code
serves every backend and strategy (MirroredVariables read and assign through Keras).
Reading and checking latest.json is pipeline.train.latest's (no Keras there).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import keras
import numpy as np

from pipeline import artifacts
from pipeline.data import DataError, bounded
from pipeline.config import TrainConfig
from pipeline.train.latest import LATEST, ResumeError, check_extra_data, read_state  # noqa: F401 (read_state: this module's API too)


def _all_variables(trainer: keras.Model) -> list:
    return list(trainer.variables) + list(trainer.optimizer.variables)


def _as_numpy(variable) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable.value))


def save(folder: Path, trainer: keras.Model, state: dict) -> None:
    """Write the trainer's and optimizer's variables plus `state` (must hold "epoch") into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"state-epoch{state['epoch']:03d}.npz"
    buffer = io.BytesIO()
    np.savez(buffer, *[_as_numpy(v) for v in _all_variables(trainer)])
    artifacts.write_bytes(folder / name, buffer.getvalue())
    artifacts.write_json(folder / LATEST, {**state, "file": name})
    for old in folder.glob("state-epoch*.npz"):  # only after latest.json points at the new one
        if old.name != name:
            old.unlink(missing_ok=True)


def check_compatible(state: dict, config: TrainConfig, replicas: int, folder: Path, extra: list[dict] = ()) -> None:
    """Refuse a resume whose settings, replica count or --extra-data files (their records) differ from
    the checkpoint's."""
    saved = TrainConfig.from_dict(state["config"])
    diffs = config.differences(saved)
    if diffs:
        raise ResumeError(f"cannot resume from {folder}: settings differ from the checkpoint ({'; '.join(diffs)})")
    if state.get("replicas") != replicas:
        raise ResumeError(f"cannot resume from {folder}: it was trained on {state.get('replicas')} replicas, "
                          f"this run has {replicas}")
    check_extra_data(state, list(extra), folder)
    if state["epoch"] >= config.epochs:
        raise ResumeError(f"nothing to resume: {folder} already holds all {config.epochs} epochs")


def restore(folder: Path, trainer: keras.Model, state: dict) -> None:
    """Assign the saved values to a freshly built, compiled trainer (call inside the strategy scope)."""
    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    variables = _all_variables(trainer)
    path = folder / state["file"]
    try:  # bounded and checked member by member, like every other outside file (pipeline.data.bounded)
        saved = bounded.read_npz(path)
    except DataError as err:
        raise ResumeError(f"{path}: unreadable checkpoint ({str(err).removeprefix(f'{path}: ')[:160]})") from None
    values = [saved.get(f"arr_{i}") for i in range(len(saved))]  # numpy.savez's names, in order
    if (len(values) != len(variables) or any(a is None for a in values)
            or any(v.shape != tuple(a.shape) for v, a in zip(variables, values))):
        raise ResumeError(f"cannot resume from {folder}: its variables do not match this model")
    for variable, value in zip(variables, values):
        variable.assign(value)


def remove(folder: Path) -> None:
    """Delete a checkpoint folder (after a finished run, or before a fresh one)."""
    shutil.rmtree(folder, ignore_errors=True)


class EveryEpoch(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch (on the chief only)."""

    def __init__(self, folder: Path, config: TrainConfig, replicas: int, history_rows: list, is_chief: bool,
                 extra: list[dict] | tuple = ()):
        """`history_rows` is the EpochLog's list (that callback must come first, so the row is there);
        `extra` the --extra-data files' records, which a resume must match."""
        super().__init__()
        self.folder, self.config, self.replicas, self.extra = folder, config, replicas, list(extra)
        self.history_rows, self.is_chief = history_rows, is_chief
        self.completed = 0  # last epoch (1-based) whose checkpoint is on disk

    def on_epoch_end(self, epoch, logs=None):
        if self.is_chief:
            save(self.folder, self.model, {
                "epoch": epoch + 1, "config": self.config.to_dict(), "replicas": self.replicas,
                "history": self.history_rows,
                "train_seconds": round(sum(r["seconds"] for r in self.history_rows), 2),
                "extra_data": self.extra,
            })
        self.completed = epoch + 1
