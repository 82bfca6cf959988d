"""Seeded mutation fuzzing (tests/fuzz.py) of what `pipeline build` reads to publish a visitor's adaptation:
adapt.json and adapt.bin, checked against the model's shapes (pipeline.build.site.check_adapt_files). Each
mutation is accepted whole or refused in one ArtifactError line naming the file; nothing else, in bounded time."""

from __future__ import annotations

import json
import random

import numpy as np

from pipeline.artifacts import ADAPT_BIN, ADAPT_JSON, ArtifactError
from pipeline.build.site import TFJS_MODEL_FILE, check_adapt_files
from pipeline.contract import FEATURES_OUTPUT, NUM_CLASSES, PROBABILITIES_OUTPUT
from tests import fuzz

COUNT = 400  # mutations per file
SEED = 20261207
FEATURES, REPLAYED, DIRECTIONS = 8, 30, 5
BLOCK = {"node": "pool", "relu": True, "inputs": 12, "directions": DIRECTIONS, "seed": 1, "factor": 0.3, "scale": 0.02}
MODEL_JSON = json.dumps({"modelTopology": {"node": [{"name": "image"}, {"name": "pool"}]}})  # the graph the block reads
SHAPES = {"input": [-1, 28, 28, 1], PROBABILITIES_OUTPUT: [-1, NUM_CLASSES], FEATURES_OUTPUT: [-1, FEATURES]}
REPORT = {"features_version": "v1"}


def adapt_files() -> tuple[bytes, bytes]:
    """A whole adapt.json and adapt.bin for SHAPES's model, as `pipeline export` lays them out."""
    rng = np.random.default_rng(SEED)
    adapt = {"features_version": "v1", "features": FEATURES, "classes": NUM_CLASSES,
             "weights": rng.normal(size=(FEATURES, NUM_CLASSES)).round(4).tolist(), "bias": [0.0] * NUM_CLASSES,
             "replay": {"count": REPLAYED, "scale": 0.0244}, "block": BLOCK}
    data = np.concatenate([rng.integers(0, 256, REPLAYED * FEATURES), rng.integers(0, 256, REPLAYED * DIRECTIONS),
                           rng.integers(0, NUM_CLASSES, REPLAYED)])
    return json.dumps(adapt).encode(), data.astype(np.uint8).tobytes()


def json_value_changed(raw: bytes, rng: random.Random) -> bytes:
    """adapt.json with one value replaced by an edge value of another kind: the JSON stays valid."""
    adapt = json.loads(raw)
    edge = rng.choice([0, -1, 1e300, -1e300, 2**64, None, "8", [], {}, True, 1.5, NUM_CLASSES - 1, NUM_CLASSES + 1])
    key = rng.choice(["features", "classes", "weights", "bias", "replay", "features_version", "count", "scale", "row",
                      "block", *(f"block.{name}" for name in BLOCK)])
    if key in ("count", "scale"):
        adapt["replay"][key] = edge
    elif key.startswith("block."):
        adapt["block"][key.removeprefix("block.")] = edge
    elif key == "row":
        adapt["weights"][rng.randrange(FEATURES)] = edge
    else:
        adapt[key] = edge
    return json.dumps(adapt).encode()


def test_fuzz_adapt_json(tmp_path):
    adapt, data = adapt_files()
    (tmp_path / TFJS_MODEL_FILE).write_text(MODEL_JSON)
    (tmp_path / ADAPT_BIN).write_bytes(data)
    outcomes = fuzz.fuzz([adapt], lambda path: check_adapt_files(path.parent, REPORT, SHAPES), ArtifactError, tmp_path,
                         ADAPT_JSON, COUNT, SEED, header=120, variants=[json_value_changed])
    print(f"\nfuzz adapt.json: {dict(outcomes)}")
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes


def test_fuzz_adapt_bin(tmp_path):
    adapt, data = adapt_files()
    (tmp_path / TFJS_MODEL_FILE).write_text(MODEL_JSON)
    (tmp_path / ADAPT_JSON).write_bytes(adapt)
    outcomes = fuzz.fuzz([data], lambda path: check_adapt_files(path.parent, REPORT, SHAPES), ArtifactError, tmp_path,
                         ADAPT_BIN, COUNT, SEED + 1, header=len(data))
    print(f"\nfuzz adapt.bin: {dict(outcomes)}")
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes
