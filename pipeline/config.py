"""Every stage's settings: typed, frozen, each field with its meaning and unit.

Kept free of Keras/TensorFlow imports so the CLI can read the defaults (its
flags mirror these fields) without starting TensorFlow. The training config is
saved in metrics.json beside the model it produced; `read_train_config` reads it
back from there or from a plain TrainConfig JSON (sweep's best.json).

Each training setting is declared once, as its field: `setting(default, Setting(...), meaning)`.
SETTINGS (types and ranges, for the flags and the settings-file reader) and MEANINGS (each flag's
--help) are read from the fields.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from pipeline.artifacts import MIN_ACCURACY, shown

MAX_SETTINGS_BYTES = 1_000_000  # a settings file (a metrics.json holds the history too) is far smaller than this
MAX_WHOLE = 2**31 - 1  # the largest whole-number setting (epochs, batch size, limits): what TensorFlow's int32 holds


@dataclasses.dataclass(frozen=True)
class Setting:
    """The type and range of one training setting; the CLI's flags and the settings-file reader both use it."""
    kind: type  # int, float, str, or tuple (three ints)
    low: float | None = None  # smallest allowed value (for a tuple: of each element)
    high: float | None = None  # largest allowed value
    low_open: bool = False  # low itself is not allowed
    high_open: bool = False  # high itself is not allowed
    choices: tuple[str, ...] = ()  # for str: the allowed values

    def check(self, name: str, value):
        """`value` as this setting's type; ValueError 'NAME: expected ..., got ...' when it is not allowed."""
        if self.kind is tuple:
            if not isinstance(value, (list, tuple)) or len(value) != 3:
                raise ValueError(f"{name}: expected a list of three whole numbers, got {shown(value)}")
            return tuple(Setting(int, self.low, self.high).check(name, v) for v in value)
        if self.kind is str:
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name}: expected one of {', '.join(self.choices)}, got {shown(value)}")
            return value
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if abs(value) < 1e308 else math.inf  # past a float's range: refused just below
        wrong_type = isinstance(value, bool) or not isinstance(value, float if self.kind is float else int)
        if wrong_type or not (isinstance(value, int) or math.isfinite(value)):  # ints: always finite
            raise ValueError(f"{name}: expected a {'whole ' if self.kind is int else ''}number, got {shown(value)}")
        if not self.allows(value):
            raise ValueError(f"{name}: {shown(value)} is out of range ({self.range_text()})")
        return self.kind(value)

    @property
    def top(self) -> float | None:
        """The largest value allowed: `high`, or for a whole number without one, the largest 32-bit int."""
        return self.high if self.high is not None or self.kind is not int else MAX_WHOLE

    def allows(self, value) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.top is None or (value < self.top if self.high_open else value <= self.top)
        return above and below

    def range_text(self) -> str:
        parts = [f"{'>' if self.low_open else '>='} {self.low}" if self.low is not None else "",
                 f"{'<' if self.high_open else '<='} {self.top}" if self.top is not None else ""]
        return " and ".join(p for p in parts if p)


def setting(default, check: Setting, meaning: str):
    """A training setting, declared once: its default, its type and range (`check`) and its meaning, one
    sentence with its unit, which is also its flag's --help where it has a flag (pipeline.cli)."""
    return dataclasses.field(default=default, metadata={"setting": check, "meaning": meaning})


FRACTION = Setting(float, 0, 1, high_open=True)  # dropout: 0 keeps everything, 1 would drop everything


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    # a convolution costs map area × filters in × filters out: the first two work on the largest maps
    # (26×26, 24×24), so they get the fewest filters; 16 in the second reads MNIST as well as 32 does
    # with fewer weights and less compute (variants: BENCHMARKS.md)
    filters: tuple[int, int, int] = setting(
        (16, 16, 64), Setting(tuple, 1), "Filters of conv 1 and 2 (before the first pool), and of conv 3 and 4.")
    extra_blocks: int = setting(
        0, Setting(int, 0), "Conv blocks added after the fourth (3×3, same padding, its filters): a deeper model to try.")
    dense_units: int = setting(128, Setting(int, 1), "Width of the hidden dense layer, units.")
    # light dropout: the augmentation already keeps an 8-epoch run from overfitting (variants: BENCHMARKS.md)
    dropout: float = setting(0.1, FRACTION, "Dropout after the last conv, fraction.")
    dense_dropout: float = setting(0.2, FRACTION, "Dropout before the classifier, fraction.")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    # the max_ ranges below are the widest warps, drawn at strength 1; three quarters of them (the default
    # strength) read MNIST's test digits better than the full ranges (variants: BENCHMARKS.md)
    strength: float = setting(0.75, Setting(float, 0), "Multiplies every augmentation range (shift, rotation, "
                              "scale, shear, thickness); 0 turns it off.")
    max_shift: float = setting(2.5, Setting(float, 0), "Shift, pixels: uniform in +-max_shift per axis.")
    max_rotation: float = setting(12.0, Setting(float, 0, 180), "Rotation, degrees: uniform in +-max_rotation.")
    max_scale: float = setting(0.12, Setting(float, 0, 1, high_open=True),
                               "Relative size change: uniform in +-max_scale.")
    max_shear: float = setting(0.15, Setting(float, 0), "Horizontal shear factor (slant): uniform in +-max_shear.")
    max_thickness: float = setting(0.6, Setting(float, 0, 1),
                                   "Stroke thickness: blend weight towards dilation (+) or erosion (-).")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    # sized to the 2-core CPU budget (accuracy per epoch: BENCHMARKS.md)
    epochs: int = setting(8, Setting(int, 1), "Passes over the data.")
    batch_size: int = setting(128, Setting(int, 1), "Batch per replica, images (global = this x replicas).")
    learning_rate: float = setting(3e-3, Setting(float, 0, low_open=True),
                                   "Peak learning rate for one replica (AdamW, warm-up then cosine decay).")
    lr_scaling: str = setting("linear", Setting(str, choices=("sqrt", "linear", "none")),  # which: BENCHMARKS.md
                              "How the peak rate grows with N replicas: linear (x N), sqrt (x sqrt N) or none.")
    warmup_epochs: float = setting(1.0, Setting(float, 0), "Linear warm-up, epochs; then cosine decay to 0.")
    weight_decay: float = setting(1e-4, Setting(float, 0), "Decoupled weight decay (AdamW).")
    validation_size: int = setting(5000, Setting(int, 0), "Training images held out for model selection.")
    nondigits: float = setting(0.15, Setting(float, 0, 1), "Generated drawings that are no digit (the 11th class), "
                               "per image, added to training and validation.")
    nondigit_prior: float = setting(  # calibration.py: Prior
        0.05, Setting(float, 0, 1, low_open=True, high_open=True), "How often the page expects a drawing not to be "
        "a digit; calibration moves the model's \"not a digit\" from its training share to this.")
    redrawn: float = setting(  # pipeline.data.redrawn
        0.15, Setting(float, 0, 1), "Training digits traced and drawn again with a pen, per digit, added to "
        "training (cached).")
    train_limit: int = setting(0, Setting(int, 0), "Train on only this many MNIST images (0 = all); "
                               "--extra-data rows come on top.")
    test_limit: int = setting(0, Setting(int, 0), "Evaluate on only this many test images (0 = all 10,000), "
                              "and on proportionally fewer non-digits.")
    seed: int = setting(1234, Setting(int, 0, 2**32 - 1),  # numpy and Keras seeds are unsigned 32-bit
                        "Seed for weights, split, shuffling and augmentation.")
    strategy: str = setting(  # pipeline.train.distribute
        "auto", Setting(str, choices=("auto", "default", "mirrored", "multiworker")), "auto: multi-worker when "
        "TF_CONFIG is set, Mirrored over several GPUs (JAX: DataParallel over several devices), else one device.")
    precision: str = setting(
        "auto", Setting(str, choices=("auto", "float32", "mixed_float16", "mixed_bfloat16")),
        "Keras dtype policy; auto: mixed float16 on compute capability 7.x, mixed bfloat16 on >= 8.0, float32 "
        "on the CPU.")
    jit_compile: str = setting("auto", Setting(str, choices=("auto", "on", "off")),
                               "XLA-compile the train step; auto: on for GPUs, off on the CPU.")
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
        """Inverse of to_dict. Missing fields take their defaults; an unknown field, or a value of the
        wrong type or out of its range (SETTINGS), raises ValueError naming the field."""
        if not isinstance(values, dict):
            raise ValueError(f"expected an object of training settings, got {_json_type(values)}")
        values = dict(values)
        nested = {}
        for section, config_class in (("model", ModelConfig), ("augment", AugmentConfig)):
            part = values.pop(section, {})
            if not isinstance(part, dict):
                raise ValueError(f"{section}: expected an object, got {_json_type(part)}")
            nested[section] = _checked(part, config_class, f"{section}.")
        return cls(**_checked(values, cls, ""), model=ModelConfig(**nested["model"]),
                   augment=AugmentConfig(**nested["augment"]))


def declared(config_class=TrainConfig, prefix: str = "") -> dict[str, dataclasses.Field]:
    """Every setting of `config_class`, nested ones as section.field, in declaration order; TypeError for a
    field declared without `setting` (it would have no range to check and no meaning to show)."""
    found = {}
    for f in dataclasses.fields(config_class):
        if dataclasses.is_dataclass(f.default):  # a section: model, augment
            found.update(declared(type(f.default), f"{prefix}{f.name}."))
        elif "setting" not in f.metadata:
            raise TypeError(f"{config_class.__name__}.{f.name}: "
                            "declare it with setting(default, Setting(...), meaning)")
        else:
            found[prefix + f.name] = f
    return found


# every TrainConfig field (nested ones as section.field): its type and range, and its meaning (its flag's --help)
SETTINGS: dict[str, Setting] = {name: f.metadata["setting"] for name, f in declared().items()}
MEANINGS: dict[str, str] = {name: f.metadata["meaning"] for name, f in declared().items()}


def _checked(values: dict, config_class, prefix: str) -> dict:
    """`values` (fields of `config_class`) checked against SETTINGS; ValueError naming the first bad one."""
    known = {f.name for f in dataclasses.fields(config_class)} - {"model", "augment"}  # those two are checked apart
    unknown = sorted(set(values) - known)
    if unknown:
        names = [_name(prefix + k) for k in unknown[:5]] + ([f"{len(unknown) - 5} more"] if len(unknown) > 5 else [])
        raise ValueError(f"unknown training setting(s): {', '.join(names)}")
    return {k: SETTINGS[prefix + k].check(prefix + k, v) for k, v in values.items()}


def _name(key: str) -> str:
    """A key for a one-line message: as it is when short and printable, else its cut repr."""
    return key if key.isprintable() and len(key) <= 60 else shown(key)


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


class ConfigFileError(Exception):
    """A training-settings file that cannot be read as a TrainConfig. One line for the user."""


def read_train_config(path: Path) -> TrainConfig:
    """The TrainConfig in a JSON file: TrainConfig.to_dict() (sweep's best.json, a trial's config.json),
    or a file whose top level holds it under "config" (metrics.json). ConfigFileError naming the file."""
    values = read_settings_json(path, ConfigFileError)
    if isinstance(values, dict) and isinstance(values.get("config"), dict):
        values = values["config"]
    if not isinstance(values, dict):
        raise ConfigFileError(f"{path}: expected a JSON object of training settings, got {_json_type(values)}")
    try:
        return TrainConfig.from_dict(values)
    except ValueError as err:
        raise ConfigFileError(f"{path}: {err}") from None


def read_settings_json(path: Path, error: type[Exception]):
    """The JSON value in a small settings file; `error` naming the file if it is too big, unreadable,
    not UTF-8, not JSON, or has a key twice in one object (JSON allows it; the last would silently win)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SETTINGS_BYTES + 1)
    except OSError as err:
        raise error(f"{path}: {err.strerror}") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise error(f"{path}: larger than {MAX_SETTINGS_BYTES:,} bytes; not a settings file")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None
    except ValueError as err:  # JSONDecodeError, a duplicate key, or a number too long to convert
        raise error(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise error(f"{path}: not valid JSON (nested too deeply)") from None


def _no_duplicate_keys(pairs: list) -> dict:
    value = dict(pairs)
    if len(value) < len(pairs):  # linear: a huge object with many keys stays quick
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"key {shown(twice)} appears twice in one object")
    return value


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
    quantize: str = setting("uint8", Setting(str, choices=("uint8", "float16", "none")),
                            "Weight quantization of the tfjs model (uint8: 4x smaller, float16: 2x).")
    min_agreement: float = 0.999  # least fraction of test images whose argmax must match Keras
    parity_images: int = 10000  # test images used for the check (all of them by default)
    min_accuracy: float = MIN_ACCURACY  # least Keras accuracy on those images for the model to ship (0: any)
    replay_per_class: int = 300  # MNIST training digits per class whose features the page replays while it adapts
    block_directions: int = 256  # random directions the page projects the last pooling layer on, beside the features (0: none)


@dataclasses.dataclass(frozen=True)
class SubsetConfig:
    """What `pipeline build` puts in the train page's MNIST subset (pipeline.build.subset)."""
    train_per_class: int = setting(1200, Setting(int, 1), "Training images per digit shipped for train.html "
                                   "(from the MNIST training set).")
    test_per_class: int = setting(200, Setting(int, 1), "Held-out images per digit shipped for train.html "
                                  "(from the MNIST test set, never trained on).")
    seed: int = 0  # seed of the class-balanced draw and of the order within each part
