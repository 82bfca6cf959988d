"""Where and how training runs: devices, distribution strategy, precision, XLA, batch and rate scaling.

    TensorFlow backend
      TF_CONFIG set (or --workers/--worker-index)  -> MultiWorkerMirroredStrategy (all workers, sync)
      several GPUs (or --strategy mirrored)         -> MirroredStrategy over all of them
      otherwise                                     -> the default strategy (one device)
    JAX backend
      several local devices                         -> keras.distribution.DataParallel over all of them
      one device                                    -> plain JAX (jit)

TensorFlow is imported only on the TensorFlow backend. The global batch is the
per-replica batch × replicas and the peak learning rate grows with it
(config.lr_scaling): "linear" (× N, safe after the warm-up the schedule has anyway;
Goyal et al.) or "sqrt" (× √N). How each keeps accuracy across 1, 2 and 4 replicas:
bench/bench_replicas.py, results in BENCHMARKS.md.
Mixed precision: float16 on compute capability 7.x (V100, T4: tensor cores, no bf16),
bfloat16 on ≥ 8.0 (A100, H100); float32 on the CPU, where neither is faster.
MirroredStrategy sums gradients with ReductionToOneDevice on GPUs as on the CPU, never NCCL
(MirroredStrategy's GPU default), which is known to hang in some multi-GPU VMs; the model's gradients
are about 0.5 MB a step, too few for NCCL's speed to matter (docs/training.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os

import keras

from pipeline.train import keras_fixes
from pipeline.train.cluster import DistributeError, is_chief, tf_config


@dataclasses.dataclass
class Plan:
    """What train() needs to know about the hardware. `scope()` wraps model/optimizer creation."""

    name: str  # human description, e.g. "MirroredStrategy over 2 replicas"
    devices: list[str]  # device names used
    replicas: int  # data-parallel replicas (devices × workers)
    precision: str  # Keras dtype policy: float32 | mixed_float16 | mixed_bfloat16
    jit_compile: bool  # XLA-compile the train step
    is_chief: bool = True  # writes artefacts and checkpoints (multi-worker: only the chief)
    strategy: object = None  # tf.distribute strategy (TensorFlow backend) or None
    multiworker: bool = False  # MultiWorkerMirroredStrategy (several processes train in lockstep)
    cross_device_ops: str = ""  # how replicas' gradients are summed (MirroredStrategy), e.g. ReductionToOneDevice

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def describe(self) -> dict:
        """JSON-ready summary for metrics.json."""
        described = {"name": self.name, "devices": self.devices, "replicas": self.replicas,
                     "precision": self.precision, "jit_compile": self.jit_compile, "backend": keras.backend.backend()}
        if self.cross_device_ops:
            described["cross_device_ops"] = self.cross_device_ops
        return described


# ----------------------------------------------------------------- before the backend starts


def split_cpu(replicas: int) -> None:
    """Expose the CPU as `replicas` logical devices, to run the multi-device paths without GPUs.

    Must run before the backend initialises its devices (first device query).
    """
    if keras.backend.backend() == "jax":
        # each logical device computes on its own thread: with XLA's shared intra-op pool on a busy
        # machine, one device's all-reduce can wait past XLA's 40 s limit for the other to be scheduled
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_force_host_platform_device_count={replicas}"
                                   " --xla_cpu_multi_thread_eigen=false").strip()
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)


# ----------------------------------------------------------------- choice


def plan(strategy: str = "auto", precision: str = "auto", jit_compile: str = "auto", log=print) -> Plan:
    """Choose strategy, devices, precision and XLA for this machine and print the choice."""
    if strategy not in ("auto", "default", "mirrored", "multiworker"):
        raise DistributeError(f"unknown strategy {strategy!r}")
    chosen = _plan_jax(strategy) if keras.backend.backend() == "jax" else _plan_tensorflow(strategy)
    on_gpu, capability = _gpu_capability()
    chosen.precision = _precision(precision, on_gpu, capability)
    chosen.jit_compile = keras.backend.backend() == "jax" or (
        jit_compile == "on" or (jit_compile == "auto" and on_gpu))
    log(f"train: {keras.backend.backend()} backend, {chosen.name}: {', '.join(chosen.devices)}")
    log(f"train: precision {chosen.precision}, XLA {'on' if chosen.jit_compile else 'off'}")
    return chosen


def scaled_batch_and_rate(batch_size: int, learning_rate: float, replicas: int, rule: str) -> tuple[int, float]:
    """(global batch, peak learning rate) for `replicas` data-parallel replicas."""
    factor = {"sqrt": math.sqrt(replicas), "linear": float(replicas), "none": 1.0}.get(rule)
    if factor is None:
        raise DistributeError(f"unknown lr_scaling {rule!r} (sqrt, linear or none)")
    return batch_size * replicas, learning_rate * factor


def _plan_tensorflow(kind: str) -> Plan:
    import tensorflow as tf

    cluster = tf_config()
    if kind == "multiworker" and cluster is None:
        raise DistributeError("--strategy multiworker needs TF_CONFIG or --workers/--worker-index")
    if cluster is not None and kind in ("auto", "multiworker"):
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # must come before any other TF work
        keras_fixes.average_multiworker_logs()
        workers = len(cluster["cluster"].get("worker", [])) + len(cluster["cluster"].get("chief", []))
        task = cluster["task"]
        devices = [str(d) for d in strategy.extended.worker_devices]
        return Plan(f"MultiWorkerMirroredStrategy over {workers} workers ({task['type']} {task['index']})",
                    devices, strategy.num_replicas_in_sync, "float32", False, is_chief(cluster), strategy, True)
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if kind == "mirrored" or (kind == "auto" and len(gpus) > 1):
        devices = [d.name for d in (gpus or cpus)]
        # what MirroredStrategy picks for CPU devices itself; named here so that GPUs get it too, not NCCL
        reduction = tf.distribute.ReductionToOneDevice()
        strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=reduction)
        ops = type(reduction).__name__
        return Plan(f"MirroredStrategy over {len(devices)} replicas ({ops})", devices, len(devices), "float32", False,
                    True, strategy, cross_device_ops=ops)
    return Plan("default strategy (one device)", [(gpus or cpus)[0].name], 1, "float32", False, True,
                tf.distribute.get_strategy())


def _plan_jax(kind: str) -> Plan:
    import jax

    if kind == "multiworker" or (kind == "auto" and tf_config() is not None):
        raise DistributeError("multi-worker training needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
    devices = jax.devices()
    if len(devices) > 1 and kind in ("auto", "mirrored"):
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return Plan(f"DataParallel over {len(devices)} devices", [str(d) for d in devices], len(devices),
                    "float32", True)
    keras.distribution.set_distribution(None)
    return Plan("one device", [str(devices[0])], 1, "float32", True)


def _gpu_capability() -> tuple[bool, tuple[int, int] | None]:
    """(is the training device a GPU, its CUDA compute capability or None)."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "gpu":
            return False, None
        cc = getattr(device, "compute_capability", None)
        return True, tuple(int(p) for p in str(cc).split(".")[:2]) if cc else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return False, None
    return True, tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")


def _precision(requested: str, on_gpu: bool, capability) -> str:
    if requested != "auto":
        if requested not in ("float32", "mixed_float16", "mixed_bfloat16"):
            raise DistributeError(f"unknown precision {requested!r}")
        return requested
    if not on_gpu or capability is None:
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16" if capability >= (7, 0) else "float32"
