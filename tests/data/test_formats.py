"""`--data` with a Kaggle digit-recognizer CSV or QMNIST files: small real-format files made
from MNIST subsets are read back exactly, and every malformed file fails in one line."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.config import TrainConfig
from pipeline.data import mnist as data
from pipeline.data import formats
from pipeline.cli import main
from pipeline.data import DataError
from tests.helpers import kaggle_csv, one_line_failure, pipeline_cli


# --------------------------------------------------------------- file writers


def qmnist_labels(labels, fields=8, magic=formats.QMNIST_LABELS_MAGIC) -> bytes:
    """QMNIST's extended label file: IDX int32 big-endian (N, fields); column 0 the digit,
    then plausible NIST series, writer id, index, class code, global index, duplicate, unused."""
    n = len(labels)
    records = np.zeros((n, fields), ">i4")
    records[:, 0] = labels
    extras = [np.full(n, 4), 2000 + np.arange(n) // 50, np.arange(n) % 50, 48 + np.asarray(labels), np.arange(n), np.zeros(n), np.zeros(n)]
    for column, values in zip(range(1, fields), extras):
        records[:, column] = values
    return struct.pack(">3I", magic, n, fields) + records.tobytes()


def qmnist_folder(folder, train_x, train_y, test_x, test_y, gz=()):
    """Write the four QMNIST files (the roles in `gz` gzipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    payloads = {
        "train-images": data.to_idx(train_x),
        "train-labels": qmnist_labels(train_y),
        "test-images": data.to_idx(test_x),
        "test-labels": qmnist_labels(test_y),
    }
    for role, raw in payloads.items():
        name = formats.QMNIST_FILES[role]
        if role in gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, 1))
        else:
            (folder / name).write_bytes(raw)
    return folder


def one_line_cli_error(args, *fragments):
    """Run `pipeline ARGS` as a real child process; assert one `Error` line on stderr with every fragment, exit 1."""
    one_line_failure(pipeline_cli(*args), *fragments)


# ------------------------------------------------------------------- Kaggle


def test_kaggle_csv_is_read_and_split_into_a_fixed_test_part(tmp_path, mnist):
    x, y = mnist.x_train[:70], mnist.y_train[:70]
    path = kaggle_csv(tmp_path / "train.csv", x, y)
    loaded = data.load_mnist(path, log=lambda *a: None)
    assert len(loaded.x_test) == 10 and len(loaded.x_train) == 60  # 1/7 held out
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape[1:] == (28, 28)
    # every row lands in exactly one part, unchanged, with its own label
    rows = {x[i].tobytes(): int(y[i]) for i in range(70)}
    seen = [im.tobytes() for im in np.concatenate([loaded.x_train, loaded.x_test])]
    assert sorted(seen) == sorted(rows)
    assert all(rows[im.tobytes()] == lab for im, lab in zip(loaded.x_test, loaded.y_test))
    again = data.load_mnist(path, log=lambda *a: None)
    assert np.array_equal(again.x_test, loaded.x_test)  # the same test rows every time


def test_gzipped_kaggle_csv_and_windows_line_ends(tmp_path, mnist):
    path = kaggle_csv(tmp_path / "train.csv", mnist.x_train[:14], mnist.y_train[:14])
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    gz = tmp_path / "train.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for variant in (crlf, gz):
        assert np.array_equal(formats.read_kaggle_csv(variant)["t10k-images-idx3-ubyte"],
                              formats.read_kaggle_csv(path)["t10k-images-idx3-ubyte"])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda lines: ["image," + lines[0].split(",", 1)[1], *lines[1:]], "not a Kaggle digit-recognizer CSV"),
        (lambda lines: [lines[0].split(",", 1)[1], *(l.split(",", 1)[1] for l in lines[1:])], "no label column"),
        (lambda lines: [*lines[:-1], lines[-1].rsplit(",", 300)[0]], "line 5 has 485 columns, the header has 785"),
        (lambda lines: [lines[0], lines[1].replace(",0,", ",x,", 1), *lines[2:]], "line 2, column pixel"),
        (lambda lines: [lines[0], lines[1].replace(",0,", ",12.5,", 1), *lines[2:]], "'12.5' is not a whole number"),
        (lambda lines: [lines[0], lines[1], lines[2].replace(",0,", ",256,", 1), *lines[3:]], "line 3, column pixel"),
        (lambda lines: [lines[0], "11" + lines[1][1:], *lines[2:]], "line 2, column label: 11 is out of range 0-9"),
        (lambda lines: [lines[0], lines[1].replace(",0,", ",-3,", 1), *lines[2:]], "-3 is out of range 0-255"),
        (lambda lines: lines[:1], "no data rows"),
        (lambda lines: lines[:2], "1 data rows; need at least 2 to hold out a test part"),
    ],
)
def test_malformed_kaggle_csv_fails_in_one_line(tmp_path, mnist, mutate, message):
    good = kaggle_csv(tmp_path / "good.csv", mnist.x_train[:4], mnist.y_train[:4])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(mutate(good.read_text().splitlines())) + "\n")
    with pytest.raises(DataError, match="^" + str(bad)) as caught:
        formats.read_kaggle_csv(bad)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cli_names_a_malformed_csv_and_writes_nothing(tmp_path, mnist):
    bad = kaggle_csv(tmp_path / "train.csv", mnist.x_train[:3], mnist.y_train[:3], header="a,b,c")
    one_line_cli_error(["train", "--data", str(bad), "--artifacts", str(tmp_path / "out")], str(bad), "header")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # trains on real MNIST
def test_train_on_a_kaggle_csv_end_to_end(tmp_path, mnist):
    path = kaggle_csv(tmp_path / "train.csv", mnist.x_train[:280], mnist.y_train[:280])
    result = CliRunner().invoke(main, ["train", "--data", str(path), "--artifacts", str(tmp_path / "a"), "--epochs", "1",
                                       "--validation-size", "40", "--batch-size", "64"])
    assert result.exit_code == 0, result.output
    redrawn = round(200 * TrainConfig().redrawn)  # digits redrawn with a pen
    fit, val = round(200 * TrainConfig().nondigits), round(40 * TrainConfig().nondigits)  # generated non-digits
    assert (f"{200 + redrawn + fit} training and {40 + val} validation images, of which {redrawn} are digits redrawn "
            f"with a pen and {fit} and {val} are not digits; 40 test images") in result.output
    assert (tmp_path / "a" / "model.keras").is_file()


# ------------------------------------------------------------------- QMNIST


def test_qmnist_folder_uses_train_and_the_first_10k_of_test(tmp_path, mnist):
    extra = 5  # qmnist-test has 60,000 records; the first 10,000 are MNIST's test set
    test_x = np.concatenate([mnist.x_test, mnist.x_train[:extra]])
    test_y = np.concatenate([mnist.y_test, mnist.y_train[:extra]])
    folder = qmnist_folder(tmp_path / "qmnist", mnist.x_train[:300], mnist.y_train[:300], test_x, test_y,
                           gz=("train-images", "test-labels"))
    loaded = data.load_mnist(folder, log=lambda *a: None)
    assert np.array_equal(loaded.x_train, mnist.x_train[:300]) and np.array_equal(loaded.y_train, mnist.y_train[:300])
    assert np.array_equal(loaded.x_test, mnist.x_test) and np.array_equal(loaded.y_test, mnist.y_test)
    assert loaded.y_test.dtype == np.uint8


def _good_qmnist(tmp_path, mnist):
    return qmnist_folder(tmp_path / "q", mnist.x_train[:20], mnist.y_train[:20], mnist.x_test[:10], mnist.y_test[:10])


def _rewrite(folder, role, change):
    path = folder / formats.QMNIST_FILES[role]
    path.write_bytes(change(path.read_bytes()))
    return path


@pytest.mark.parametrize(
    "role, change, message",
    [
        ("train-labels", lambda raw: data.to_idx(np.zeros(20, np.uint8)), "not a QMNIST label file (magic number 0x00000801"),
        ("test-labels", lambda raw: qmnist_labels(np.zeros(10, int), fields=7), "label records have 7 fields, QMNIST's have 8"),
        ("test-labels", lambda raw: raw[:-6], "truncated"),
        ("test-labels", lambda raw: raw[:9], "truncated IDX header"),
        ("train-labels", lambda raw: qmnist_labels(np.r_[np.zeros(19, int), 12]), "record 19 has digit 12"),
        ("train-labels", lambda raw: qmnist_labels(np.zeros(19, int)), "qmnist-train has 20 images but 19 label records"),
        ("train-images", lambda raw: raw[:-100], "truncated"),
        ("train-images", lambda raw: data.to_idx(np.zeros((20, 16, 16), np.uint8)), "expected 28x28 images"),
        ("test-images", lambda raw: b"\x89PNG" + raw[4:], "not an MNIST IDX file"),
    ],
)
def test_malformed_qmnist_fails_in_one_line(tmp_path, mnist, role, change, message):
    folder = _good_qmnist(tmp_path, mnist)
    path = _rewrite(folder, role, change)
    with pytest.raises(DataError) as caught:
        data.load_mnist(folder, log=lambda *a: None)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(folder) in str(caught.value) or str(path) in str(caught.value)


def test_cli_names_a_missing_qmnist_file(tmp_path, mnist):
    folder = _good_qmnist(tmp_path, mnist)
    (folder / formats.QMNIST_FILES["test-images"]).unlink()
    one_line_cli_error(["train", "--data", str(folder), "--artifacts", str(tmp_path / "out")],
                       "missing qmnist-test-images-idx3-ubyte")
    assert not (tmp_path / "out").exists()


def test_evaluate_on_qmnist_test10k_and_a_kaggle_test_part(tmp_path, mnist, trained_artifacts):
    folder = qmnist_folder(tmp_path / "q", mnist.x_train[:20], mnist.y_train[:20], mnist.x_test[:300], mnist.y_test[:300])
    csv_path = kaggle_csv(tmp_path / "train.csv", mnist.x_test[:700], mnist.y_test[:700])
    for data_path, images in ((folder, 300), (csv_path, 100)):
        result = CliRunner().invoke(main, ["evaluate", "--artifacts", str(trained_artifacts), "--data", str(data_path), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output[result.output.index("{"):])
        assert report["images"] == images and sum(map(sum, report["confusion_matrix"])) == images
        assert report["accuracy"] > 0.95  # MNIST test digits the model never trained on, in other clothes
