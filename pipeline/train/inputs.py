"""What `pipeline train` reads, each once and before TensorFlow starts: MNIST (--data, else the cache or a
download), every --extra-data file, and on --resume the checkpoint's latest.json, checked against one another.
No Keras here: a bad input fails in one line at once, and the training loop is handed what was read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.data.formats import ExtraDigits, read_extra_digits
from pipeline.data.mnist import Mnist, load_mnist
from pipeline.train.latest import check_extra_data


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Everything a training run reads from outside."""

    digits: Mnist  # verified MNIST
    extra: tuple[ExtraDigits, ...] = ()  # the --extra-data files, read, for the training part only
    resumed: dict | None = None  # the checkpoint's latest.json (pipeline.train.latest.read_state) on --resume


def read_inputs(data_path: Path | None = None, extra_paths: tuple[Path, ...] = (), resumed: dict | None = None,
                checkpoint_dir: Path | None = None, log=print) -> Inputs:
    """Read --extra-data (checked against the checkpoint's `resumed` state, read already from `checkpoint_dir`),
    then MNIST from `data_path` (None: the cache or a download). DataError or ResumeError, one line, when one
    cannot be used."""
    extra = tuple(read_extra_digits(path) for path in extra_paths)
    if resumed is not None:
        check_extra_data(resumed, [e.record for e in extra], checkpoint_dir)
    return Inputs(load_mnist(data_path, log=log), extra, resumed)
