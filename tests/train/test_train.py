"""Training on a small real subset (files written, metrics recorded, callbacks), profiles and --config."""

import dataclasses
import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.artifacts import file_sha256
from pipeline.cli import main
from pipeline.config import AugmentConfig, ModelConfig, TrainConfig
from pipeline.train.profiles import PROFILES
from pipeline.train.loop import train
from tests.helpers import one_line_error, quiet

pytestmark = pytest.mark.xdist_group("short-run")  # one worker trains the module's short run


class Watch(keras.callbacks.Callback):
    """An extra callback, as a benchmark passes to watch each epoch (e.g. test accuracy per epoch)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, self.model.name))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("short")
    config = TrainConfig(epochs=2, train_limit=6000, validation_size=1000, test_limit=2000, batch_size=64)
    watch = Watch()
    metrics = train(config, out, log=quiet, callbacks=[watch])
    return out, config, metrics, watch.seen


@pytest.mark.slow  # trains on real MNIST
def test_short_training_learns_and_writes_its_artefacts(short_run):
    out, config, metrics, _ = short_run
    assert (out / "model.keras").is_file()
    written = json.loads((out / "metrics.json").read_text())
    assert written["model_sha256"] == file_sha256(out / "model.keras"), "metrics.json names the model it describes"
    assert written == json.loads(json.dumps(metrics))
    assert metrics["test_accuracy"] > 0.85, "2 epochs on 5,000 real digits should already work"
    assert metrics["test_images"] == 2000
    # a quick run measures fewer non-digits too: 5 % of the test images, of each source
    assert metrics["nondigits_held_out"]["images"] == 100 * len(metrics["nondigits_held_out"]["sources"])
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(metrics["history"][0])
    assert metrics["config"] == config.to_dict() and metrics["seed"] == config.seed
    assert metrics["versions"]["tensorflow"] and metrics["strategy"]["replicas"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary files left"


@pytest.mark.slow  # trains on real MNIST
def test_the_written_model_is_calibrated_on_the_validation_images(short_run, mnist):
    """The fitted temperature, then the page's prior of "not a digit", are folded into the last layer:
    model.keras's probabilities are those of the model as trained, scaled by 1/T (calibration.scaled) and
    moved to that prior (calibration.with_prior_shift), with the same answers among the digits."""
    from pipeline import calibration
    from pipeline.contract import NOT_A_DIGIT
    from pipeline.data.mnist import to_model_input
    from pipeline.train.model import OUTPUT_LAYER

    out, config, metrics, _ = short_run
    fitted, prior = metrics["calibration"], metrics["nondigit_prior"]
    validation = 1000 + round(config.nondigits * 1000)  # the digits held out, and generated non-digits
    assert fitted["fitted_on"] == f"{validation} validation images" and 0.05 < fitted["temperature"] < 20
    assert fitted["validation_nll_after"] <= fitted["validation_nll_before"]
    assert fitted["validation_ece_after"] < 0.03
    training = 5000 + round(config.redrawn * 5000) + round(config.nondigits * 5000)
    assert prior["trained"] == pytest.approx(round(config.nondigits * 5000) / training)
    assert prior["expected"] == config.nondigit_prior
    assert prior["logit_shift"] == pytest.approx(calibration.prior_shift(prior["trained"], prior["expected"]))
    model = keras.saving.load_model(out / "model.keras")
    images = to_model_input(mnist.x_test[-500:])
    calibrated = model.predict(images, verbose=0)
    layer = model.get_layer(OUTPUT_LAYER)
    kernel, bias = layer.get_weights()
    bias[NOT_A_DIGIT] -= prior["logit_shift"]
    layer.set_weights([kernel * fitted["temperature"], bias * fitted["temperature"]])  # undo both folds
    as_trained = model.predict(images, verbose=0)
    assert np.array_equal(calibrated[:, :NOT_A_DIGIT].argmax(1), as_trained[:, :NOT_A_DIGIT].argmax(1))
    expected = calibration.with_prior_shift(calibration.scaled(as_trained, fitted["temperature"]), prior["logit_shift"])
    assert np.allclose(calibrated, expected, atol=1e-5)


def test_without_nondigits_the_prior_is_left_alone():
    """--nondigits 0: no share to move from, so nothing is folded and metrics.json says so."""
    from pipeline.train.loop import expect_nondigits
    from pipeline.train.model import OUTPUT_LAYER, build_model

    model = build_model(ModelConfig(filters=(4, 4, 4), dense_units=8))
    before = [w.copy() for w in model.get_layer(OUTPUT_LAYER).get_weights()]
    lines = []
    assert expect_nondigits(model, 0.0, 0.05, lines.append) is None
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_layer(OUTPUT_LAYER).get_weights()))
    assert lines == ["prior: none (no non-digits trained on; --nondigits 0)"]


@pytest.mark.slow  # trains on real MNIST
def test_config_round_trips_through_metrics(short_run):
    _, config, metrics, _ = short_run
    assert TrainConfig.from_dict(metrics["config"]) == config


@pytest.mark.slow  # trains on real MNIST
def test_extra_callbacks_see_every_epoch(short_run):
    """train(callbacks=...) lets a benchmark watch each epoch of the model being trained."""
    *_, seen = short_run
    assert seen == [(0, "trainer"), (1, "trainer")]


# ------------------------------------------------------------ profiles and --config (no training: stage stubbed)


@pytest.fixture
def captured(monkeypatch):
    """Replace pipeline.train.loop.train with a recorder of the config the CLI hands it."""
    import pipeline.train.loop as stage

    calls = []
    monkeypatch.setattr(stage, "train", lambda config, out, **kw: calls.append((config, kw)) or {})
    return calls


def cli(*args):
    return CliRunner().invoke(main, ["train", *args])


def test_profiles_are_valid_and_distinct(captured):
    for name, expected in PROFILES.items():
        assert cli("--profile", name).exit_code == 0
        assert captured[-1][0] == expected
    assert PROFILES["default"] == TrainConfig()
    assert PROFILES["default"].model.filters == (16, 16, 64) and PROFILES["default"].epochs == 8
    assert PROFILES["fast"].batch_size > PROFILES["default"].batch_size > 0
    assert PROFILES["accurate"].epochs > PROFILES["default"].epochs


def test_flags_override_the_profile(captured):
    assert cli("--profile", "fast", "--epochs", "3", "--augment-strength", "0.5", "--xla", "off").exit_code == 0
    config = captured[-1][0]
    assert config.epochs == 3 and config.augment.strength == 0.5 and config.jit_compile == "off"
    assert config.batch_size == PROFILES["fast"].batch_size, "what was not given comes from the profile"


def test_config_file_round_trips_and_flags_override_it(captured, tmp_path):
    wanted = TrainConfig(epochs=7, batch_size=96, learning_rate=1e-3, seed=9,
                         model=ModelConfig(filters=(8, 16, 32), dense_units=64), augment=AugmentConfig(strength=0.3))
    best = tmp_path / "best.json"
    best.write_text(json.dumps(wanted.to_dict()))
    assert TrainConfig.from_dict(json.loads(best.read_text())) == wanted
    assert cli("--config", str(best)).exit_code == 0
    assert captured[-1][0] == wanted
    assert cli("--config", str(best), "--seed", "1").exit_code == 0
    assert captured[-1][0] == dataclasses.replace(wanted, seed=1)
    metrics = tmp_path / "metrics.json"  # what a trained model carries: its config under "config"
    metrics.write_text(json.dumps({"test_accuracy": 0.99, "config": wanted.to_dict()}))
    assert cli("--config", str(metrics)).exit_code == 0
    assert captured[-1][0] == wanted


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid JSON"),
    ('{"epochs": 3, "colour": "red"}', "unknown training setting(s): colour"),
    ('{"model": {"layers": 9}}', "model.layers"),
    ("[1, 2]", "JSON object"),
])
def test_bad_config_files_are_one_line(tmp_path, content, fragment):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    one_line_error(cli("--config", str(bad)), "bad.json", fragment)


def test_multi_worker_flags_are_checked():
    one_line_error(cli("--workers", "a:1,b:2"), "--workers and --worker-index")
    one_line_error(cli("--workers", "a:1,b:2", "--worker-index", "2"), "--workers", "index 2")
    one_line_error(cli("--workers", "a:x", "--worker-index", "0"), "--workers", "'a:x'")
