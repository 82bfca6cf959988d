"""Atomic writes for every artefact: a file or folder appears whole or not at all.

A killed `train`, `export` or `build` leaves the previous good version in place:
everything is written to a temporary sibling first and then renamed over the target.

Temporary siblings carry the writer's process id (`.NAME.tmp-PID-xxxx`,
`.NAME.old-PID-xxxx`, `.NAME.PID-xxxx.part`). A process killed with SIGKILL
cannot clean up, so the next writer of the same target removes the siblings of
writers that are no longer running, and, if the kill fell between the two
renames of a folder swap, first puts the previous version back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

# The artefacts folder's layout, named here and nowhere else (train writes model, metrics and checkpoint; export the tfjs folder).
MODEL_FILE = "model.keras"  # the trained Keras model
METRICS_FILE = "metrics.json"  # test accuracy, history, config, versions, timings
TFJS_DIR = "tfjs"  # the converted TensorFlow.js graph model
REPORT_FILE = "export.json"  # inside TFJS_DIR: the tfjs-vs-Keras parity report
TFJS_MODEL_FILE = "model.json"  # inside TFJS_DIR: the graph model (topology, signature, weight manifest)
EVALUATION_FILE = "evaluation.json"  # inside TFJS_DIR: the shipped model's test-set results, for report.html
ARCHITECTURE_FILE = "architecture.json"  # inside TFJS_DIR: the layer table, for report.html
CHECKPOINT_DIR = "checkpoint"  # train's per-epoch checkpoint while it runs (pipeline.train.checkpoint)


class ArtifactError(Exception):
    """An artefact exists but cannot be read (corrupt, truncated, not what it claims). One line for the user."""


def read_json(path: Path):
    """The JSON value in `path`; ArtifactError naming the file if it is not valid JSON."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path}: not valid JSON ({err})") from None


def load_keras_model(path: Path):
    """Load a .keras model for inference; ArtifactError naming the file if it is corrupt or not a Keras model."""
    if path.is_file() and not zipfile.is_zipfile(path):  # checked before importing Keras: quick, and no TF start-up
        raise ArtifactError(f"{path}: not a readable Keras model (not a zip archive: truncated, or not a .keras file)")
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as err:
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise ArtifactError(f"{path}: not a readable Keras model ({reason})") from None


def write_bytes(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` atomically (temporary sibling, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    """Write `value` as indented JSON to `path`, atomically."""
    write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


def save_keras_model(model, path: Path) -> None:
    """Save a Keras model to `path` (.keras), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def replacing_dir(target: Path):
    """Yield an empty temporary folder beside `target`; on success it replaces `target`.

    If the body raises, `target` is untouched and the temporary folder is
    removed. If the process dies (SIGKILL), `target` is untouched too and the
    next `replacing_dir(target)` removes what it left (see `remove_leftovers`).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    pid = os.getpid()
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-{pid}-"))
    staging.chmod(0o755)  # mkdtemp makes it private; the result is served and shared
    try:
        yield staging
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-{pid}-"))
            os.replace(target, old / target.name)
        os.replace(staging, target)  # between these two renames `target` is briefly absent (see remove_leftovers)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the temporary siblings of `target` left by writers that died; returns what was removed.

    A `.NAME.old-PID-*` folder holds the previous `target` while it is being
    swapped; if `target` is missing, that previous version is moved back first,
    so a kill at the worst moment still leaves the last good version in place.
    Siblings of running processes (e.g. a concurrent build) are left alone.
    """
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:(tmp|old)-)?(\d+)-")
    removed = []
    if not target.parent.is_dir():
        return removed
    for sibling in sorted(target.parent.iterdir()):
        match = pattern.match(sibling.name)
        if not match or _running(int(match.group(2))):
            continue
        previous = sibling / target.name
        if match.group(1) == "old" and previous.exists() and not target.exists():
            os.replace(previous, target)
        if sibling.is_dir():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)
        removed.append(sibling)
    return removed


def _running(pid: int) -> bool:
    """Whether a process with this id exists (ours counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
