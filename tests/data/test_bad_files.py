"""Hostile and broken data files given to `pipeline train --data`, run as a real child process:
each one ends with exactly one line on stderr naming the file and what is wrong, exit code 1
(2 for a path that does not exist), and nothing written. The rows of docs/hardening.md's data table."""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError
from pipeline.data import formats
from pipeline.data import mnist as data
from pipeline.data.bounded import MAX_FILE_BYTES
from tests.helpers import one_line_failure, pipeline_cli

IMAGES = "train-images-idx3-ubyte"  # the first file read from an IDX folder
BOMB_BYTES = MAX_FILE_BYTES + 2**20  # what the bombs decompress to: just over the bound


def idx_header(*dims, type_code=0x08):
    return struct.pack(f">I{len(dims)}I", (type_code << 8) | len(dims), *dims)


def break_deflate(gz: bytes) -> bytes:
    """A gzip stream with its header intact and the first deflate block's bytes inverted."""
    broken = bytearray(gz)
    for i in range(10, 40):  # a 10-byte header (no file name), then deflate data
        broken[i] ^= 0xFF
    return bytes(broken)


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def digits(mnist):
    """Three real MNIST training images and their labels."""
    return mnist.x_train[:3], mnist.y_train[:3]


def folder_with(tmp_path, name, content):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / name).write_bytes(content)
    return folder


def csv_bytes(digits) -> bytes:
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = [",".join(map(str, [int(y), *x.ravel().tolist()])) for x, y in zip(*digits)]
    return ("\n".join([header, *rows]) + "\n").encode()


def qmnist_with_no_images(tmp_path, digits):
    folder = tmp_path / "qmnist"
    folder.mkdir()
    empty_labels = struct.pack(">3I", formats.QMNIST_LABELS_MAGIC, 0, 8)
    for role, name in formats.QMNIST_FILES.items():
        content = empty_labels if role.endswith("labels") else data.to_idx(np.zeros((0, 28, 28), np.uint8))
        (folder / name).write_bytes(content)
    return folder


def npy_of_shape(shape, payload=b"abc") -> bytes:
    """An .npy of uint8 whose header claims `shape`, over `payload`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    return path


def symlink_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    return tmp_path / "a"


def sparse_file(tmp_path, name, size):
    folder = tmp_path / "data"
    folder.mkdir()
    with open(folder / name, "wb") as file:
        file.truncate(size)  # a hole: no disk space used, no time spent
    return folder


# id -> (make(tmp_path, digits) -> the path given to --data, what the one line says)
CASES = {
    "gz IDX with a broken deflate block": (
        lambda t, d: folder_with(t, IMAGES + ".gz", break_deflate(gzip.compress(data.to_idx(d[0])))),
        "train-images-idx3-ubyte.gz: broken gzip data (Error -3 while decompressing data"),
    "train.csv.gz with a broken deflate block": (
        lambda t, d: (t / "train.csv.gz", (t / "train.csv.gz").write_bytes(break_deflate(gzip.compress(csv_bytes(d)))))[0],
        "train.csv.gz: broken gzip data (Error -3 while decompressing data"),
    "QMNIST .gz with a broken deflate block": (
        lambda t, d: folder_with(t, "qmnist-train-images-idx3-ubyte.gz", break_deflate(gzip.compress(data.to_idx(d[0])))),
        "qmnist-train-images-idx3-ubyte.gz: broken gzip data (Error -3 while decompressing data"),
    "gz with a wrong CRC": (
        lambda t, d: folder_with(t, IMAGES + ".gz", (lambda g: g[:-8] + b"\0\0\0\0" + g[-4:])(gzip.compress(data.to_idx(d[0])))),
        "broken gzip data (CRC check failed"),
    "gz with garbage after the stream": (
        lambda t, d: folder_with(t, IMAGES + ".gz", gzip.compress(data.to_idx(d[0])) + b"garbage!"),
        "broken gzip data (Not a gzipped file"),
    "gzip of zero bytes": (
        lambda t, d: folder_with(t, IMAGES + ".gz", gzip.compress(b"")),
        "train-images-idx3-ubyte.gz: file is 0 bytes, too short for an IDX header"),
    "a .gz file of zero bytes": (
        lambda t, d: folder_with(t, IMAGES + ".gz", b""),
        "train-images-idx3-ubyte.gz: file is 0 bytes, too short for an IDX header"),
    "16-byte IDX whose dimensions overflow (2^31 x 2^31 x 4)": (
        lambda t, d: folder_with(t, IMAGES, idx_header(2**31, 2**31, 4)),
        f"{IMAGES}: truncated, 16 bytes but the header promises {16 + 2**64}"),
    "IDX of float32 values": (
        lambda t, d: folder_with(t, IMAGES, idx_header(3, 28, 28, type_code=0x0D) + bytes(3 * 784 * 4)),
        f"{IMAGES}: IDX values of type float32 (code 0x0d); MNIST files hold unsigned bytes (0x08)"),
    "IDX of 2 dimensions": (
        lambda t, d: folder_with(t, IMAGES, idx_header(3, 784) + d[0].tobytes()),
        f"{IMAGES}: IDX array of 2 dimensions; MNIST files have 1 (labels) or 3 (images)"),
    "IDX larger than any data file (300 MiB)": (
        lambda t, d: sparse_file(t, IMAGES, 300 * 2**20),
        f"{IMAGES}: 300 MiB, more than the 256 MiB a digit data file may be"),
    "QMNIST folder with no images": (
        qmnist_with_no_images, "qmnist-train holds no images"),
    ".npz with a corrupt compressed member": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(
            (lambda z: z[:200] + bytes(b ^ 0x55 for b in z[200:260]) + z[260:])(npz(x_train=d[0], y_train=d[1], x_test=d[0], y_test=d[1]))))[0],
        "m.npz: not a readable .npz file ("),
    ".npz with object arrays (pickles)": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(zip_of({
            f"{k}.npy": npy(np.array([{"x": 1}], dtype=object)) for k in data.NPZ_KEYS})))[0],
        "m.npz: x_train.npy holds Python objects; only arrays of numbers are read"),
    ".npz of floats with NaN": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(npz(x_train=np.full((3, 28, 28), np.nan), y_train=d[1],
                                                                 x_test=d[0], y_test=d[1])))[0],
        "m.npz: train-images-idx3-ubyte has dtype float64, expected uint8"),
    ".npz whose .npy header promises more data than it holds": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(zip_of({
            f"{k}.npy": npy_of_shape((9_999_999_999,), d[0].tobytes()) for k in data.NPZ_KEYS})))[0],
        "m.npz: x_train.npy promises 9999999999 bytes of data"),
    ".npz whose .npy header has a negative dimension": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(zip_of({f"{k}.npy": npy_of_shape((-5, 28)) for k in data.NPZ_KEYS})))[0],
        "m.npz: x_train.npy has a negative dimension (-5, 28)"),
    ".npz whose member is not .npy": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(zip_of({f"{k}.npy": b"hello" * 20 for k in data.NPZ_KEYS})))[0],
        "m.npz: not a readable .npz file (the magic string is not correct"),
    ".npz without x_test and y_test": (
        lambda t, d: (t / "m.npz", (t / "m.npz").write_bytes(npz(x_train=d[0], y_train=d[1])))[0],
        "m.npz: .npz lacks the arrays x_test, y_test"),
    "a FIFO named mnist.npz": (
        lambda t, d: fifo(t, "mnist.npz"), "mnist.npz: not a regular file or folder"),
    "a PNG named train.csv": (
        lambda t, d: (t / "train.csv", (t / "train.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + bytes(100)))[0],
        "train.csv: not a text CSV file"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_data_file_is_one_line_naming_it(tmp_path, digits, case):
    make, message = CASES[case]
    path = make(tmp_path, digits)
    before = sorted(tmp_path.rglob("*"))
    result = pipeline_cli("train", "--data", path, "--artifacts", tmp_path / "out", timeout=30)
    line = one_line_failure(result, message)
    assert str(tmp_path) in line  # names the file (or the folder holding it)
    assert sorted(tmp_path.rglob("*")) == before, "nothing written"


def test_a_symlink_loop_is_a_usage_error(tmp_path):
    result = pipeline_cli("train", "--data", symlink_loop(tmp_path), "--artifacts", tmp_path / "out")
    one_line_failure(result, f"'{tmp_path / 'a'}' does not exist", code=2)
    assert not (tmp_path / "out").exists()


def bomb_stream(write, size=BOMB_BYTES, chunk=bytes(2**20)):
    """Write `size` zero bytes through `write` a MiB at a time (the bombs never sit in memory whole)."""
    for _ in range(size // len(chunk)):
        write(chunk)


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory):
    """train-images-idx3-ubyte.gz: about 260 KiB that decompress to MAX_FILE_BYTES + 1 MiB (an IDX header, then zeros)."""
    folder = tmp_path_factory.mktemp("gzip-bomb")
    with gzip.open(folder / (IMAGES + ".gz"), "wb", compresslevel=9) as out:
        out.write(idx_header(BOMB_BYTES // 784, 28, 28))
        bomb_stream(out.write)
    return folder


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """mnist.npz whose x_train.npy is about 260 KiB deflated and MAX_FILE_BYTES + 1 MiB inflated."""
    path = tmp_path_factory.mktemp("zip-bomb") / "mnist.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x_train.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False, "shape": (BOMB_BYTES,)})
            bomb_stream(member.write)
        for key in ("y_train", "x_test", "y_test"):
            archive.writestr(f"{key}.npy", npy(np.zeros(3, np.uint8)))
    return path


def test_a_gzip_bomb_is_refused_at_the_bound(gzip_bomb, tmp_path):
    assert (gzip_bomb / (IMAGES + ".gz")).stat().st_size < 2**20
    result = pipeline_cli("train", "--data", gzip_bomb, "--artifacts", tmp_path / "out")
    one_line_failure(result, f"{IMAGES}.gz: more than 256 MiB once decompressed, more than a digit data file holds")
    assert not (tmp_path / "out").exists()


def test_a_zip_bomb_is_refused_before_it_is_inflated(zip_bomb, tmp_path):
    assert zip_bomb.stat().st_size < 2**20
    result = pipeline_cli("train", "--data", zip_bomb, "--artifacts", tmp_path / "out")
    one_line_failure(result, "mnist.npz: x_train.npy is 257 MiB once decompressed, more than the 256 MiB")
    assert not (tmp_path / "out").exists()


# id -> (make(tmp_path) -> the path given to --extra-data, what the one line says after it)
EXTRA_CASES = {
    "a FIFO (reading it would block for ever)": (lambda t: fifo(t, "mine.csv"), "not a regular file"),
    "/dev/zero (endless bytes)": (lambda t: Path("/dev/zero"), "not a regular file"),
    "a link to /dev/zero": (lambda t: (t / "zero.csv", (t / "zero.csv").symlink_to("/dev/zero"))[0], "not a regular file"),
    "a CSV larger than any data file (300 MiB, sparse)": (
        lambda t: sparse_file(t, "big.csv", 300 * 2**20) / "big.csv", "300 MiB, more than the 256 MiB a digit data file may be"),
    "a gzip bomb named .csv.gz": (
        lambda t: (t / "bomb.csv.gz", (t / "bomb.csv.gz").write_bytes(gzip.compress(b"0" * (MAX_FILE_BYTES + 2**20), 9)))[0],
        "more than 256 MiB once decompressed"),
}


@pytest.mark.parametrize("case", EXTRA_CASES, ids=list(EXTRA_CASES))
def test_a_special_or_huge_extra_data_file_is_refused_before_it_is_read(tmp_path, case):
    """`pipeline train --extra-data` checks that the file is a regular file within its bound before it reads (or
    hashes) a byte: a FIFO blocked for ever and /dev/zero spun at 100 % CPU for ever."""
    make, message = EXTRA_CASES[case]
    path = make(tmp_path)
    result = pipeline_cli("train", "--extra-data", path, "--artifacts", tmp_path / "out", timeout=30)
    one_line_failure(result, f"Error: {path}: {message}")
    assert not (tmp_path / "out").exists(), "nothing written"
