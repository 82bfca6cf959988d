"""The CNN, sized for a 2-core CPU budget.

conv 3×3 ×2 (valid) → max-pool → conv 3×3 (valid) → max-pool → conv 3×3 (valid)
→ dense → softmax, each conv and the dense layer followed by batch norm and ReLU,
dropout before the dense layer and before the head. The default filters
(ModelConfig) keep the early, large feature maps narrow, where most of the
compute is. The last conv turns the 5×5 maps into 3×3 ones before the dense
layer, whose weights are most of the model's download: 3·3·64 inputs rather
than 5·5·64. The head has eleven outputs: the ten digits, then "not a digit"
(pipeline/contract.py), which training learns from generated drawings.
Training time and the page's prediction time: BENCHMARKS.md. Only `keras`
layers: any backend.
The input is the page's contract: float32 (N, 28, 28, 1), 0–1, white ink on black.
"""

from __future__ import annotations

import keras

from pipeline.config import ModelConfig
from pipeline.contract import INPUT_SHAPE, NUM_CLASSES

# Batch-norm running averages forget at 10 % a step (Keras' default 0.99 lags so
# far behind in short runs — tests, the browser — that inference is off for hundreds of steps).
BN_MOMENTUM = 0.9
OUTPUT_LAYER = "probabilities"  # the last Dense + softmax; training folds calibration (temperature, prior) into it


def conv_bn_relu(x, filters: int, name: str, padding: str = "valid"):
    """3×3 convolution (without padding the side shrinks by 2; "same" keeps it), batch norm, ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_model(config: ModelConfig = ModelConfig()) -> keras.Model:
    """Build the (uncompiled) classifier: (N, 28, 28, 1) float32 -> (N, 11) probabilities."""
    f1, f2, f3 = config.filters
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = conv_bn_relu(inputs, f1, "c1")  # 26×26
    x = conv_bn_relu(x, f2, "c2")  # 24×24
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)  # 12×12
    x = conv_bn_relu(x, f3, "c3")  # 10×10
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)  # 5×5
    x = conv_bn_relu(x, f3, "c4")  # 3×3
    for block in range(config.extra_blocks):  # 3×3 still
        x = conv_bn_relu(x, f3, f"c{5 + block}", padding="same")
    x = keras.layers.Dropout(config.dropout, name="c4_drop")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(config.dense_units, use_bias=False, name="dense")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="dense_bn")(x)
    x = keras.layers.ReLU(name="dense_relu")(x)
    x = keras.layers.Dropout(config.dense_dropout, name="dense_drop")(x)
    # float32 even under a mixed-precision policy: softmax and the loss need the range
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name=OUTPUT_LAYER)(x)
    return keras.Model(inputs, outputs, name="digit_cnn")
