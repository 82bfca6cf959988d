"""Other digit data that `--data` takes besides MNIST's own files.

Kaggle digit-recognizer CSV (`train.csv`)
    A header `label,pixel0,...,pixel783`, then one image per line: the label
    (0-9) and 784 pixel values (whole numbers 0-255, row-major 28x28, white ink
    on black, like MNIST). Kaggle's train.csv (42,000 rows) is the only file of
    the competition with labels, so a fixed part of it is held out as the test
    set: KAGGLE_TEST_FRACTION of the rows (6,000 of 42,000), picked by a
    seeded permutation (KAGGLE_SPLIT_SEED) that does not depend on the training
    seed, so every run and every command sees the same test rows. The training
    stage then holds out its own validation split from the rest, as for MNIST.
    Kaggle's test.csv (no label column) is refused. The same format, all rows
    kept, is what `pipeline train --extra-data` adds to the training set (the
    drawing page's download of a visitor's own digits): read_extra_digits.

QMNIST (Yadav & Bottou 2019), a folder with the files
    qmnist-train-images-idx3-ubyte, qmnist-train-labels-idx2-int,
    qmnist-test-images-idx3-ubyte, qmnist-test-labels-idx2-int (each raw or .gz).
    Images are IDX uint8 (N, 28, 28) like MNIST. Labels are IDX int32, big-endian,
    magic 0x00000C02, shape (N, 8): the extended records (digit, NIST series,
    writer id, digit index for that writer, NIST class, global NIST index,
    duplicate flag, unused); the digit (column 0) is the label. The training set
    is all of qmnist-train (60,000); the test set is "test10k", the first 10,000
    records of qmnist-test, which are MNIST's own 10,000 test images (fewer if
    the file holds fewer). The rest of qmnist-test (50,000 more) is not used.

Neither format has published checksums to verify against, so they are checked
for shape and range only: every malformed file (wrong header or magic number,
wrong column or field count, non-numeric or out-of-range values, truncated
data) gets a one-line DataError naming the file, and the line or record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct
import warnings
from pathlib import Path

import numpy as np

from pipeline.contract import IMAGE_SIZE, NUM_DIGITS
from pipeline.data import DataError
from pipeline.data.bounded import maybe_gunzip, read_file, read_maybe_gzip
from pipeline.data.idx import parse_idx

PIXELS = IMAGE_SIZE * IMAGE_SIZE
KAGGLE_HEADER = ["label"] + [f"pixel{i}" for i in range(PIXELS)]
KAGGLE_TEST_FRACTION = 1 / 7  # of train.csv's rows held out as the test set (MNIST's own ratio, 10k of 70k)
KAGGLE_SPLIT_SEED = 20120725  # fixes which rows are the test set, independent of the training seed

QMNIST_FILES = {  # role -> QMNIST file name (raw; ".gz" also accepted)
    "train-images": "qmnist-train-images-idx3-ubyte",
    "train-labels": "qmnist-train-labels-idx2-int",
    "test-images": "qmnist-test-images-idx3-ubyte",
    "test-labels": "qmnist-test-labels-idx2-int",
}
QMNIST_LABELS_MAGIC = 0x00000C02  # int32, 2 dimensions
QMNIST_RECORD_FIELDS = 8  # int32 fields per extended label record
QMNIST_TEST10K = 10_000  # the first records of qmnist-test: MNIST's test set


# ----------------------------------------------------------------- Kaggle CSV


def read_kaggle_csv(path: Path) -> dict[str, np.ndarray]:
    """Read a Kaggle digit-recognizer train.csv and split off the fixed test part.

    Returns the four MNIST arrays by IDX file name (as pipeline.data.mnist reads them):
    images uint8 (N, 28, 28), labels uint8 (N,).
    """
    labels, pixels = parse_kaggle_csv(path)
    n = len(labels)
    if n < 2:
        raise DataError(f"{path}: {n} data rows; need at least 2 to hold out a test part")
    test_size = max(1, round(n * KAGGLE_TEST_FRACTION))
    order = np.random.default_rng(KAGGLE_SPLIT_SEED).permutation(n)
    test, train = np.sort(order[:test_size]), np.sort(order[test_size:])
    images = pixels.reshape(n, IMAGE_SIZE, IMAGE_SIZE)
    return {
        "train-images-idx3-ubyte": images[train],
        "train-labels-idx1-ubyte": labels[train],
        "t10k-images-idx3-ubyte": images[test],
        "t10k-labels-idx1-ubyte": labels[test],
    }


@dataclasses.dataclass(frozen=True)
class ExtraDigits:
    """One `--extra-data` file: every row of a Kaggle-style CSV, for the training set only."""

    path: Path  # the file as given
    sha256: str  # hex SHA-256 of the file's bytes: what a resumed run must give again
    images: np.ndarray  # uint8 (N, 28, 28), 0-255, white ink on black
    labels: np.ndarray  # uint8 (N,), 0-9

    @property
    def record(self) -> dict:
        """Its provenance, for metrics.json and the checkpoint: {"path", "rows", "sha256"}."""
        return {"path": str(self.path), "rows": int(len(self.labels)), "sha256": self.sha256}


def read_extra_digits(path: Path) -> ExtraDigits:
    """Every row of a Kaggle-style CSV (label,pixel0,...,pixel783; raw or .gz) with the file's SHA-256, read once:
    a regular file within its size bound first (a FIFO or /dev/zero is refused, never read), then hashed and
    parsed from those bytes. DataError naming the file (and the line) when it is not one, or holds no rows."""
    raw = read_file(Path(path))
    labels, pixels = parse_kaggle_csv(path, raw)
    return ExtraDigits(Path(path), hashlib.sha256(raw).hexdigest(), pixels.reshape(len(labels), IMAGE_SIZE, IMAGE_SIZE), labels)


def parse_kaggle_csv(path: Path, raw: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels uint8 (N,), pixels uint8 (N, 784)) from a Kaggle train.csv (its bytes `raw`, gzip or not, when
    read already); DataError on any malformed line."""
    raw = read_maybe_gzip(path) if raw is None else maybe_gunzip(raw, str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    header_line, _, body = text.partition("\n")
    header = [h.strip().strip('"') for h in header_line.strip().split(",")]
    if header == KAGGLE_HEADER[1:]:
        raise DataError(f"{path}: has no label column (Kaggle's test.csv?); give train.csv, whose first column is label")
    if header != KAGGLE_HEADER:
        raise DataError(f"{path}: not a Kaggle digit-recognizer CSV (the header must be label,pixel0,...,pixel{PIXELS - 1})")
    if not body.strip():
        raise DataError(f"{path}: no data rows after the header")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "12.5" or an overflow must fail, not be rounded
            table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.int16, ndmin=2)
    except (ValueError, DeprecationWarning, OverflowError, UserWarning):
        _find_bad_line(path, body)  # raises with the line and column
        raise DataError(f"{path}: malformed CSV data") from None
    if table.shape[1] != len(KAGGLE_HEADER):  # only reachable when every row has the same wrong count
        raise DataError(f"{path}: line 2 has {table.shape[1]} columns, the header has {len(KAGGLE_HEADER)}")
    limits = np.full(table.shape[1], 255)
    limits[0] = NUM_DIGITS - 1
    if ((table < 0) | (table > limits)).any():
        _find_bad_line(path, body)  # raises with the line and column
    return table[:, 0].astype(np.uint8), table[:, 1:].astype(np.uint8)


def _find_bad_line(path: Path, body: str) -> None:
    """Scan the data lines one by one and raise DataError for the first malformed one."""
    for number, line in enumerate(body.split("\n"), start=2):
        line = line.strip()
        if not line:
            continue
        fields = line.split(",")
        if len(fields) != len(KAGGLE_HEADER):
            raise DataError(
                f"{path}: line {number} has {len(fields)} columns, the header has {len(KAGGLE_HEADER)} (truncated?)"
            )
        for name, field in zip(KAGGLE_HEADER, fields):
            try:
                value = int(field)
            except ValueError:
                raise DataError(f"{path}: line {number}, column {name}: {field.strip()!r} is not a whole number") from None
            limit = NUM_DIGITS - 1 if name == "label" else 255
            if not 0 <= value <= limit:
                raise DataError(f"{path}: line {number}, column {name}: {value} is out of range 0-{limit}")


# --------------------------------------------------------------------- QMNIST


def is_qmnist_folder(folder: Path) -> bool:
    """Whether `folder` holds QMNIST files (any of the four, raw or .gz)."""
    return any((folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in QMNIST_FILES.values())


def read_qmnist_folder(folder: Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays (by IDX file name) from a folder of QMNIST files:
    train = qmnist-train, test = test10k (the first 10,000 records of qmnist-test)."""
    arrays = {}
    for role, name in QMNIST_FILES.items():
        path = next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)
        if path is None:
            raise DataError(f"{folder}: missing {name} (or {name}.gz)")
        raw = read_maybe_gzip(path)
        arrays[role] = parse_qmnist_labels(raw, str(path)) if role.endswith("labels") else _parse_images(raw, str(path))
    for split in ("train", "test"):
        images, labels = arrays[f"{split}-images"], arrays[f"{split}-labels"]
        if len(images) != len(labels):
            raise DataError(f"{folder}: qmnist-{split} has {len(images)} images but {len(labels)} label records")
        if len(images) == 0:
            raise DataError(f"{folder}: qmnist-{split} holds no images")
    return {
        "train-images-idx3-ubyte": arrays["train-images"],
        "train-labels-idx1-ubyte": arrays["train-labels"],
        "t10k-images-idx3-ubyte": arrays["test-images"][:QMNIST_TEST10K],
        "t10k-labels-idx1-ubyte": arrays["test-labels"][:QMNIST_TEST10K],
    }


def parse_qmnist_labels(raw: bytes, name: str) -> np.ndarray:
    """The digits (uint8 (N,), column 0) of a QMNIST extended label file (IDX int32 (N, 8))."""
    if len(raw) < 4:
        raise DataError(f"{name}: file is {len(raw)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != QMNIST_LABELS_MAGIC:
        raise DataError(
            f"{name}: not a QMNIST label file (magic number 0x{magic:08x}, expected 0x{QMNIST_LABELS_MAGIC:08x})"
        )
    if len(raw) < 12:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} of 12 bytes)")
    count, fields = struct.unpack(">2I", raw[4:12])
    if fields != QMNIST_RECORD_FIELDS:
        raise DataError(f"{name}: label records have {fields} fields, QMNIST's have {QMNIST_RECORD_FIELDS}")
    expected = 12 + 4 * count * fields
    if len(raw) < expected:
        raise DataError(f"{name}: truncated, {len(raw)} bytes but the header promises {expected}")
    if len(raw) > expected:
        raise DataError(f"{name}: {len(raw) - expected} unexpected bytes after the data")
    records = np.frombuffer(raw, dtype=">i4", offset=12).reshape(count, fields)
    digits = records[:, 0]
    bad = np.flatnonzero((digits < 0) | (digits >= NUM_DIGITS))
    if len(bad):
        raise DataError(f"{name}: record {bad[0]} has digit {digits[bad[0]]}, expected 0-{NUM_DIGITS - 1}")
    return digits.astype(np.uint8)


def _parse_images(raw: bytes, name: str) -> np.ndarray:
    images = parse_idx(raw, name)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{name}: holds arrays of shape {images.shape[1:]}, expected {IMAGE_SIZE}x{IMAGE_SIZE} images")
    return images
