"""Variants of train.html's model, trained in Keras as a stand-in for the browser: held-out accuracy per variant.

    python -m bench.lab_variants [--epochs 5] [VARIANT ...]

The page trains its small CNN (site_template/js/train/model.js) on the build's
MNIST subset: 1,200 training images per digit, tested on 200 per digit from
the MNIST test set. A browser run takes a minute; the same architecture in
Keras on the CPU takes seconds, so variants are compared here first and the
winner is then measured in the page (`make bench-browser-training`). Same
split sizes (drawn with `pipeline.build.subset`'s seed), Adam at the page's
0.005 with cosine decay per batch, batch 64, He-normal initial weights.

Variants: "page" (as the page has it), "translate" (Keras RandomTranslation of
±8 %), "shift1"/"shift2" (whole-pixel shifts of up to 1 or 2 pixels, redrawn
each epoch: what the page does, `shiftImages`), "third-conv" (a third 3×3
convolution of 32 filters), "wide" (24 and 48 filters). Prints, per variant:
parameters, multiply-adds per image, training and held-out accuracy.
"""

from __future__ import annotations

import math

import click
import numpy as np

from pipeline.build.subset import SubsetConfig
from pipeline.data.mnist import load_mnist

VARIANTS = {
    "page": {},
    "translate": {"translate": 0.08},
    "shift1": {"shift": 1},
    "shift2": {"shift": 2},
    "third-conv": {"third": 32},
    "wide": {"filters": (24, 48)},
}
LEARNING_RATE, BATCH = 0.005, 64  # the page's (js/train/model.js, train.html)


def build(variant: dict):
    import keras

    layers = keras.layers
    first, second = variant.get("filters", (16, 32))
    inputs = keras.Input((28, 28, 1))
    x = layers.RandomTranslation(variant["translate"], variant["translate"], fill_mode="constant")(inputs) \
        if "translate" in variant else inputs
    x = layers.Conv2D(first, 5, strides=2, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    x = layers.Conv2D(second, 3, strides=2, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    if "third" in variant:
        x = layers.Conv2D(variant["third"], 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def multiply_adds(model) -> int:
    """Multiply-adds of one image through the convolutions and dense layers."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            h, w, c = layer.output.shape[1:]
            total += h * w * c * layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


def shifted(images: np.ndarray, shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by whole pixels, up to `shift` each way, black coming in (as js shiftImages)."""
    out = np.zeros_like(images)
    for i, (dx, dy) in enumerate(rng.integers(-shift, shift + 1, (len(images), 2))):
        src = images[i, max(0, -dy) : 28 - max(0, dy), max(0, -dx) : 28 - max(0, dx)]
        out[i, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def split(seed: int = SubsetConfig().seed):
    """The page's split sizes: 1,200 training images per digit, 200 held-out test images per digit."""
    digits = load_mnist(log=lambda *_: None)
    rng = np.random.default_rng(seed)
    config = SubsetConfig()
    train = np.concatenate([rng.choice(np.flatnonzero(digits.y_train == d), config.train_per_class, replace=False)
                            for d in range(10)])
    test = np.concatenate([rng.choice(np.flatnonzero(digits.y_test == d), config.test_per_class, replace=False)
                           for d in range(10)])
    as_input = lambda x: (x[..., None] / 255.0).astype("float32")  # noqa: E731
    return as_input(digits.x_train[train]), digits.y_train[train], as_input(digits.x_test[test]), digits.y_test[test]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True)
@click.argument("names", nargs=-1, type=click.Choice(list(VARIANTS)))
def main(epochs: int, names: tuple[str, ...]):
    """Train each variant (all by default) and print its held-out accuracy."""
    import keras

    x_train, y_train, x_test, y_test = split()
    for name in names or VARIANTS:
        variant = VARIANTS[name]
        keras.utils.set_random_seed(1)
        rng = np.random.default_rng(1)
        model = build(variant)
        steps = epochs * math.ceil(len(y_train) / BATCH)
        model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        for _ in range(epochs):
            x = shifted(x_train, variant["shift"], rng) if "shift" in variant else x_train
            history = model.fit(x, y_train, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
        held_out = model.evaluate(x_test, y_test, verbose=0)[1]
        click.echo(f"{name:11s} {epochs} epochs  {model.count_params():6,d} parameters  "
                   f"{multiply_adds(model) / 1e3:5.0f}k multiply-adds  train {history.history['accuracy'][-1]:.2%}  "
                   f"held-out {held_out:.2%}")


if __name__ == "__main__":
    main()
