"""The network and its augmentation: shapes, probabilities, what augmentation may and may not do."""

import numpy as np

from pipeline.train.augment import DigitAugmentation
from pipeline.contract import INPUT_SHAPE, NUM_CLASSES
from pipeline.config import ModelConfig
from pipeline.train.model import build_model


def test_model_maps_images_to_ten_probabilities():
    model = build_model()
    assert model.input_shape == (None, *INPUT_SHAPE)
    assert model.output_shape == (None, NUM_CLASSES)
    probs = np.asarray(model(np.random.rand(4, *INPUT_SHAPE).astype("float32"), training=False))
    assert probs.shape == (4, NUM_CLASSES)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_model_size_follows_the_config():
    small = build_model(ModelConfig(filters=(8, 8, 16), dense_units=32)).count_params()
    default = build_model().count_params()
    assert small < default < 400_000  # the default stays small enough for CPU training and a fast page


def test_augmentation_is_identity_at_inference_and_random_in_training(mnist):
    x = (mnist.x_test[:64, ..., None] / 255.0).astype("float32")
    aug = DigitAugmentation(seed=3)
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    y = np.asarray(aug(x, training=True))
    assert y.shape == x.shape and 0.0 <= y.min() and y.max() <= 1.0
    assert np.abs(y - x).mean() > 0.01  # it really changes the images
    # ...but keeps them digits: most of the ink stays in the frame, the centre of mass moves a few pixels at most
    ink_x, ink_y = x.sum((1, 2, 3)), y.sum((1, 2, 3))
    assert np.median(ink_y / ink_x) > 0.6
    rows = np.arange(28)[None, :, None, None]
    shift = np.abs((y * rows).sum((1, 2, 3)) / ink_y - (x * rows).sum((1, 2, 3)) / ink_x)
    assert np.percentile(shift, 95) < 5


def test_augmentation_strength_zero_is_off(mnist):
    x = (mnist.x_test[:8, ..., None] / 255.0).astype("float32")
    np.testing.assert_array_equal(np.asarray(DigitAugmentation(strength=0.0)(x, training=True)), x)


def test_default_network_is_the_cheap_16_16_64_64_one():
    model = build_model()
    convs = [layer.filters for layer in model.layers if hasattr(layer, "filters")]
    assert convs == [16, 16, 64, 64]
    assert model.get_layer("dense").input.shape[-1] == 3 * 3 * 64, "the last conv makes the dense layer's input small"
    assert model.count_params() < 150_000, "uint8 weights within the model's 150 KB budget"
    assert model.get_layer("probabilities").dtype_policy.compute_dtype == "float32"


def test_mixed_precision_computes_in_half_but_outputs_float32():
    import keras

    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model()
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("c1_conv").dtype_policy.compute_dtype == "bfloat16"
    assert model.get_layer("c1_conv").dtype_policy.variable_dtype == "float32"
    probs = np.asarray(model(np.random.rand(2, *INPUT_SHAPE).astype("float32"), training=False))
    assert probs.dtype == np.float32
