"""Drawn training images kept between runs, beside MNIST (`~/.cache/digit-pipeline/NAME/`, or $PIPELINE_CACHE/NAME/).

Drawing them costs seconds to minutes of CPU; reading them back, milliseconds. Each file is named by a hash of
everything that decides its images: the inputs, the source of the modules that draw them and the versions of the
packages they draw with or from. A change to any of them draws again; a stale file is never read, and once no run
has used it for UNUSED_DAYS it is removed when another file is kept beside it. A file that cannot be read as the
images asked for is said in one line and drawn again: only time is lost.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType

import numpy as np

from pipeline import artifacts
from pipeline.contract import IMAGE_SIZE
from pipeline.data import mnist

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"  # where `npm ci` puts the npm packages drawn from
UNUSED_DAYS = 30  # a kept file no run has read or written for this long goes when another is kept beside it


def folder(name: str) -> Path:
    """Where the images called `name` are kept: beside MNIST's cache."""
    return mnist.cache_root() / name


def version(package: str) -> str:
    """The installed version of a PyPI package, or of an npm package (`npm:NAME`, read from node_modules); "missing"
    when it is not installed (drawing then fails with its own message)."""
    try:
        if package.startswith("npm:"):
            return json.loads((NODE_MODULES / package[4:] / "package.json").read_text())["version"]
        return metadata.version(package)
    except (OSError, ValueError, KeyError, metadata.PackageNotFoundError):
        return "missing"


def key(code: Iterable[ModuleType], packages: Iterable[str], *inputs: bytes | str) -> str:
    """A hash of what decides some images: the source of the modules `code`, the versions of `packages` (version)
    and the `inputs` (arrays as their bytes, settings as text)."""
    digest = hashlib.sha256()
    for module in code:
        digest.update(Path(module.__file__).read_bytes())
    for package in packages:
        digest.update(f"{package}=={version(package)}\n".encode())
    for value in inputs:
        digest.update(value.encode() if isinstance(value, str) else value)
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def kept(path: Path, count: int, draw: Callable[[], np.ndarray], what: str, log) -> tuple[np.ndarray, bool]:
    """The `count` images (uint8 (count, 28, 28)) kept in `path`, or drawn by `draw()` and kept there when there are
    none, or none usable (said with `log`, naming `what` and the file): (images, whether they were read)."""
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                images = archive["drawn"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            log(f"data: {what} cache {path} unusable, drawing again ({type(err).__name__})")
        else:
            if images.shape == (count, IMAGE_SIZE, IMAGE_SIZE) and images.dtype == np.uint8:
                os.utime(path)  # used now
                return images, True
            log(f"data: {what} cache {path} unusable, drawing again (shape {images.shape})")
    images = draw()
    buffer = io.BytesIO()
    np.savez(buffer, drawn=images)
    artifacts.write_bytes(path, buffer.getvalue())
    unused_since = time.time() - UNUSED_DAYS * 86400
    for other in path.parent.glob("*.npz"):
        try:
            if other.stat().st_mtime < unused_since:
                other.unlink()
        except OSError:  # gone already: another run removed it
            pass
    return images, False
