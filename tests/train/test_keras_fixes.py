"""pipeline.train.keras_fixes against the installed Keras: every internal a fix touches is still there
with the expected signature, the bug it works around is still present, and the fix has its effect.

A failure here after a Keras upgrade says which fix to revisit: either the internal moved (adapt
the fix) or Keras no longer has the bug (delete the fix and this test). Tiny models, no training.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from pipeline.config import ModelConfig, TrainConfig
from pipeline.train import keras_fixes
from pipeline.train.loop import build_trainer
from tests.helpers import ROOT

TINY = TrainConfig(epochs=1, model=ModelConfig(filters=(2, 2, 2), dense_units=4))


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def tiny_trainer():
    trainer, _ = build_trainer(TINY, 1e-3, steps_per_epoch=1, jit_compile=False)
    return trainer


def host_batch():
    return np.zeros((2, 28, 28, 1), "float32"), np.zeros(2, "uint8")


# ------------------------------------------------------------ build_from_host_batch, skip_distributed_build


def test_symbolic_build_is_still_there():
    from keras.src.trainers.trainer import Trainer

    assert parameters(Trainer._symbolic_build) == ["self", "iterator", "data_batch"]


def test_build_from_host_batch_creates_loss_metric_and_optimizer_state():
    trainer = tiny_trainer()
    assert not trainer.optimizer.built and not trainer._compile_metrics.built, "Keras builds this state later, in fit"
    keras_fixes.build_from_host_batch(trainer, host_batch())
    assert trainer.optimizer.built and trainer._compile_metrics.built and trainer._compile_loss.built


def test_tensorflow_fit_still_builds_from_a_reduced_distributed_batch():
    """The bug: TensorFlow's fit builds state by averaging the first distributed batch eagerly across
    workers (keras-team/keras#20585). When Keras stops doing that, skip_distributed_build can go."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    assert parameters(TensorFlowTrainer._maybe_symbolic_build) == ["self", "iterator", "data_batch"]
    source = inspect.getsource(TensorFlowTrainer._maybe_symbolic_build)
    assert "self.distribute_strategy.reduce(" in source and "_symbolic_build(data_batch=" in source
    assert "self._maybe_symbolic_build(" in inspect.getsource(TensorFlowTrainer.fit)


def test_skip_distributed_build_makes_fit_build_nothing(monkeypatch):
    trainer = tiny_trainer()
    keras_fixes.build_from_host_batch(trainer, host_batch())
    keras_fixes.skip_distributed_build(trainer)

    def must_not_run(*args, **kwargs):
        raise AssertionError("state was built again from the distributed batch")

    monkeypatch.setattr(trainer, "_symbolic_build", must_not_run)
    assert trainer._maybe_symbolic_build(iterator=None, data_batch=host_batch()) is None


# ------------------------------------------------------------ average_multiworker_logs


@pytest.fixture
def tf_trainer(monkeypatch):
    """keras' TensorFlow trainer module, its reduce_per_replica restored after the test, and
    multi-worker mode pretended (a one-device MirroredStrategy stands in for the workers)."""
    from keras.src.backend.tensorflow import trainer as module

    monkeypatch.setattr(module, "reduce_per_replica", module.reduce_per_replica)
    monkeypatch.setattr(module, "_collective_all_reduce_multi_worker", lambda strategy: True)
    return module


def scalar_logs():
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    logs = strategy.run(lambda: {"loss": tf.constant(0.25), "accuracy": tf.constant(0.75)})
    return strategy, logs


def test_reduce_per_replica_is_still_there_and_called_by_name():
    from keras.src.backend.tensorflow import trainer as module

    assert parameters(module.reduce_per_replica) == ["values", "strategy", "reduction"]
    assert parameters(module._collective_all_reduce_multi_worker) == ["strategy"]
    # the train step looks the function up in the module at call time, so replacing it there takes effect
    assert "make_function(self.train_step)" in inspect.getsource(module.TensorFlowTrainer.make_train_function)
    assert "= reduce_per_replica(" in inspect.getsource(module.TensorFlowTrainer._make_function)


def test_multiworker_logs_still_fail_without_the_fix(tf_trainer):
    """The bug (tensorflow/tensorflow#72388): under multi-worker, Keras averages scalar logs over axis 0."""
    if getattr(tf_trainer.reduce_per_replica, "fixed_for_multiworker", False):
        pytest.skip("this process already applied the fix")  # e.g. after a MultiWorkerMirrored plan
    strategy, logs = scalar_logs()
    with pytest.raises(ValueError, match="Invalid reduction dimension 0"):
        tf_trainer.reduce_per_replica(logs, strategy, "auto")


def test_average_multiworker_logs_reduces_scalars_over_all_axes(tf_trainer):
    keras_fixes.average_multiworker_logs()
    fixed = tf_trainer.reduce_per_replica
    assert fixed.fixed_for_multiworker
    keras_fixes.average_multiworker_logs()
    assert tf_trainer.reduce_per_replica is fixed, "applying it twice wraps nothing twice"
    strategy, logs = scalar_logs()
    reduced = fixed(logs, strategy, "auto")
    assert {k: float(v) for k, v in reduced.items()} == {"loss": 0.25, "accuracy": 0.75}
    assert float(fixed(logs, strategy, "first")["loss"]) == 0.25, "other reductions go to Keras' own"


# ------------------------------------------------------------ tensorflow_not_probed, seed_everything


def test_tensorflow_probe_is_still_a_lazy_module_with_a_cached_answer():
    from keras.src.utils import module_utils

    assert isinstance(module_utils.tensorflow, module_utils.LazyModule)
    probe = module_utils.LazyModule("tensorflow")
    assert probe._available is None, "None means: not asked yet"
    probe._available = False
    assert probe.available is False, "the cached answer is used without importing"


def test_saving_and_seeding_still_ask_whether_tensorflow_is_available():
    """The bug: both import TensorFlow (when installed) on any backend, through `tf.available`."""
    from keras.src.saving import serialization_lib
    from keras.src.utils import rng_utils

    assert "tf.available" in inspect.getsource(serialization_lib.serialize_keras_object)
    assert "tf.available" in inspect.getsource(rng_utils.set_random_seed)
    assert keras.utils.set_random_seed is rng_utils.set_random_seed


JAX_SCRIPT = """
import pathlib, sys, tempfile
import keras
from pipeline.train import keras_fixes

keras_fixes.seed_everything(7)
first = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
keras_fixes.seed_everything(7)
again = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
print("seeded alike:", bool((first == again).all()))
print("tensorflow after seeding:", "tensorflow" in sys.modules)
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
folder = pathlib.Path(tempfile.mkdtemp())
with keras_fixes.tensorflow_not_probed():
    model.save(folder / "fixed.keras")
print("tensorflow after saving with the fix:", "tensorflow" in sys.modules)
model.save(folder / "plain.keras")
print("tensorflow after saving without it:", "tensorflow" in sys.modules)
"""


@pytest.mark.slow  # starts a second Python on the JAX backend
def test_on_jax_seeding_and_saving_leave_tensorflow_unimported():
    result = subprocess.run([sys.executable, "-c", JAX_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seeded alike: True" in result.stdout
    assert "tensorflow after seeding: False" in result.stdout
    assert "tensorflow after saving with the fix: False" in result.stdout
    assert "tensorflow after saving without it: True" in result.stdout, "Keras no longer imports it: drop the fix"
