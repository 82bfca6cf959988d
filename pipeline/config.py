"""Every stage's settings: typed, frozen, each field with its meaning and unit.

Kept free of Keras/TensorFlow imports so the CLI can read the defaults (its
flags mirror these fields) without starting TensorFlow. The training config is
saved in metrics.json beside the model it produced; `read_train_config` reads it
back from there or from a plain TrainConfig JSON (sweep's best.json).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    # a convolution costs map area × filters in × filters out: the first two work on the largest maps
    # (26×26, 24×24), so they get the fewest filters
    filters: tuple[int, int, int] = (16, 32, 64)  # filters of conv 1, 2 (before the first pool) and 3
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
    epochs: int = 8  # passes over the training split; sized to the 2-core CPU budget (accuracy per epoch: BENCHMARKS.md)
    batch_size: int = 128  # batch per replica; the global batch is this × replicas (one replica: the same)
    learning_rate: float = 3e-3  # peak learning rate (AdamW) for one replica, reached after warm-up
    lr_scaling: str = "linear"  # how the peak rate grows with replicas: linear (× N), sqrt (× √N) or none (BENCHMARKS.md)
    warmup_epochs: float = 1.0  # linear warm-up length, epochs; then cosine decay to 0
    weight_decay: float = 1e-4  # decoupled weight decay (AdamW)
    validation_size: int = 5000  # training images held out for model selection
    train_limit: int = 0  # use only this many training images (0 = all); for quick tests
    test_limit: int = 0  # evaluate on only this many test images (0 = all 10,000)
    seed: int = 1234  # seeds weights, split, shuffling and augmentation
    strategy: str = "auto"  # auto | default | mirrored | multiworker (see pipeline.train.distribute)
    precision: str = "auto"  # auto (mixed where the GPU gains) | float32 | mixed_float16 | mixed_bfloat16
    jit_compile: str = "auto"  # XLA: auto (on for GPUs, off on the CPU) | on | off
    model: ModelConfig = ModelConfig()
    augment: AugmentConfig = AugmentConfig()

    def to_dict(self) -> dict:
        """Plain JSON-ready values (nested dicts for model/augment); from_dict reverses it."""
        return dataclasses.asdict(self)

    def differences(self, other: "TrainConfig") -> list[str]:
        """Human-readable 'field: mine != other' for every setting that differs (nested as model.x)."""
        mine, theirs = _flatten(self.to_dict()), _flatten(other.to_dict())
        return [f"{k}: {mine.get(k)!r} != {theirs.get(k)!r}" for k in sorted(set(mine) | set(theirs))
                if mine.get(k) != theirs.get(k)]

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Inverse of to_dict. Missing fields take their defaults; unknown ones raise ValueError."""
        values = dict(values)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        unknown += [f"model.{k}" for k in sorted(set(values.get("model", {})) - {f.name for f in dataclasses.fields(ModelConfig)})]
        unknown += [f"augment.{k}" for k in sorted(set(values.get("augment", {})) - {f.name for f in dataclasses.fields(AugmentConfig)})]
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        model = ModelConfig(**{**values.pop("model", {})})
        model = dataclasses.replace(model, filters=tuple(model.filters))
        augment = AugmentConfig(**values.pop("augment", {}))
        return cls(**values, model=model, augment=augment)


class ConfigFileError(Exception):
    """A training-settings file that cannot be read as a TrainConfig. One line for the user."""


def read_train_config(path: Path) -> TrainConfig:
    """The TrainConfig in a JSON file: TrainConfig.to_dict() (sweep's best.json, a trial's config.json),
    or a file whose top level holds it under "config" (metrics.json). ConfigFileError naming the file."""
    try:
        values = json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigFileError(f"{path}: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigFileError(f"{path}: not JSON ({err})") from None
    if isinstance(values, dict) and isinstance(values.get("config"), dict):
        values = values["config"]
    if not isinstance(values, dict):
        raise ConfigFileError(f"{path}: expected a JSON object of training settings")
    try:
        return TrainConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise ConfigFileError(f"{path}: {err}") from None


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = list(value) if isinstance(value, tuple) else value
    return flat


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    quantize: str = "uint8"  # weight quantization: uint8 (4× smaller), float16 (2×) or none
    min_agreement: float = 0.999  # least fraction of test images whose argmax must match Keras
    parity_images: int = 10000  # test images used for the check (all of them by default)
