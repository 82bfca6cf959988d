"""Seeded mutation fuzzing of the data readers (tests/fuzz.py): COUNT mutations each of real IDX,
IDX.gz, .npz and Kaggle CSV files made from MNIST images. Every case parses or raises DataError (one
line naming the file); nothing else, no call over 10 s, nothing written."""

from __future__ import annotations

import gzip
import io
import random
import struct
import zipfile

import numpy as np
import pytest

from pipeline.data import DataError
from pipeline.data import bounded, formats
from pipeline.data.idx import parse_idx, to_idx
from tests import fuzz

COUNT = 500  # mutations per kind
SEED = 20240229
NPZ_KEYS = ["x_train", "y_train", "x_test", "y_test"]
CSV_TOKENS = ("", "-1", "256", "300", "1e3", "12.5", "nan", "x", "99999999999", " ", '"3"', "0x10", "\x00", "7,7", "\r")


@pytest.fixture(scope="module")
def seeds(mnist):
    """Real files from four MNIST training images: IDX images and labels, a QMNIST label file, an .npz, a CSV."""
    x, y = mnist.x_train[:4], mnist.y_train[:4]
    qmnist = struct.pack(">3I", formats.QMNIST_LABELS_MAGIC, len(y), 8) + np.c_[y, np.zeros((len(y), 7))].astype(">i4").tobytes()
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    csv = "\n".join([header, *(",".join(map(str, [int(label), *image.ravel()])) for image, label in zip(x, y))]) + "\n"
    return {"idx": [to_idx(x), to_idx(y)], "qmnist": qmnist, "npz": npz_of(dict(zip(NPZ_KEYS, (x, y, x[:2], y[:2])))),
            "csv": csv.encode()}


def npz_of(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read_idx(path):
    """The IDX readers as --data uses them: bounded read, gunzip if gzip, then the IDX or QMNIST label codec."""
    raw = bounded.read_maybe_gzip(path)
    return formats.parse_qmnist_labels(raw, str(path)) if raw[:4] == b"\0\0\x0c\x02" else parse_idx(raw, str(path))


def assert_both_outcomes(outcomes, kind):
    """The mutations reach past the first check (some parse) and break things (some are refused)."""
    print(f"\nfuzz {kind}: {dict(outcomes)}")
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes


def test_fuzz_idx(seeds, tmp_path):
    outcomes = fuzz.fuzz([*seeds["idx"], seeds["qmnist"]], read_idx, DataError, tmp_path, "f-idx3-ubyte", COUNT, SEED,
                         header=16)
    assert_both_outcomes(outcomes, "IDX")


def mutated_content(raw, rng):
    """A gzip stream of the IDX file `raw` mutated: the mutation reaches the IDX codec through gzip."""
    return gzip.compress(fuzz.mutate(gzip.decompress(raw), rng, 16)[0], 1)


def test_fuzz_idx_gz(seeds, tmp_path):
    gzipped = [gzip.compress(raw, 6) for raw in [*seeds["idx"], seeds["qmnist"]]]
    outcomes = fuzz.fuzz(gzipped, read_idx, DataError, tmp_path, "f-idx3-ubyte.gz", COUNT, SEED + 1, header=32,
                         variants=[mutated_content])
    assert_both_outcomes(outcomes, "IDX.gz")


def mutated_member(raw, rng):
    """The .npz with one member's .npy bytes mutated and zipped again (its CRC right): the mutation reaches
    the .npy header check and numpy's reader, not only zipfile's CRC check."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    victim = rng.choice(sorted(members))
    members[victim] = fuzz.mutate(members[victim], rng, 128)[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_fuzz_npz(seeds, tmp_path):
    outcomes = fuzz.fuzz([seeds["npz"]], lambda path: bounded.read_npz(path, NPZ_KEYS), DataError, tmp_path, "f.npz",
                         COUNT, SEED + 2, header=128, variants=[mutated_member])
    assert_both_outcomes(outcomes, "npz")


def swapped_field(raw, rng: random.Random):
    """The CSV with one field (or the header's) replaced by an edge token, or a line duplicated or cut short."""
    lines = raw.decode().split("\n")
    row = rng.randrange(len(lines) - 1)
    fields = lines[row].split(",")
    choice = rng.random()
    if choice < 0.7:
        fields[rng.randrange(len(fields))] = rng.choice(CSV_TOKENS)
        lines[row] = ",".join(fields)
    elif choice < 0.85:
        lines.insert(row, lines[row])
    else:
        lines[row] = ",".join(fields[: rng.randrange(len(fields))])
    return "\n".join(lines).encode()


def test_fuzz_csv(seeds, tmp_path):
    outcomes = fuzz.fuzz([seeds["csv"]], formats.parse_kaggle_csv, DataError, tmp_path, "train.csv", COUNT, SEED + 3,
                         header=200, variants=[swapped_field])
    assert_both_outcomes(outcomes, "CSV")


def test_fuzz_extra_data(seeds, tmp_path):
    """`pipeline train --extra-data`'s reader whole: the bounded read, gunzip, the hash and the CSV codec."""
    outcomes = fuzz.fuzz([seeds["csv"]], formats.read_extra_digits, DataError, tmp_path, "mine.csv", COUNT, SEED + 4,
                         header=200, variants=[swapped_field])
    assert_both_outcomes(outcomes, "--extra-data")
    outcomes = fuzz.fuzz([gzip.compress(seeds["csv"], mtime=0)], formats.read_extra_digits, DataError, tmp_path,
                         "mine.csv.gz", COUNT // 2, SEED + 5, header=20)
    assert_both_outcomes(outcomes, "--extra-data, gzip")
