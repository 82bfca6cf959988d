"""latest.json, the checkpoint's index: reading and checking it, without Keras.

`pipeline train --resume` reads it before TensorFlow starts, so a bad checkpoint
fails in one line at once. It is written by pipeline.train.checkpoint.save:
  {"epoch", "file", "config", "replicas", "history", "train_seconds", "extra_data"}
"extra_data" lists the run's --extra-data files ({"path", "rows", "sha256"} each; absent: none).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.config import TrainConfig, read_settings_json

LATEST = "latest.json"  # in the checkpoint folder: the last completed epoch, its file and the run's settings
STATE_FILE = re.compile(r"state-epoch\d{3,}\.npz")  # a bare name in the checkpoint folder: never a path elsewhere


class ResumeError(Exception):
    """A resume that cannot go ahead (no checkpoint, a broken one, other settings). One line for the user."""


def read_state(folder: Path) -> dict:
    """latest.json of a checkpoint folder, checked: ResumeError when there is none, or it is not one
    that `save` wrote (unreadable, not JSON, a field missing or of the wrong type, settings out of range,
    or a "file" that is not a bare state-epochNNN.npz name inside `folder`)."""
    path = folder / LATEST
    if not path.is_file():
        raise ResumeError(f"nothing to resume: no checkpoint in {folder}")
    state = read_settings_json(path, ResumeError)
    problem = _state_problem(state)
    if problem:
        raise ResumeError(f"{path}: not a checkpoint of pipeline train ({problem}); "
                          f"delete {folder} to train from the start")
    return state


def _state_problem(state) -> str | None:
    """What is wrong with a latest.json's value, or None."""
    if not isinstance(state, dict):
        return "not a JSON object"
    fields = {"epoch": int, "file": str, "config": dict, "replicas": int, "history": list, "train_seconds": (int, float)}
    for name, kind in fields.items():
        if isinstance(state.get(name), bool) or not isinstance(state.get(name), kind):
            return f"{name!r} missing or of the wrong type"
    if state["epoch"] < 1 or state["replicas"] < 1:
        return "'epoch' and 'replicas' must be at least 1"
    if not STATE_FILE.fullmatch(state["file"]):
        return f"'file' {state['file'][:80]!r} is not a state-epochNNN.npz in the checkpoint folder"
    if not all(isinstance(row, dict) for row in state["history"]):
        return "'history' must be a list of objects"
    extra = state.get("extra_data", [])
    if not isinstance(extra, list) or not all(isinstance(e, dict) and isinstance(e.get("sha256"), str)
                                              and isinstance(e.get("path"), str) for e in extra):
        return "'extra_data' must be a list of objects with a path and a sha256"
    try:
        TrainConfig.from_dict(state["config"])
    except ValueError as err:
        return f"config: {err}"
    return None


def check_extra_data(state: dict, extra: list[dict], folder: Path) -> None:
    """Refuse a resume whose --extra-data files (records {"path", "rows", "sha256"}, in order) are not,
    by content, the checkpoint's: the training set would change in the middle of the run."""
    saved = state.get("extra_data", [])
    if [e["sha256"] for e in saved] == [e["sha256"] for e in extra]:
        return
    raise ResumeError(f"cannot resume from {folder}: --extra-data differs from the checkpoint's "
                      f"(it trained with {_describe(saved)}; this run gives {_describe(extra)}); "
                      "give the same files in the same order, or train from the start without --resume")


def _describe(extra: list[dict]) -> str:
    if not extra:
        return "none"
    return ", ".join(f"{e['path']} (SHA-256 {e['sha256'][:12]})" for e in extra)
