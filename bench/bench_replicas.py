"""Does an N-replica MirroredStrategy run reach the accuracy of a 1-replica run?

Trains the same settings on 1, 2 and 4 logical CPU devices (`--cpu-replicas N --strategy mirrored`):
per-replica batch fixed, so the global batch grows N× and the peak learning rate with it
(`--lr-scaling linear`, the training default, or `sqrt`). Records test accuracy (all 10,000 test images), global batch, peak rate and
training time per run into bench/results/replica_scaling_RULE.json. On a CPU the replicas share the same
cores, so the times say nothing about GPU speed-up; the accuracies are the point.

    python -m bench.bench_replicas --lr-scaling linear    # -> bench/results/replica_scaling_linear.json
    python -m bench.bench_replicas --lr-scaling sqrt      # -> bench/results/replica_scaling_sqrt.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.results_file import save_result

ROOT = Path(__file__).resolve().parent.parent

COLUMNS = ["replicas", "global batch", "peak learning rate", "test accuracy (%)", "train time (s)"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,4", help="comma-separated replica counts")
    parser.add_argument("--train-limit", type=int, default=15000, help="training images (0 = all 60,000)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128, help="per replica")
    parser.add_argument("--lr-scaling", choices=["sqrt", "linear", "none"], default="linear")
    parser.add_argument("--name", default=None, help="result name [default: replica_scaling_RULE]")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        for n in (int(r) for r in args.replicas.split(",")):
            out = Path(tmp) / f"r{n}"
            cmd = [sys.executable, "-m", "pipeline", "train", "--artifacts", str(out), "--cpu-replicas", str(n),
                   "--strategy", "mirrored" if n > 1 else "default", "--epochs", str(args.epochs),
                   "--train-limit", str(args.train_limit), "--validation-size", "1000",
                   "--batch-size", str(args.batch_size), "--lr-scaling", args.lr_scaling]
            result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            if result.returncode != 0:
                sys.exit(f"bench_replicas: {n} replicas failed:\n{result.stderr[-3000:]}")
            m = json.loads((out / "metrics.json").read_text())
            rows.append([n, m["global_batch"], round(m["peak_learning_rate"], 5),
                         round(100 * m["test_accuracy"], 2), m["train_seconds"]])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    command = "python -m bench.bench_replicas" + "".join(f" {a}" for a in sys.argv[1:])
    path = save_result(args.name or f"replica_scaling_{args.lr_scaling}",
                       title=f"MirroredStrategy: accuracy by replicas ({args.lr_scaling} LR scaling)",
                       command=command, columns=COLUMNS, rows=rows,
                       notes=f"{args.train_limit or 60000} training images, {args.epochs} epochs, per-replica "
                             f"batch {args.batch_size}, {args.lr_scaling} learning-rate scaling; logical CPU devices share "
                             "the same cores, so times are not a speed-up measure")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
