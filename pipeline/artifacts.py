"""Atomic writes for every artefact: a file or folder appears whole or not at all.

A killed `train`, `export` or `build` leaves the previous good version in place:
everything is written to a temporary sibling first and then renamed over the target.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def write_bytes(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` atomically (temporary sibling, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
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

    If the body raises (or the process dies), `target` is untouched and the
    temporary folder is removed (or left as a hidden `.name.tmp-*` for `clean`).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    staging.chmod(0o755)  # mkdtemp makes it private; the result is served and shared
    try:
        yield staging
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, old / target.name)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
