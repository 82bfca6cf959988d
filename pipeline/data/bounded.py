"""Reading outside bytes with a size bound: data files, gzip streams and .npz members.

Every digit data file the pipeline reads is far smaller than MAX_FILE_BYTES
(MNIST's largest, train-images, is 45 MiB raw; Kaggle's train.csv 73 MiB;
QMNIST's test images 45 MiB), so a file, a decompressed gzip stream or an
.npz member beyond it is refused before it is read whole: a gzip or zip bomb
costs at most MAX_FILE_BYTES of memory. Every failure is a one-line DataError
naming the file.
"""

from __future__ import annotations

import gzip
import io
import math
import stat
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from pipeline.data import DataError

MAX_FILE_BYTES = 256 * 2**20  # the most one data file may hold, raw or once decompressed
MAX_MIB = MAX_FILE_BYTES // 2**20
GZIP_MAGIC = b"\x1f\x8b"


def read_file(path: Path) -> bytes:
    """The bytes of the regular file `path`, at most MAX_FILE_BYTES; DataError otherwise."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise DataError(f"{path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise DataError(f"{path}: {info.st_size / 2**20:.0f} MiB, more than the {MAX_MIB} MiB a digit data file may be")
        with path.open("rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def gunzip(raw: bytes, name: str) -> bytes:
    """The decompressed content of the gzip stream `raw` (all members), at most MAX_FILE_BYTES."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:  # a bad header, a cut stream, a broken deflate block, a bad CRC
        raise DataError(f"{name}: broken gzip data ({err})") from None
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{name}: more than {MAX_MIB} MiB once decompressed, more than a digit data file holds (a gzip bomb?)")
    return data


def read_maybe_gzip(path: Path) -> bytes:
    """The bytes of `path`, gunzipped if they start with the gzip magic number; both bounded."""
    return maybe_gunzip(read_file(path), str(path))


def maybe_gunzip(raw: bytes, name: str) -> bytes:
    """`raw` gunzipped (bounded) if it starts with the gzip magic number, else as it is."""
    return gunzip(raw, name) if raw[:2] == GZIP_MAGIC else raw


def read_npz(path: Path, keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays `keys` (default: every member, in the archive's order) of the .npz file `path` (a zip of
    .npy files, as numpy.savez writes it).

    Each member's declared size and .npy header are checked before its data is read,
    so neither a zip bomb nor a header that promises a huge array is ever allocated.
    Python objects are refused (allow_pickle stays False).
    """
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        with zipfile.ZipFile(path) as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's note on headers "created on Python 2": not the user's business
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            keys = list(members) if keys is None else keys
            missing = [key for key in keys if key not in members]
            if missing:
                raise DataError(f"{path}: .npz lacks the arrays {', '.join(missing)}")
            return {key: _read_member(archive, members[key], path) for key in keys}
    except (OSError, EOFError, ValueError, tokenize.TokenError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as err:
        # BadZipFile: not a zip or a bad CRC; zlib.error: a broken deflate block; NotImplementedError:
        # an unknown compression method; RuntimeError: an encrypted member; ValueError and
        # TokenError: a bad .npy header (numpy tokenizes version 1.0 headers)
        raise DataError(f"{path}: not a readable .npz file ({(str(err) or type(err).__name__).splitlines()[0]})") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One .npy member, after checking its declared size and its header's shape and dtype."""
    name = info.filename
    if info.file_size > MAX_FILE_BYTES:
        raise DataError(f"{path}: {name} is {info.file_size / 2**20:.0f} MiB once decompressed, "
                        f"more than the {MAX_MIB} MiB a digit data array may be (a zip bomb?)")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
    if dtype.hasobject:
        raise DataError(f"{path}: {name} holds Python objects; only arrays of numbers are read")
    if any(n < 0 for n in shape):
        raise DataError(f"{path}: {name} has a negative dimension {shape}")
    size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if size > info.file_size:
        raise DataError(f"{path}: {name} promises {size} bytes of data (shape {shape}, {dtype}) "
                        f"but holds {info.file_size} bytes in all")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)
