"""The cluster a multi-worker run belongs to, as TF_CONFIG describes it: read, written and checked
without importing Keras or TensorFlow, so that a bad --workers fails at once, in one line."""

from __future__ import annotations

import json
import os


class DistributeError(Exception):
    """A setting that cannot work here (e.g. multi-worker on JAX). One line for the user."""


def parse_workers(text: str) -> list[str]:
    """'host:port,host:port' -> ['host:port', ...]; ValueError with the bad entry."""
    workers = [w.strip() for w in text.split(",") if w.strip()]
    for worker in workers:
        host, _, port = worker.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{worker!r} is not host:port")
    if not workers:
        raise ValueError("no workers given")
    return workers


def write_tf_config(workers: list[str], index: int) -> None:
    """Set TF_CONFIG for worker `index` of `workers` (worker 0 is the chief)."""
    if not 0 <= index < len(workers):
        raise ValueError(f"worker index {index} is not in 0..{len(workers) - 1}")
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def tf_config() -> dict | None:
    """The parsed TF_CONFIG, or None when unset; DistributeError when malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        value = json.loads(raw)
        value["cluster"], value["task"]["type"], value["task"]["index"]
    except (ValueError, KeyError, TypeError):
        raise DistributeError("TF_CONFIG is not JSON of the form {cluster: {...}, task: {type, index}}") from None
    return value


def is_chief(config: dict | None) -> bool:
    """The chief is task 'chief', or worker 0 when the cluster has no chief."""
    if config is None:
        return True
    task = config["task"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and int(task["index"]) == 0 and "chief" not in config["cluster"]
