"""`pipeline train --extra-data FILE`: a Kaggle-style CSV's rows join the training images only
(never validation or test), metrics.json records each file's path, rows and SHA-256, a bad file
is one line naming it before TensorFlow starts, and a resume with other extra data is refused.

The extra rows are MNIST *test* images, so they are recognisably not part of the training set."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pipeline.config import TrainConfig
from pipeline.data.formats import KAGGLE_HEADER, read_extra_digits
from tests.helpers import ENV, kaggle_csv, one_line_failure, pipeline_cli

EXTRA_ROWS = 50
HEADER = ",".join(KAGGLE_HEADER)
TINY = ["--epochs", "1", "--train-limit", "2000", "--validation-size", "400", "--test-limit", "1000",
        "--batch-size", "32"]
TINY_CONFIG = TrainConfig(epochs=1, train_limit=2000, validation_size=400, test_limit=1000, batch_size=32)


@pytest.fixture
def extra_csv(tmp_path, mnist):
    """A Kaggle-style CSV of the last EXTRA_ROWS MNIST test images (the tiny run tests on the first 1,000)."""
    return kaggle_csv(tmp_path / "my digits.csv", mnist.x_test[-EXTRA_ROWS:], mnist.y_test[-EXTRA_ROWS:])


def test_extra_rows_land_in_the_fit_split_only(extra_csv, mnist):
    from pipeline.train.loop import split_data

    lines = []
    plain = split_data(TINY_CONFIG, mnist, lambda *_: None)
    with_extra = split_data(TINY_CONFIG, mnist, lines.append, [read_extra_digits(extra_csv)])

    # training: MNIST's digits, the same digits redrawn with a pen, the extra rows, generated non-digits
    redrawn, others = round(TINY_CONFIG.redrawn * 1600), round(TINY_CONFIG.nondigits * 1600)
    start = 1600 + redrawn  # of the extra rows
    assert len(with_extra.x_fit) == len(plain.x_fit) + EXTRA_ROWS == start + EXTRA_ROWS + others
    assert np.array_equal(with_extra.x_fit[:start], plain.x_fit[:start]), "MNIST's part and the redrawn are unchanged"
    assert np.array_equal(with_extra.x_fit[start:start + EXTRA_ROWS], mnist.x_test[-EXTRA_ROWS:])
    assert np.array_equal(with_extra.y_fit[start:start + EXTRA_ROWS], mnist.y_test[-EXTRA_ROWS:])
    assert np.array_equal(with_extra.x_fit[-others:], plain.x_fit[-others:]), "the same non-digits"
    for held_out in ("x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(getattr(with_extra, held_out), getattr(plain, held_out)), held_out
    sha256 = hashlib.sha256(extra_csv.read_bytes()).hexdigest()
    assert with_extra.extra == ({"path": str(extra_csv), "rows": EXTRA_ROWS, "sha256": sha256},)
    held_out = round(TINY_CONFIG.nondigits * 400)
    assert (f"data: {start + 50 + others} training (+50 from {extra_csv}) and {400 + held_out} validation images, of "
            f"which {redrawn} are digits redrawn with a pen and {others} and {held_out} are not digits; 1000 test images"
            ) in lines


BAD_FILES = {  # name -> (the file's text, what the one line says after "NAME: ")
    "kaggle-test.csv": (HEADER.split(",", 1)[1] + "\n" + ",".join(["0"] * 784) + "\n", "has no label column"),
    "short-row.csv": (HEADER + "\n3," + ",".join(["0"] * 784) + "\n7," + ",".join(["0"] * 783) + "\n",
                      "line 3 has 784 columns, the header has 785"),
    "pixel-256.csv": (HEADER + "\n3," + ",".join(["0"] * 500 + ["256"] + ["0"] * 283) + "\n",
                      "line 2, column pixel500: 256 is out of range 0-255"),
    "empty.csv": ("", "not a Kaggle digit-recognizer CSV"),
    "header-only.csv": (HEADER + "\n", "no data rows after the header"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_extra_file_is_one_line_naming_it(tmp_path, name):
    text, problem = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_text(text)
    good = kaggle_csv(tmp_path / "good.csv", np.zeros((1, 28, 28), np.uint8), [3])
    result = pipeline_cli("train", "--artifacts", tmp_path / "out", "--extra-data", good, "--extra-data", bad,
                          cwd=tmp_path)
    one_line_failure(result, f"{bad}: {problem}")
    assert not (tmp_path / "out").exists(), "nothing written"


def test_a_resume_with_other_extra_data_is_refused(tmp_path, extra_csv, mnist):
    from pipeline.train import checkpoint
    from pipeline.train.latest import ResumeError, read_state
    from pipeline.train.loop import build_trainer

    config = TrainConfig(epochs=2)
    record = read_extra_digits(extra_csv).record
    trainer, _ = build_trainer(config, 3e-3, steps_per_epoch=4, jit_compile=False)
    saver = checkpoint.EveryEpoch(tmp_path / "checkpoint", config, 1, [{"epoch": 1, "seconds": 1.0}], True, [record])
    saver.set_model(trainer)
    saver.on_epoch_end(0)  # what training does after epoch 1
    state = read_state(tmp_path / "checkpoint")
    assert state["extra_data"] == [record]

    moved = tmp_path / "moved.csv"  # the same content elsewhere: the same data
    moved.write_bytes(extra_csv.read_bytes())
    checkpoint.check_compatible(state, config, 1, tmp_path / "checkpoint", [read_extra_digits(moved).record])
    with pytest.raises(ResumeError, match="--extra-data differs"):
        checkpoint.check_compatible(state, config, 1, tmp_path / "checkpoint", [])

    changed = kaggle_csv(tmp_path / "changed.csv", mnist.x_test[-EXTRA_ROWS:], (mnist.y_test[-EXTRA_ROWS:] + 1) % 10)
    for given in (["--extra-data", changed], [], ["--extra-data", extra_csv, "--extra-data", moved]):
        result = pipeline_cli("train", "--resume", "--artifacts", tmp_path, *given, cwd=tmp_path)
        one_line_failure(result, "cannot resume from", "--extra-data differs from the checkpoint's",
                         f"it trained with {extra_csv} (SHA-256 {record['sha256'][:12]})")


# The child counts every open() of a file under WATCHED (an audit hook) and prints the counts as its last line.
COUNTING_OPENS = """import atexit, json, os, runpy, sys
watched, opened = sys.argv[1], {}
def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)) and os.fsdecode(args[0]).startswith(watched):
        opened[os.fsdecode(args[0])] = opened.get(os.fsdecode(args[0]), 0) + 1
sys.addaudithook(audit)
atexit.register(lambda: print("OPENED " + json.dumps(opened)))
sys.argv = ["pipeline", *sys.argv[2:]]
runpy.run_module("pipeline", run_name="__main__")
"""


@pytest.mark.slow  # trains on real MNIST
def test_a_tiny_run_trains_on_the_extra_rows_and_reads_each_input_once(tmp_path, extra_csv, mnist):
    """The extra rows join the training images only, and metrics.json names the file; the CLI reads --data and each
    --extra-data file before TensorFlow starts and hands the loop what it read: each file is opened once."""
    from pipeline.data.idx import to_idx

    data = tmp_path / "data"
    data.mkdir()
    for name, values in (("train-images-idx3-ubyte", mnist.x_train), ("train-labels-idx1-ubyte", mnist.y_train),
                         ("t10k-images-idx3-ubyte", mnist.x_test), ("t10k-labels-idx1-ubyte", mnist.y_test)):
        (data / name).write_bytes(to_idx(values))
    watched = str(tmp_path)
    process = subprocess.Popen([sys.executable, "-c", COUNTING_OPENS, watched, "train", "--artifacts", str(tmp_path / "out"),
                                *TINY, "--data", str(data), "--extra-data", str(extra_csv)],
                               cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    opened = json.loads(out.strip().splitlines()[-1].removeprefix("OPENED "))
    inputs = {path: count for path, count in opened.items() if not path.startswith(str(tmp_path / "out"))}
    assert inputs == {**{str(data / name): 1 for name in os.listdir(data)}, str(extra_csv): 1}

    others, held_out = round(TINY_CONFIG.nondigits * 1600), round(TINY_CONFIG.nondigits * 400)  # not digits
    training = 1600 + round(TINY_CONFIG.redrawn * 1600) + EXTRA_ROWS + others  # redrawn: MNIST's, with a pen
    assert f"data: {training} training (+50 from {extra_csv}) and {400 + held_out} validation images" in out + err
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["train_images"] == training
    assert metrics["validation_images"] == 400 + held_out and metrics["test_images"] == 1000
    assert metrics["steps_per_epoch"] == -(-training // 32)
    sha256 = hashlib.sha256(extra_csv.read_bytes()).hexdigest()
    assert metrics["extra_data"] == [{"path": str(extra_csv), "rows": EXTRA_ROWS, "sha256": sha256}]
