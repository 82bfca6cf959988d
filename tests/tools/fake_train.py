"""A fake trainer for the sweep tests, with `pipeline train`'s contract:
`python tests/tools/fake_train.py --config FILE --artifacts DIR [--data PATH]`.

No training: it notes its start (pid, and a line in runs.txt), sleeps FAKE_SECONDS,
then writes a metrics.json whose validation accuracy is a known function of the
config, so the sweep's bookkeeping can be checked quickly and exactly. (The
end-to-end test uses the real `pipeline train --config`.)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

FAKE_SECONDS = 1.5


def fake_accuracy(config: dict) -> float:
    """Best at learning_rate 3e-3, then a little better with more filters."""
    return round(0.9 - abs(config["learning_rate"] - 3e-3) * 10 + config["model"]["filters"][0] / 1e4, 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
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
