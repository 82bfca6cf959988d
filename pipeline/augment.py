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


@keras.saving.register_keras_serializable(package="pipeline")
class DigitAugmentation(keras.layers.Layer):
    """Random affine warp + stroke thickness. Input/output: float32 (N, 28, 28, 1), 0–1."""

    def __init__(self, strength=1.0, max_shift=2.5, max_rotation=12.0, max_scale=0.12, max_shear=0.15,
                 max_thickness=0.6, seed=None, **kwargs):
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
        warped = ops.image.affine_transform(
            images, self.affine_params(n), interpolation="bilinear", fill_mode="constant", fill_value=0.0
        )
        thicker = ops.max_pool(warped, pool_size=3, strides=1, padding="same")
        thinner = -ops.max_pool(-warped, pool_size=3, strides=1, padding="same")
        t = ops.reshape(self._uniform(n, self.config.max_thickness), (-1, 1, 1, 1))
        out = ops.where(t > 0, warped + t * (thicker - warped), warped - t * (thinner - warped))
        return ops.clip(out, 0.0, 1.0)

    def get_config(self):
        return {**super().get_config(), **dataclasses.asdict(self.config), "seed": self.seed}
