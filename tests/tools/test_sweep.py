"""`pipeline sweep`: the search space, resuming after SIGKILL/SIGINT, the table and best.json.

The orchestration test uses a fake trainer (tests/tools/fake_train.py) so that the bookkeeping
is checked exactly and fast; the end-to-end test trains two real trials on a small real subset.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.tools import sweep
from pipeline.cli import main
from pipeline.config import ModelConfig, TrainConfig
from tests.helpers import ctrl_c_reaches_child, ROOT


FAKE_TRAIN = [sys.executable, str(ROOT / "tests" / "tools" / "fake_train.py")]  # pipeline train's contract, no training


# ------------------------------------------------------------------- space


def test_grid_is_every_combination_and_applies_to_the_config():
    space = sweep.parse_space(["learning_rate=1e-3,3e-3", "filters=16-16-32,32-32-64", "dropout=0.1",
                               "augment-strength=0,1  # comment"])
    points = sweep.grid_points(space)
    assert len(points) == 8
    config = sweep.apply(TrainConfig(), points[-1])
    assert config.learning_rate == 3e-3 and config.model.filters == (32, 32, 64)
    assert config.model.dropout == 0.1 and config.augment.strength == 1
    assert config.epochs == TrainConfig().epochs  # untouched fields keep the base's values
    assert sweep.trial_id(config) == sweep.trial_id(sweep.apply(TrainConfig(), points[-1]))
    assert len({sweep.trial_id(sweep.apply(TrainConfig(), p)) for p in points}) == 8


def test_random_search_draws_within_ranges_and_is_seeded():
    space = sweep.parse_space(["learning_rate=1e-4..1e-2", "batch_size=32..256", "dropout=0..0.5", "epochs=1,2"])
    points = sweep.random_points(space, 50, seed=3)
    assert points == sweep.random_points(space, 50, seed=3)
    assert all(1e-4 <= p["learning_rate"] <= 1e-2 and 32 <= p["batch_size"] <= 256 for p in points)
    assert all(isinstance(p["batch_size"], int) and 0 <= p["dropout"] <= 0.5 and p["epochs"] in (1, 2) for p in points)
    small = sum(p["learning_rate"] < 1e-3 for p in points)
    assert 15 <= small <= 35  # log-uniform: about half below the geometric middle


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--grid", "momentum=0.9"], "unknown parameter 'momentum'"),
        (["--grid", "learning_rate=fast"], "learning_rate=fast: expected a number"),
        (["--grid", "batch_size=12.5"], "batch_size=12.5: expected a whole number"),
        (["--grid", "dropout=1.5"], "dropout=1.5: out of range"),
        (["--grid", "filters=32-64"], "expected three whole numbers"),
        (["--grid", "learning_rate=1e-4..1e-2"], "needs random search"),
        (["--grid", "learning_rate"], "expected NAME=VALUES"),
        ([], "no search space"),
        (["--grid", "epochs=1", "--validation-size", "0"], "--validation-size"),
    ],
)
def test_bad_spaces_fail_in_one_line(tmp_path, args, fragment):
    result = CliRunner().invoke(main, ["sweep", "--out", str(tmp_path / "s"), *args])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), "no traceback"
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and fragment in errors[0], result.output



def test_a_value_past_its_fields_range_is_refused_by_the_sweep_not_by_a_trial(tmp_path):
    """A parameter's range is its TrainConfig field's, up to the largest whole number TensorFlow holds: a batch of
    3e9 is refused when the space is read, in one line, rather than failing inside the sweep."""
    result = CliRunner().invoke(main, ["sweep", "--out", str(tmp_path / "s"), "--grid", "batch_size=3000000000"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error")] == [
        "Error: batch_size=3000000000: out of range (>= 1 and <= 2147483647)"]
    assert not (tmp_path / "s").exists()

def test_space_file_and_flags_combine(tmp_path):
    space_file = tmp_path / "space.txt"
    space_file.write_text("# a small grid\nlearning_rate=1e-3,3e-3\n\nepochs=1,2\n")
    space = sweep.read_space_file(space_file)
    space.update(sweep.parse_space(["epochs=3"]))
    assert [p["epochs"] for p in sweep.grid_points(space)] == [3, 3]


# ---------------------------------------------------------- orchestration


def run_sweep(out: Path, trainer: list[str], *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline", "sweep", "--out", str(out), *extra,
               "--train-command", " ".join(trainer)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=ctrl_c_reaches_child)


def wait_for_rows(out: Path, rows: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(sweep.read_results(out)) < rows:
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, f"no {rows} finished trials after {timeout} s"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"  # a zombie has exited


def test_killed_sweep_resumes_without_rerunning_finished_trials(tmp_path):
    out = tmp_path / "sweep"
    trainer = FAKE_TRAIN
    grid = ["--grid", "learning_rate=1e-3,3e-3,5e-3", "--grid", "filters=16-16-32"]
    process = run_sweep(out, trainer, *grid)
    wait_for_rows(out, 1, process, timeout=60)
    running = None
    while running is None:  # the second trial, started and not finished
        running = next((p for p in (out / "trials").iterdir() if (p / "pid").exists() and not (p / "metrics.json").exists()), None)
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.5)
    assert not alive(int((running / "pid").read_text())), "the trial outlived its killed sweep"
    assert len(sweep.read_results(out)) == 1

    again = run_sweep(out, trainer, *grid)
    output, _ = again.communicate(timeout=60)
    assert again.returncode == 0, output
    assert "3 trials, 1 already finished" in output
    rows = sweep.read_results(out)
    assert len(rows) == 3 and len({r["trial"] for r in rows}) == 3 and all(r["status"] == "ok" for r in rows)
    runs = {r["trial"]: (out / "trials" / r["trial"] / "runs.txt").read_text().count("started") for r in rows}
    assert runs[rows[0]["trial"]] == 1  # finished before the kill: not run again
    assert runs[running.name] == 2  # killed mid-way: run again from the start
    best = json.loads((out / sweep.BEST_FILE).read_text())
    assert best["learning_rate"] == 3e-3  # the fake's best
    assert TrainConfig.from_dict(best).model.filters == (16, 16, 32)
    table = (out / sweep.RESULTS_MD).read_text().splitlines()
    accuracies = [float(line.split("|")[-4]) for line in table[2:]]
    assert accuracies == sorted(accuracies, reverse=True) and len(accuracies) == 3
    again = run_sweep(out, trainer, *grid)  # nothing left to do
    assert "3 trials, 3 already finished" in again.communicate(timeout=60)[0]


def test_base_may_be_a_metrics_json(tmp_path):
    """--base offers a metrics.json's config: its "config" object is the base, as for `train --config`."""
    wanted = TrainConfig(epochs=3, batch_size=96, model=ModelConfig(filters=(8, 16, 32)))
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"test_accuracy": 0.99, "config": wanted.to_dict()}))
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, ["sweep", "--out", str(out), "--grid", "learning_rate=1e-3", "--base", str(metrics),
                                       "--train-command", " ".join(FAKE_TRAIN)])
    assert result.exit_code == 0, result.output
    (trial,) = (out / "trials").iterdir()
    trained = TrainConfig.from_dict(json.loads((trial / sweep.CONFIG_FILE).read_text()))
    assert trained == dataclasses.replace(wanted, learning_rate=1e-3)


def test_failed_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, ["sweep", "--out", str(out), "--grid", "epochs=1,2",
                                       "--train-command", f"{sys.executable} -c 'raise SystemExit(3)'"])
    assert result.exit_code == 0, result.output
    rows = sweep.read_results(out)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert "Failed trials" in (out / sweep.RESULTS_MD).read_text() and not (out / sweep.BEST_FILE).exists()


# ------------------------------------------------------------- end to end


REAL_TRAIN = [sys.executable, "-m", "pipeline", "train"]  # what the sweep runs by default


@pytest.mark.slow
def test_tiny_real_sweep_interrupted_and_resumed(tmp_path, mnist):
    out = tmp_path / "sweep"
    args = ["--grid", "learning_rate=1e-3,3e-3", "--grid", "epochs=1", "--grid", "batch_size=64",
            "--train-limit", "600", "--validation-size", "200", "--test-limit", "100"]
    process = run_sweep(out, REAL_TRAIN, *args)
    wait_for_rows(out, 1, process, timeout=600)  # a busy 2-core machine can take minutes; the test waits for the row
    process.send_signal(signal.SIGINT)  # Ctrl-C during the second trial
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Run the same command again to resume" in output
    assert len(sweep.read_results(out)) == 1

    again = run_sweep(out, REAL_TRAIN, *args)
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert "2 trials, 1 already finished" in output
    rows = sweep.read_results(out)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    with open(out / sweep.RESULTS_CSV, newline="") as f:
        assert csv.DictReader(f).fieldnames == sweep.CSV_FIELDS
    best_row = max(rows, key=lambda r: float(r["val_accuracy"]))
    best = json.loads((out / sweep.BEST_FILE).read_text())
    trained_with = json.loads((out / "trials" / best_row["trial"] / "metrics.json").read_text())
    assert best == trained_with["config"]  # `pipeline train --config best.json` trains exactly that trial
    assert float(best_row["val_accuracy"]) == pytest.approx(trained_with["validation_accuracy"])
    assert TrainConfig.from_dict(best).train_limit == 600
    table = (out / sweep.RESULTS_MD).read_text()
    assert table.splitlines()[2].split("|")[2].strip() == best_row["trial"]  # best first
    assert "test" not in table.lower()  # chosen, and shown, by validation only


def test_a_row_cut_short_by_a_crash_is_ignored(tmp_path):
    sweep.append_result(tmp_path, {"trial": "aaa", "status": "ok", "val_accuracy": 0.5, "val_loss": 1, "train_seconds": 2})
    with open(tmp_path / sweep.RESULTS_CSV, "a") as f:
        f.write("bbb,ok,0.001")  # the process died mid-line
    assert [r["trial"] for r in sweep.read_results(tmp_path)] == ["aaa"]
    sweep.append_result(tmp_path, {"trial": "ccc", "status": "ok", "val_accuracy": 0.7, "val_loss": 1, "train_seconds": 2})
    assert [(r["trial"], r["val_accuracy"]) for r in sweep.read_results(tmp_path)] == [("aaa", "0.5"), ("ccc", "0.7")]
