"""Checkpoints and resume: a run stopped by Ctrl-C or SIGKILL continues with `--resume` from the
last completed epoch to a finished model; the previous model.keras survives the interruption;
refused resumes are one line; a checkpoint restores every variable exactly."""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.train import checkpoint
from pipeline.cli import main
from pipeline.config import AugmentConfig, TrainConfig
from pipeline.train.loop import _signals_as_interrupts, build_trainer
from tests.helpers import ctrl_c_reaches_child, finish, one_line_error, pipeline_train


RUN = ["--epochs", "3", "--train-limit", "2000", "--validation-size", "400", "--test-limit", "1000",
       "--batch-size", "32"]
OLD_MODEL = b"the previous good model"


def stop_after_first_epoch(artifacts, how: signal.Signals):
    """Start a training run, wait for its epoch-1 checkpoint, send `how`; return the finished process."""
    process = pipeline_train("--artifacts", str(artifacts), *RUN, preexec_fn=ctrl_c_reaches_child)
    latest = artifacts / "checkpoint" / "latest.json"
    deadline = time.monotonic() + 600
    while not latest.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint after 10 minutes"
        time.sleep(0.2)
    process.send_signal(how)
    _, err = process.communicate(timeout=120)
    if how == signal.SIGTERM:  # as a CI runner or Kaggle stops a job; Ctrl-C takes the same path (below)
        last = err.strip().splitlines()[-1]
        assert last.startswith("interrupted after epoch ") and last.endswith("`pipeline train --resume` continues")
        assert "Traceback" not in err, err[-2000:]
    return process


@pytest.mark.slow  # trains on real MNIST
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_training_resumes_to_a_finished_model(tmp_path, how):
    (tmp_path / "model.keras").write_bytes(OLD_MODEL)
    stopped = stop_after_first_epoch(tmp_path, how)
    assert stopped.returncode == (143 if how == signal.SIGTERM else -signal.SIGKILL)
    assert (tmp_path / "model.keras").read_bytes() == OLD_MODEL, "an interrupted run leaves the old model alone"
    done = json.loads((tmp_path / "checkpoint" / "latest.json").read_text())["epoch"]
    assert 1 <= done < 3

    out = finish(pipeline_train("--artifacts", str(tmp_path), "--resume"))  # settings come from the checkpoint
    assert f"resuming after epoch {done}" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["resumed_after_epoch"] == done
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3], "history spans both runs"
    assert metrics["config"]["epochs"] == 3 and metrics["config"]["train_limit"] == 2000
    assert metrics["test_accuracy"] > 0.85
    assert (tmp_path / "model.keras").read_bytes() != OLD_MODEL
    assert not (tmp_path / "checkpoint").exists()


@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_run_exits_as_its_signal_says_in_one_line(tmp_path, monkeypatch, name, code):
    """Ctrl-C (SIGINT) raises KeyboardInterrupt in the loop as SIGTERM does (test_sigterm_becomes_an_interrupt);
    the loop stops with TrainingInterrupted and the CLI exits 128 + the signal's number with one line."""
    import pipeline.train.loop as stage

    def interrupted(config, out, **kw):
        raise stage.TrainingInterrupted(1, name)
    monkeypatch.setattr(stage, "train", interrupted)
    result = CliRunner().invoke(main, ["train", "--artifacts", str(tmp_path)])
    assert result.exit_code == code
    assert result.output.strip().splitlines()[-1] == "interrupted after epoch 1; `pipeline train --resume` continues"


def test_sigterm_becomes_an_interrupt():
    with pytest.raises(KeyboardInterrupt):
        with _signals_as_interrupts() as caught:
            signal.raise_signal(signal.SIGTERM)
            time.sleep(1)
    assert caught["signal"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler is removed afterwards"


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    one_line_error(CliRunner().invoke(main, ["train", "--resume", "--artifacts", str(tmp_path)]),
                   "nothing to resume", "checkpoint")


def test_resume_with_other_settings_is_refused(tmp_path):
    folder = tmp_path / "checkpoint"
    checkpoint_config = TrainConfig(epochs=3)
    folder.mkdir()
    (folder / "latest.json").write_text(json.dumps(
        {"epoch": 1, "config": checkpoint_config.to_dict(), "replicas": 1, "history": [], "train_seconds": 9.5,
         "file": "state-epoch001.npz"}))
    result = CliRunner().invoke(main, ["train", "--resume", "--artifacts", str(tmp_path), "--epochs", "5"])
    one_line_error(result, "cannot resume", "epochs: 5 != 3")


@pytest.mark.slow  # trains on real MNIST
def test_checkpoint_restores_every_variable(tmp_path, mnist):
    """Weights, batch-norm statistics, the augmentation RNG and the optimizer (moments, step) come back exactly."""
    config = TrainConfig(epochs=2, augment=AugmentConfig(strength=1.0))
    x = (mnist.x_train[:256, ..., None] / 255.0).astype("float32")
    y = mnist.y_train[:256]
    trained, _ = build_trainer(config, 3e-3, steps_per_epoch=4, jit_compile=False)
    trained.fit(x, y, batch_size=64, epochs=1, verbose=0)
    checkpoint.save(tmp_path, trained, {"epoch": 1, "config": config.to_dict(), "replicas": 1, "history": [],
                                                "train_seconds": 1.0})
    fresh, _ = build_trainer(config, 3e-3, steps_per_epoch=4, jit_compile=False)
    checkpoint.restore(tmp_path, fresh, checkpoint.read_state(tmp_path))
    before = [np.asarray(v.value) for v in list(trained.variables) + list(trained.optimizer.variables)]
    after = [np.asarray(v.value) for v in list(fresh.variables) + list(fresh.optimizer.variables)]
    assert len(before) == len(after) and int(fresh.optimizer.iterations.numpy()) == 4
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    # and the restored trainer continues exactly as the original would
    np.testing.assert_allclose(fresh.predict(x[:32], verbose=0), trained.predict(x[:32], verbose=0), rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "state-epoch001.npz"]


def test_interrupt_before_any_checkpoint_says_there_is_nothing_to_resume():
    from pipeline.train.loop import TrainingInterrupted

    assert str(TrainingInterrupted(0, "SIGINT")).startswith("interrupted during the first epoch; nothing was saved")
    assert str(TrainingInterrupted(2, "SIGINT")) == "interrupted after epoch 2; `pipeline train --resume` continues"
