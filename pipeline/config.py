"""Every stage's settings: typed, frozen, each field with its meaning and unit.

Kept free of Keras/TensorFlow imports so the CLI can read the defaults (its
flags mirror these fields) without starting TensorFlow. The training config is
saved in metrics.json beside the model it produced.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    filters: tuple[int, int, int] = (32, 32, 64)  # filters of conv 1, 2 (before the first pool) and 3
    dense_units: int = 128  # width of the hidden dense layer
    dropout: float = 0.25  # dropout after the second pool, fraction
    dense_dropout: float = 0.4  # dropout before the classifier, fraction


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    strength: float = 1.0  # multiplies every range below; 0 turns augmentation off
    max_shift: float = 2.5  # pixels, uniform in ±max_shift per axis
    max_rotation: float = 12.0  # degrees, uniform in ±max_rotation
    max_scale: float = 0.12  # relative size change, uniform in ±max_scale
    max_shear: float = 0.15  # horizontal shear factor (slant), uniform in ±max_shear
    max_thickness: float = 0.6  # blend weight towards dilation (+) or erosion (−)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12  # passes over the training split
    batch_size: int = 128  # global batch, split across replicas
    learning_rate: float = 3e-3  # peak learning rate (Adam), reached after warm-up
    warmup_epochs: float = 1.0  # linear warm-up length, epochs; then cosine decay to 0
    weight_decay: float = 1e-4  # decoupled weight decay (AdamW)
    validation_size: int = 5000  # training images held out for model selection
    train_limit: int = 0  # use only this many training images (0 = all); for quick tests
    test_limit: int = 0  # evaluate on only this many test images (0 = all 10,000)
    seed: int = 1234  # seeds weights, split, shuffling and augmentation
    strategy: str = "auto"  # auto | default | mirrored (see choose_strategy)
    model: ModelConfig = ModelConfig()
    augment: AugmentConfig = AugmentConfig()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        values = dict(values)
        model = ModelConfig(**{**values.pop("model", {})})
        model = dataclasses.replace(model, filters=tuple(model.filters))
        augment = AugmentConfig(**values.pop("augment", {}))
        return cls(**values, model=model, augment=augment)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    quantize: str = "uint8"  # weight quantization: uint8 (4× smaller), float16 (2×) or none
    min_agreement: float = 0.999  # least fraction of test images whose argmax must match Keras
    parity_images: int = 10000  # test images used for the check (all of them by default)
