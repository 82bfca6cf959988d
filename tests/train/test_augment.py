"""The augmentation's warp: the same pixels as Keras' affine_transform, and XLA-compilable."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from pipeline.train.augment import DigitAugmentation, warp_bilinear  # noqa: E402


def test_warp_matches_keras_affine_transform(mnist):
    images = (mnist.x_train[:64, :, :, None] / 255.0).astype("float32")
    params = DigitAugmentation(strength=2.0, seed=1).affine_params(64)  # twice the default ranges: pixels fall off the edge
    expected = ops.image.affine_transform(images, params, interpolation="bilinear", fill_mode="constant", fill_value=0.0)
    got = warp_bilinear(images, params)
    assert np.abs(ops.convert_to_numpy(expected) - ops.convert_to_numpy(got)).max() < 1e-5
    assert not np.allclose(ops.convert_to_numpy(got), images)  # it did warp


def test_identity_transform_changes_nothing(mnist):
    images = (mnist.x_train[:8, :, :, None] / 255.0).astype("float32")
    identity = np.tile(np.array([[1, 0, 0, 0, 1, 0, 0, 0]], "float32"), (8, 1))
    assert np.abs(ops.convert_to_numpy(warp_bilinear(images, identity)) - images).max() < 1e-6


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="checks TensorFlow's XLA compiler")
def test_augmentation_compiles_with_xla(mnist):
    """The train step is XLA-compiled on GPUs; the warp must have XLA kernels (TF's
    ImageProjectiveTransformV3 has none), which XLA on the CPU checks the same way."""
    import tensorflow as tf

    layer = DigitAugmentation(seed=3)
    images = tf.constant((mnist.x_train[:16, :, :, None] / 255.0).astype("float32"))
    out = tf.function(lambda x: layer(x, training=True), jit_compile=True)(images)
    assert out.shape == (16, 28, 28, 1)
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
