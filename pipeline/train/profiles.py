"""Named training presets: `pipeline train --profile default|fast|accurate`.

A profile is a TrainConfig; explicit CLI flags override it (`--config FILE.json`
replaces it). Keras-free, like pipeline.config, so `--help` stays instant; the
CLI's help shows each flag's default as these profiles set it.

    default   TrainConfig's own defaults, sized for a 2-core CPU
    fast      one GPU: large batches, a short schedule, mixed precision + XLA (auto)
    accurate  wider and longer; meant for a GPU
    t4x2      Kaggle's two Tesla T4s (notebooks/train.ipynb): `fast`'s global batch and peak rate, split
              over two MirroredStrategy replicas; on one device it trains half of each
"""

from __future__ import annotations

import dataclasses

from pipeline.config import ModelConfig, TrainConfig

PROFILES: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    # Batches of 512 (4× the default) keep a GPU busy; the peak rate follows the sqrt rule for the 4×
    # batch (3e-3 × √4), below the linear rule's 1.2e-2; half an epoch of warm-up is a few dozen steps.
    "fast": TrainConfig(epochs=8, batch_size=512, learning_rate=6e-3, warmup_epochs=0.5),
    # Wider filters and twice the default's dense units, trained much longer: the augmentation and heavier
    # dropout keep it from overfitting.
    "accurate": TrainConfig(epochs=30, batch_size=128, learning_rate=3e-3,
                            model=ModelConfig(filters=(32, 64, 128), dense_units=256, dropout=0.25, dense_dropout=0.4)),
    # 256 per replica, so two T4s train `fast`'s global batch of 512 at its peak rate: 3e-3 for one replica × 2
    # (linear scaling, within the 1-4 replicas BENCHMARKS.md measured). One GPU, or none: batch 256 at 3e-3.
    "t4x2": TrainConfig(epochs=8, batch_size=256, learning_rate=3e-3, lr_scaling="linear", warmup_epochs=0.5),
}


def profile_config(name: str) -> TrainConfig:
    """The TrainConfig of a named profile (KeyError names the choices)."""
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def with_overrides(base: TrainConfig, overrides: dict) -> TrainConfig:
    """`base` with some fields replaced; keys 'augment.strength' / 'model.filters' reach nested configs."""
    top, nested = {}, {"model": {}, "augment": {}}
    for key, value in overrides.items():
        section, _, field = key.partition(".")
        if field:
            nested[section][field] = value
        else:
            top[key] = value
    return dataclasses.replace(
        base, **top,
        model=dataclasses.replace(base.model, **nested["model"]),
        augment=dataclasses.replace(base.augment, **nested["augment"]),
    )
