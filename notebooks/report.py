"""The trained model's report for notebooks/train.ipynb: accuracy, tfjs parity, time per epoch, curves.

Run with the checkout's .venv: python notebooks/report.py ARTIFACTS OUT.png
Reads ARTIFACTS/metrics.json (pipeline train) and ARTIFACTS/tfjs/export.json (pipeline export); prints
the figures and draws the report page's training curves (loss and accuracy per epoch, training and
validation) into OUT.png with matplotlib.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display here
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def summary(metrics: dict, export: dict) -> list[str]:
    """The report's lines: what was trained where, test accuracy, parity, and each epoch's time and figures."""
    strategy = metrics["strategy"]
    lines = [
        f"trained: {strategy['name']} on {', '.join(strategy['devices'])}; precision {strategy['precision']}, "
        f"XLA {'on' if strategy['jit_compile'] else 'off'}; global batch {metrics['global_batch']}, "
        f"peak learning rate {metrics['peak_learning_rate']:g}",
        f"test accuracy: {metrics['test_accuracy']:.2%} on {metrics['test_images']:,} MNIST test images (Keras)",
        f"parity: the TensorFlow.js model agrees with Keras on {export['argmax_agreement']:.2%} of "
        f"{export['parity_images']:,} test images (tfjs accuracy {export['tfjs_test_accuracy']:.2%}, weights "
        f"{export['quantize']})",
        f"time: {metrics['train_seconds']:.0f} s of training, {metrics['wall_seconds']:.0f} s in all",
        "epoch   seconds   loss     accuracy   val_loss   val_accuracy",
    ]
    for row in metrics["history"]:
        lines.append(f"{row['epoch']:>5}   {row['seconds']:>7.1f}   {row['loss']:.4f}   {row['accuracy']:.4f}     "
                     f"{row.get('val_loss', float('nan')):.4f}     {row.get('val_accuracy', float('nan')):.4f}")
    return lines


def curves(history: list[dict], out: Path) -> None:
    """Loss and accuracy per epoch, training and validation, side by side, into the PNG `out`."""
    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    for axis, key, title in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        axis.plot(epochs, [row[key] for row in history], "o-", label="training")
        if all(f"val_{key}" in row for row in history):
            axis.plot(epochs, [row[f"val_{key}"] for row in history], "o-", label="validation")
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)


def main(artifacts: Path, out: Path) -> None:
    metrics = json.loads((artifacts / "metrics.json").read_text())
    export = json.loads((artifacts / "tfjs" / "export.json").read_text())
    print("\n".join(summary(metrics, export)))
    out.parent.mkdir(parents=True, exist_ok=True)
    curves(metrics["history"], out)
    print(f"report: wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python notebooks/report.py ARTIFACTS OUT.png")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
