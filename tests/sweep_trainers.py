"""Trainers for the sweep tests, called as `python tests/sweep_trainers.py MODE --config FILE --artifacts DIR [--data PATH]`.

real: trains for real, exactly what `pipeline train --config` does (a stand-in until
      that flag is on this branch: TrainConfig.from_dict of the file, then pipeline.train.train).
fake: no training: notes its start (pid, and a line in runs.txt), sleeps FAKE_SECONDS,
      then writes a metrics.json whose validation accuracy is a known function of the
      config, so the sweep's bookkeeping can be checked quickly and exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's pipeline package

FAKE_SECONDS = 1.5


def fake_accuracy(config: dict) -> float:
    """Best at learning_rate 3e-3, then a little better with more filters."""
    return round(0.9 - abs(config["learning_rate"] - 3e-3) * 10 + config["model"]["filters"][0] / 1e4, 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["real", "fake"])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    if args.mode == "real":
        from pipeline.config import TrainConfig
        from pipeline.train import train

        train(TrainConfig.from_dict(config), args.artifacts, data_path=args.data)
        return
    (args.artifacts / "pid").write_text(str(os.getpid()))
    with open(args.artifacts / "runs.txt", "a") as runs:
        runs.write("started\n")
    time.sleep(FAKE_SECONDS)
    accuracy = fake_accuracy(config)
    metrics = {"validation_accuracy": accuracy, "history": [{"epoch": 1, "val_loss": round(1 - accuracy, 6)}],
               "train_seconds": FAKE_SECONDS, "config": config}
    (args.artifacts / "metrics.json").write_text(json.dumps(metrics))


if __name__ == "__main__":
    main()
