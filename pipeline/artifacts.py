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

import hashlib
import json
import math
import os
import re
import shutil
import stat
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
TFJS_SHARDS = "group*.bin"  # inside TFJS_DIR: the graph model's weights (glob), as the converter names them
EVALUATION_FILE = "evaluation.json"  # inside TFJS_DIR: the shipped model's test-set results, for report.html
ARCHITECTURE_FILE = "architecture.json"  # inside TFJS_DIR: the layer table, for report.html
ADAPT_JSON = "adapt.json"  # inside TFJS_DIR: the last layer and the features' version, for js/adapt.js
ADAPT_BIN = "adapt.bin"  # inside TFJS_DIR: replayed MNIST features and labels, laid out as ADAPT_JSON says
NETWORK_JSON = "network.json"  # inside TFJS_DIR: the network view's layers, graph nodes, filters (pipeline/network.py)
NETWORK_PNG = "network.png"  # inside TFJS_DIR: the MNIST test digits that excite each channel most, one sprite
CHECKPOINT_DIR = "checkpoint"  # train's per-epoch checkpoint while it runs (pipeline.train.checkpoint)
MODEL_HASH = "model_sha256"  # in metrics.json and export.json: SHA-256 of the model.keras they describe

MAX_JSON_BYTES = 64 * 2**20  # every artefact JSON is far smaller (the evaluation with its digits: ~100 KB)
MAX_MODEL_BYTES = 2**30  # uncompressed size of a model.keras's members (the default model: ~1 MB)
MIN_ACCURACY = 0.95  # MNIST test accuracy below which export and build refuse a model (unless --allow-weak)


class ArtifactError(Exception):
    """An artefact exists but cannot be read (corrupt, truncated, not what it claims). One line for the user."""


def read_json(path: Path):
    """The JSON value in `path`; ArtifactError naming the file if it is not a regular file (a FIFO would block for
    ever), too big, not UTF-8 or not valid JSON."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ArtifactError(f"{path}: not a regular file; not an artefact of this pipeline")
    if info.st_size > MAX_JSON_BYTES:
        raise ArtifactError(f"{path}: larger than {MAX_JSON_BYTES // 2**20} MiB; not an artefact of this pipeline")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ArtifactError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except ValueError as err:
        raise ArtifactError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise ArtifactError(f"{path}: not valid JSON (nested too deeply)") from None


NUMBER = "number"  # in a `check_fields` shape: an int or a finite float, not a bool


def check_fields(value, shape: dict, path: Path, where: str = "") -> None:
    """ArtifactError naming `path` unless `value` is an object holding every key of `shape` with a value of
    its type: a type, NUMBER, a nested shape (dict), or [shape] for a list of objects of that shape."""
    if not isinstance(value, dict):
        raise ArtifactError(f"{path}: {where or 'the top level'} is not a JSON object; rerun the stage that writes it")
    for key, kind in shape.items():
        item, name = value.get(key), f"{where}{key}"
        if isinstance(kind, dict):
            check_fields(item, kind, path, f"{name}.")
        elif isinstance(kind, list):
            if not isinstance(item, list):
                raise ArtifactError(f"{path}: {name!r} missing or not a list; rerun the stage that writes it")
            for i, element in enumerate(item):
                check_fields(element, kind[0], path, f"{name}[{i}].")
        elif not _is(item, kind):
            raise ArtifactError(f"{path}: {name!r} missing or not {'a number' if kind is NUMBER else kind.__name__}; "
                                "rerun the stage that writes it")


def _is(value, kind) -> bool:
    if kind is NUMBER:
        # an int is finite however large (math.isfinite would overflow converting a huge one to float)
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_matches(model_path: Path, described_by: Path, recorded: str | None) -> None:
    """ArtifactError unless model.keras is the model whose SHA-256 `described_by` recorded (None: an
    older file that records none, accepted). Train writes model.keras, then metrics.json with its hash:
    a run killed between the two leaves a pair that this refuses."""
    if recorded is not None and file_sha256(model_path) != recorded:
        raise ArtifactError(f"{model_path} is not the model {described_by} describes (its SHA-256 differs: "
                            "a run stopped between writing them, or one was replaced); run `pipeline train` again")


def check_pair(artifacts_dir: Path) -> str:
    """The SHA-256 of ARTIFACTS/model.keras, having checked it is the model metrics.json describes (when
    metrics.json is there and records one); ArtifactError naming both files if not."""
    model_path, metrics_path = artifacts_dir / MODEL_FILE, artifacts_dir / METRICS_FILE
    recorded = None
    if metrics_path.is_file():
        metrics = read_json(metrics_path)
        check_fields(metrics, {}, metrics_path)
        recorded = metrics.get(MODEL_HASH)
        if recorded is not None and not isinstance(recorded, str):
            raise ArtifactError(f"{metrics_path}: {MODEL_HASH!r} is not a string; rerun the stage that writes it")
    check_model_matches(model_path, metrics_path, recorded)
    return file_sha256(model_path)


def shown(value, limit: int = 60) -> str:
    """A value from outside for a one-line message: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_accuracy(accuracy, source: str, floor: float) -> None:
    """ArtifactError when a model's MNIST test accuracy (from `source`) is missing or below `floor`."""
    if not _is(accuracy, NUMBER):
        raise ArtifactError(f"{source}: no test accuracy recorded, so the model cannot be checked against the "
                            f"{floor:.0%} floor; pass --allow-weak to go ahead anyway")
    if not 0 <= accuracy <= 1:
        raise ArtifactError(f"{source}: test accuracy {shown(accuracy, 20)} is not a fraction from 0 to 1; "
                            "rerun the stage that writes it")
    if accuracy < floor:
        raise ArtifactError(f"{source}: test accuracy {accuracy:.2%} is below the {floor:.0%} floor for a model "
                            "to ship (a run that trained badly?); pass --allow-weak to go ahead anyway")


def load_keras_model(path: Path):
    """Load a .keras model for inference; ArtifactError naming the file if it is corrupt, a zip bomb,
    or anything else Keras cannot load."""
    if path.is_file() and not zipfile.is_zipfile(path):  # checked before importing Keras: quick, and no TF start-up
        raise ArtifactError(f"{path}: not a readable Keras model (not a zip archive: truncated, or not a .keras file)")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise ArtifactError(f"{path}: not a readable Keras model ({err})") from None
    if unpacked > MAX_MODEL_BYTES:
        raise ArtifactError(f"{path}: not a readable Keras model (it unpacks to {unpacked:,} bytes, "
                            f"more than {MAX_MODEL_BYTES:,})")
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds (ValueError, TypeError, zlib.error, h5py's) for a bad file
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise ArtifactError(f"{path}: not a readable Keras model ({type(err).__name__}: {reason})") from None


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
