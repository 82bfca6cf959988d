"""Every workaround that reaches into Keras internals (`keras.src`, private attributes), in one place.

Each is a small named function that says which Keras it was written for, why it
is needed and the upstream issue where one is known. tests/train/test_keras_fixes.py
fails when an internal one of them touches is gone or changed, and when Keras no
longer has the bug, so that a Keras upgrade shows which fixes to revisit or delete.

Written for Keras 3.15.1 (TensorFlow 2.19, JAX 0.10).
"""

from __future__ import annotations

import contextlib
import sys

import keras

# ------------------------------------------------------------------ MultiWorkerMirroredStrategy


def build_from_host_batch(trainer: keras.Model, data_batch: tuple) -> None:
    """Create the loss, metric and optimizer state of a compiled `trainer` now, from a host batch.

    data_batch: (images float32 (n, 28, 28, 1), labels (n,)); a couple of rows is enough,
    only shapes and dtypes matter. Call inside the strategy scope. Keras 3.15.1 would
    otherwise build this state in `fit` from the first *distributed* batch; see
    `skip_distributed_build` for why that fails with several workers.
    Internal used: `Trainer._symbolic_build(data_batch=...)`.
    """
    trainer._symbolic_build(data_batch=data_batch)


def skip_distributed_build(trainer: keras.Model) -> None:
    """Stop `fit` from building state from the first distributed batch (call `build_from_host_batch` first).

    Keras 3.15.1, TensorFlow backend: `fit` calls `_maybe_symbolic_build`, which averages
    the first distributed batch with an eager `strategy.reduce("MEAN", ...)`. Under
    MultiWorkerMirroredStrategy that cross-worker reduce fails ("Attempt to convert a value
    (PerReplica...)"; keras-team/keras#20585). The state is already built, so the step is skipped.
    Internal used: `TensorFlowTrainer._maybe_symbolic_build(iterator=None, data_batch=None)`.
    """
    trainer._maybe_symbolic_build = lambda *args, **kwargs: None


def average_multiworker_logs() -> None:
    """Average each step's logged loss and metrics across workers over all axes (idempotent).

    Keras 3.15.1, TensorFlow backend: under MultiWorkerMirroredStrategy `reduce_per_replica`
    averages the logs with `strategy.reduce("MEAN", v, axis=0)`, which fails on the scalar logs
    ("Invalid reduction dimension 0 for input with 0 dimensions"; tensorflow/tensorflow#72388,
    keras-team/keras#20585). This replaces the module function with one that uses axis=None
    for "auto"/"mean" under multi-worker and defers to the original otherwise.
    Internals used: `keras.src.backend.tensorflow.trainer.reduce_per_replica(values, strategy,
    reduction)` (looked up by name at call time by the train step) and
    `_collective_all_reduce_multi_worker(strategy)`.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "fixed_for_multiworker", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.fixed_for_multiworker = True
    tf_trainer.reduce_per_replica = reduce_per_replica


# ------------------------------------------------------------------ other backends without TensorFlow


@contextlib.contextmanager
def tensorflow_not_probed():
    """Within this block Keras treats TensorFlow as absent, unless the backend or the process already uses it.

    Keras 3.15.1 asks `module_utils.tensorflow.available` when it serialises a model
    (`serialize_keras_object`) and when it seeds (`set_random_seed`); when TensorFlow is
    installed that imports all of it (seconds, gigabytes) even on the JAX backend, where
    neither a saved model nor a seed needs it. No upstream issue known.
    Internal used: the LazyModule `keras.src.utils.module_utils.tensorflow` and its cached
    `_available` (None until probed), which this sets to False and back to None.
    """
    from keras.src.utils import module_utils

    probe = module_utils.tensorflow
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules or probe._available is not None:
        yield
        return
    probe._available = False
    try:
        yield
    finally:
        probe._available = None


def seed_everything(seed: int) -> None:
    """keras.utils.set_random_seed (Python, NumPy, Keras' global SeedGenerator, TensorFlow when in use)
    without its `import tensorflow` on other backends.

    Keras 3.15.1's `set_random_seed` also seeds TensorFlow whenever it is installed, which
    imports it (see `tensorflow_not_probed`). On the JAX backend, in a process that has not
    imported TensorFlow, it is seeded as if TensorFlow were absent. No upstream issue known.
    """
    with tensorflow_not_probed():
        keras.utils.set_random_seed(seed)
