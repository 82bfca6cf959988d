"""The devices `pipeline train --profile PROFILE` will find here, the strategy it will pick, and why.

Run by notebooks/train.ipynb with the checkout's .venv: python notebooks/devices.py PROFILE
It asks TensorFlow, as training will, and prints: each GPU with its name and compute capability, then the
strategy, replicas, precision, XLA, global batch and peak learning rate that training will use.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.train import distribute  # noqa: E402  (after the log level, which TensorFlow reads at import)
from pipeline.train.profiles import profile_config  # noqa: E402

WHY = {
    0: "no GPU: training runs on the CPU, one device, float32; it still works, slowly (BENCHMARKS.md has a 2-core "
       "CPU's times). On Kaggle choose Settings -> Accelerator -> GPU T4 x2, on Colab Runtime -> Change runtime "
       "type -> T4 GPU, then run the notebook again",
    1: "one GPU: one device, no MirroredStrategy; the profile's batch per replica is the whole batch",
    2: "two GPUs: MirroredStrategy, one replica per GPU; each step splits the global batch between them and "
       "sums their gradients (ReductionToOneDevice) before the update",
}


def main(profile: str) -> None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        capability = ".".join(map(str, details.get("compute_capability", ()))) or "?"
        print(f"devices: {gpu.name}: {details.get('device_name', 'unknown GPU')}, compute capability {capability}")
    if not gpus:
        print("devices: no GPU visible to TensorFlow")
    print(f"devices: why: {WHY[min(len(gpus), 2)]}")
    try:
        config = profile_config(profile)
    except KeyError as err:
        sys.exit(f"devices: PROFILE: {err.args[0]}")
    plan = distribute.plan(config.strategy, config.precision, config.jit_compile)
    batch, rate = distribute.scaled_batch_and_rate(config.batch_size, config.learning_rate, plan.replicas,
                                                   config.lr_scaling)
    print(f"devices: --profile {profile}: {plan.replicas} replica(s) x {config.batch_size} images = global batch "
          f"{batch}; peak learning rate {rate:g} ({config.learning_rate:g} for one replica, {config.lr_scaling} "
          "scaling); flags in TRAIN_FLAGS override these")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python notebooks/devices.py PROFILE")
    main(sys.argv[1])
