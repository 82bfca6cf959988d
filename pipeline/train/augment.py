"""Augmentation for hand-drawn digits, as a Keras layer that runs on the accelerator.

People draw digits shifted, scaled, slanted and with pens of every width, so each
training image gets a random affine warp (shift, scale, rotation, shear) and a
random stroke-thickness change (blend towards a 3×3 dilation or erosion). Only
`keras.ops` are used, so the layer runs on TensorFlow and JAX alike, inside the
compiled train step — no CPU-side image pipeline to starve the GPU. It wraps the
classifier during training only; the exported model never contains it.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import ops

from pipeline.config import AugmentConfig
from pipeline.contract import IMAGE_SIZE


def warp_bilinear(images, transforms):
    """Warp each image by its affine transform, bilinear, zeros outside.

    images: float32 (N, H, W, 1). transforms: (N, 8) as keras.ops.image.affine_transform
    takes them, mapping output pixel (x, y) to input (a0·x + a1·y + a2, b0·x + b1·y + b2)
    (the projective terms must be 0). Same result as affine_transform(..., "bilinear",
    fill_mode="constant", fill_value=0), but made of gathers and arithmetic only:
    TensorFlow has no XLA kernel for the ImageProjectiveTransformV3 that affine_transform
    uses, so with it the train step could not be XLA-compiled on a GPU.
    """
    n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    ys, xs = ops.meshgrid(ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij")
    xs, ys = ops.reshape(xs, (1, -1)), ops.reshape(ys, (1, -1))  # (1, H·W), row-major
    t = ops.cast(transforms, "float32")
    x_in = t[:, 0:1] * xs + t[:, 1:2] * ys + t[:, 2:3]  # (N, H·W)
    y_in = t[:, 3:4] * xs + t[:, 4:5] * ys + t[:, 5:6]
    x0, y0 = ops.floor(x_in), ops.floor(y_in)
    wx, wy = x_in - x0, y_in - y0
    flat = ops.reshape(images, (n, height * width))

    def corner(yy, xx):
        inside = (xx >= 0) & (xx <= width - 1) & (yy >= 0) & (yy <= height - 1)
        index = ops.cast(ops.clip(yy, 0, height - 1) * width + ops.clip(xx, 0, width - 1), "int32")
        return ops.where(inside, ops.take_along_axis(flat, index, axis=1), 0.0)

    out = ((1 - wx) * (1 - wy) * corner(y0, x0) + wx * (1 - wy) * corner(y0, x0 + 1)
           + (1 - wx) * wy * corner(y0 + 1, x0) + wx * wy * corner(y0 + 1, x0 + 1))
    return ops.reshape(out, (n, height, width, 1))


@keras.saving.register_keras_serializable(package="pipeline")
class DigitAugmentation(keras.layers.Layer):
    """Random affine warp + stroke thickness. Input/output: float32 (N, 28, 28, 1), 0–1."""

    def __init__(self, strength=AugmentConfig.strength, max_shift=AugmentConfig.max_shift,
                 max_rotation=AugmentConfig.max_rotation, max_scale=AugmentConfig.max_scale,
                 max_shear=AugmentConfig.max_shear, max_thickness=AugmentConfig.max_thickness, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.config = AugmentConfig(strength, max_shift, max_rotation, max_scale, max_shear, max_thickness)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, n, limit):
        limit = limit * self.config.strength
        return keras.random.uniform((n,), -limit, limit, seed=self.seed_generator)

    def affine_params(self, n):
        """(N, 8) projective transforms mapping output pixels to input pixels."""
        c = self.config
        angle = self._uniform(n, math.radians(c.max_rotation))
        scale = 1.0 + self._uniform(n, c.max_scale)
        shear = self._uniform(n, c.max_shear)
        tx, ty = self._uniform(n, c.max_shift), self._uniform(n, c.max_shift)
        # Forward map about the centre: out = S·Sh·R·(in − centre) + centre + t.
        # affine_transform wants the inverse; build it from the inverse of each factor.
        cos, sin = ops.cos(angle), ops.sin(angle)
        inv_r = ((cos, sin), (-sin, cos))  # R^-1
        # (S·Sh)^-1 = Sh^-1 · S^-1 with Sh = [[1, shear], [0, 1]]
        a0, a1 = inv_r[0][0] / scale, (inv_r[0][1] - inv_r[0][0] * shear) / scale
        b0, b1 = inv_r[1][0] / scale, (inv_r[1][1] - inv_r[1][0] * shear) / scale
        centre = (IMAGE_SIZE - 1) / 2.0
        ox, oy = centre + tx, centre + ty  # where the centre lands in the output
        a2 = centre - a0 * ox - a1 * oy
        b2 = centre - b0 * ox - b1 * oy
        zeros = ops.zeros_like(a0)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, images, training=None):
        if not training or self.config.strength == 0:
            return images
        n = ops.shape(images)[0]
        warped = warp_bilinear(images, self.affine_params(n))
        thicker = ops.max_pool(warped, pool_size=3, strides=1, padding="same")
        thinner = -ops.max_pool(-warped, pool_size=3, strides=1, padding="same")
        t = ops.reshape(self._uniform(n, self.config.max_thickness), (-1, 1, 1, 1))
        out = ops.where(t > 0, warped + t * (thicker - warped), warped - t * (thinner - warped))
        return ops.clip(out, 0.0, 1.0)

    def get_config(self):
        return {**super().get_config(), **dataclasses.asdict(self.config), "seed": self.seed}
