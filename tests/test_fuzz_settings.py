"""Fuzzing the readers of settings and artefact JSON: a seeded mutation loop feeds each reader at least
500 mutations of a real file of its kind (metrics.json, the tfjs model.json, a --config settings file,
the checkpoint's latest.json). Each mutant either parses or raises the reader's own one-line error
naming the file: never another exception, never a hang (each kind within 10 s), never a file written.

Half the mutants are byte-level (flip, insert, delete, truncate, repeat a slice), so they are mostly not
JSON; the other half are valid JSON with one value replaced by another of a random type or size, which
is what reaches the field checks. The seed is fixed: a failure names the mutant and reproduces.
"""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path

import pytest

from pipeline.artifacts import MIN_ACCURACY
from pipeline.build.site import BuildError, _read_artifacts, check_model_shape
from pipeline.config import ConfigFileError, TrainConfig, read_train_config
from pipeline.train.latest import ResumeError, read_state

MUTANTS = 600  # per kind
SECONDS = 10  # per kind, all mutants together
SEED = 20261130

CONFIG = TrainConfig().to_dict()
METRICS = {"test_accuracy": 0.9924, "test_loss": 0.0227, "test_images": 10000, "epochs": 2,
           "history": [{"epoch": 1, "seconds": 64.6, "accuracy": 0.79, "loss": 0.66, "val_accuracy": 0.97,
                        "val_loss": 0.086}], "parameters": 230000, "config": CONFIG, "model_sha256": "ab" * 32}
MODEL_JSON = {  # as tensorflowjs_converter writes a graph model, topology cut to one node
    "format": "graph-model", "generatedBy": "2.19.0", "convertedBy": "TensorFlow.js Converter v4.22.0",
    "signature": {"inputs": {"image:0": {"name": "image:0", "dtype": "DT_FLOAT", "tensorShape": {
        "dim": [{"size": "-1"}, {"size": "28"}, {"size": "28"}, {"size": "1"}]}}},
        "outputs": {"probabilities": {"name": "Identity_1:0", "dtype": "DT_FLOAT", "tensorShape": {
            "dim": [{"size": "-1"}, {"size": "11"}]}}, "features": {"name": "Identity:0", "dtype": "DT_FLOAT",
                                                                    "tensorShape": {"dim": [{"size": "-1"}, {"size": "128"}]}}}},
    "modelTopology": {"node": [{"name": "image", "op": "Placeholder"}]},
    "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "w", "shape": [3, 3, 1, 32],
                                                                        "dtype": "float32"}]}],
}
LATEST = {"epoch": 2, "file": "state-epoch002.npz", "config": CONFIG, "replicas": 1,
          "history": METRICS["history"], "train_seconds": 117.1}


def odd_value(rng: random.Random):
    """A JSON value of a random type, size or extremity."""
    return rng.choice([
        None, True, False, 0, -1, 1, 2**31, -(2**63), 10**400, 0.5, -0.0, 1e308, float("nan"), float("inf"), "",
        "x" * rng.randint(1, 5000), "../../etc/passwd", "/etc/passwd", "state-epoch001.npz", "\x00", "é\ud800"[:1],
        [], [1, 2], [[[]]], {}, {"a": {}}, [None] * 50, rng.random(), rng.randint(-10**6, 10**6),
    ])


def mutate_structure(value, rng: random.Random):
    """`value` (a JSON tree) with one node replaced, deleted or given a new key."""
    value = copy.deepcopy(value)
    node, path = value, []
    while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return odd_value(rng) if rng.random() < 0.3 else {**value, "extra": odd_value(rng)} if isinstance(value, dict) else value
    parent, key = path[-1]
    action = rng.random()
    if action < 0.6:
        parent[key] = odd_value(rng)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[f"{key}_"] = odd_value(rng)
    else:
        parent.append(odd_value(rng))
    return value


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        kind = rng.randrange(5)
        if kind == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif kind == 2:
            del data[at:at + rng.randint(1, 16)]
        elif kind == 3:
            del data[at:]
        else:
            data[at:at] = data[at:at + rng.randint(1, 64)] * rng.randint(1, 50)
    return bytes(data)


def mutants(seed_value, rng: random.Random):
    """MUTANTS byte strings: half mutated bytes of the dumped seed, half valid JSON of a mutated tree."""
    original = json.dumps(seed_value, indent=1).encode()
    for i in range(MUTANTS):
        if i % 2:
            yield json.dumps(mutate_structure(seed_value, rng), allow_nan=True).encode()
        else:
            yield mutate_bytes(original, rng)


def read_metrics(folder: Path):
    return _read_artifacts(folder, MIN_ACCURACY)


def read_config(folder: Path):
    return read_train_config(folder / "settings.json")


def read_model_json(folder: Path):
    return check_model_shape(folder / "tfjs" / "model.json")


KINDS = {  # kind -> (seed value, file it is written to, reader(folder), the reader's own error)
    "metrics.json": (METRICS, "metrics.json", read_metrics, BuildError),
    "model.json": (MODEL_JSON, "tfjs/model.json", read_model_json, BuildError),
    "settings (--config)": (CONFIG, "settings.json", read_config, ConfigFileError),
    "settings in a metrics.json (--config, sweep --base)": (METRICS, "settings.json", read_config, ConfigFileError),
    "latest.json": (LATEST, "checkpoint/latest.json", lambda folder: read_state(folder / "checkpoint"), ResumeError),
}


@pytest.mark.parametrize("kind", KINDS)
def test_fuzzed_file_parses_or_fails_in_one_line(tmp_path, kind):
    seed_value, name, reader, error = KINDS[kind]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{SEED}-{kind}")
    path.write_bytes(json.dumps(seed_value).encode())
    reader(tmp_path)  # the unmutated file is read without a word
    started, outcomes = time.perf_counter(), {"read": 0, "refused": 0}
    for i, data in enumerate(mutants(seed_value, rng)):
        path.write_bytes(data)
        try:
            reader(tmp_path)
            outcomes["read"] += 1
        except error as err:
            message = str(err)
            assert message.startswith(f"{path}") or message.startswith("nothing to resume"), (i, data[:200], message)
            assert "\n" not in message and len(message) < 1000, (i, data[:200], message)
            outcomes["refused"] += 1
    assert time.perf_counter() - started < SECONDS, f"{MUTANTS} mutants took longer than {SECONDS} s"
    assert sum(outcomes.values()) >= 500 and outcomes["refused"] >= 250, outcomes
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [name], "nothing written"
