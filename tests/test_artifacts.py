"""The artefacts' readers (pipeline/artifacts.py): model.keras and metrics.json belong together (metrics.json
names the model's SHA-256, and export and evaluate refuse a pair that differs), a model.keras Keras
cannot load is one line whatever Keras raises, a zip bomb is refused before it is unpacked, and export
refuses a model below the 95 % floor. Nothing is written when they refuse.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from pipeline import artifacts
from pipeline.artifacts import ArtifactError, check_pair, file_sha256, load_keras_model
from tests.helpers import NODE_MODULES, check_one_line, finished, start_cli


def a_pair(folder: Path, model: bytes, described: bytes) -> Path:
    """model.keras holding `model`, beside a metrics.json that records the SHA-256 of `described`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(model)
    (folder / "described.keras").write_bytes(described)
    sha = file_sha256(folder / "described.keras")
    (folder / "described.keras").unlink()
    (folder / "metrics.json").write_text(json.dumps({"test_accuracy": 0.99, "history": [], "model_sha256": sha}))
    return folder


def test_a_pair_is_checked_by_the_models_hash(tmp_path):
    folder = a_pair(tmp_path / "same", b"PK the model", b"PK the model")
    assert check_pair(folder) == file_sha256(folder / "model.keras")
    old_metrics = a_pair(tmp_path / "killed", b"PK the new model", b"PK the old model")
    with pytest.raises(ArtifactError, match=r"killed/model.keras is not the model .*killed/metrics.json describes"):
        check_pair(old_metrics)
    (old_metrics / "metrics.json").write_text('{"model_sha256": 7}')
    with pytest.raises(ArtifactError, match="'model_sha256' is not a string"):
        check_pair(old_metrics)
    (old_metrics / "metrics.json").write_text('{"test_accuracy": 0.99}')  # written before hashes were recorded
    assert check_pair(old_metrics)


def test_a_run_killed_between_its_two_writes_is_refused_by_export_and_evaluate(trained_artifacts, tmp_path):
    """Train writes model.keras, then metrics.json: a kill between them leaves the new model beside the
    previous run's metrics. Simulated by the previous pair with the model replaced."""
    folder = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**metrics, "model_sha256": "0" * 64}))  # the previous model's
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    export = start_cli("export", "--artifacts", str(folder), "--node-modules", str(NODE_MODULES), cwd=tmp_path)
    evaluate = start_cli("evaluate", "--artifacts", str(folder), cwd=tmp_path)
    for process in (export, evaluate):
        check_one_line(*finished(process), [f"{folder}/model.keras is not the model {folder}/metrics.json describes",
                                            "run `pipeline train` again"])
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["artifacts"], "no staging folder"


def a_zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def claiming(path: Path, size: int) -> Path:
    """`path` (a zip of one member) with its central directory claiming `size` bytes unpacked: a zip bomb's
    header, without the bomb."""
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24: central + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(data))
    return path


def corrupt_deflate(path: Path) -> Path:
    """A .keras zip whose config.json is deflated and then damaged: zlib.error when Keras reads it."""
    a_zip(path, {"config.json": b'{"class_name": "Sequential", "config": {}}' * 50, "metadata.json": b"{}"})
    data = bytearray(path.read_bytes())
    start_of_data = 30 + len("config.json")
    data[start_of_data + 5: start_of_data + 25] = bytes(20)
    path.write_bytes(bytes(data))
    return path


BROKEN_MODELS = {  # name -> make(path): a model.keras that is not a loadable model
    "garbage members": lambda p: a_zip(p, {"config.json": b"\x00\xff not json", "model.weights.h5": b"no"}),
    "config of the wrong type": lambda p: a_zip(p, {"config.json": b"[1, 2, 3]", "metadata.json": b"{}"}),
    "an unknown layer": lambda p: a_zip(p, {"config.json": json.dumps({"class_name": "NoSuchLayer", "config": {}}).encode()}),
    "an empty zip": lambda p: a_zip(p, {}),
    "a damaged deflate stream": corrupt_deflate,
    "a zip bomb's header": lambda p: claiming(a_zip(p, {"config.json": b"{}"}), 2**32 - 1),
}


@pytest.mark.parametrize("name", BROKEN_MODELS)
def test_a_model_keras_cannot_load_is_one_line(tmp_path, name):
    path = BROKEN_MODELS[name](tmp_path / "model.keras")
    with pytest.raises(ArtifactError) as caught:
        load_keras_model(path)
    assert str(caught.value).startswith(f"{path}: not a readable Keras model (") and "\n" not in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_zip_bomb_is_refused_before_keras_unpacks_it(tmp_path, monkeypatch):
    path = claiming(a_zip(tmp_path / "model.keras", {"config.json": b"{}"}), artifacts.MAX_MODEL_BYTES + 1)
    monkeypatch.setattr("keras.saving.load_model", lambda *a, **k: pytest.fail("Keras was asked to unpack it"))
    with pytest.raises(ArtifactError, match=f"it unpacks to {artifacts.MAX_MODEL_BYTES + 1:,} bytes, more than"):
        load_keras_model(path)


def test_export_refuses_a_model_below_the_floor(tmp_path, mnist):
    """Before: {"epochs": 0} gave an 11.54 % model that export converted and the Pages workflow would deploy."""
    from pipeline.config import ExportConfig
    from pipeline.export import export
    from pipeline.train.model import build_model

    build_model().save(tmp_path / "model.keras")  # untrained: about one digit in ten
    with pytest.raises(ArtifactError, match=r"model.keras \(on 1,000 MNIST test images\): test accuracy \d+\.\d\d% "
                                            r"is below the 95% floor .* pass --allow-weak"):
        export(tmp_path, ExportConfig(parity_images=1000), node_modules=NODE_MODULES, log=lambda *a: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"], "nothing converted or written"


@pytest.mark.parametrize("value, accepted", [(10**400, True), (-(10**400), True), (1.5, True), (float("nan"), False),
                                             (float("inf"), False), (True, False), ("1", False)])
def test_a_number_field_takes_any_int_and_finite_float(tmp_path, value, accepted):
    """An int too large for a float is still a number: checking it must not crash converting it."""
    shape, path = {"n": artifacts.NUMBER}, tmp_path / "metrics.json"
    if accepted:
        artifacts.check_fields({"n": value}, shape, path)
    else:
        with pytest.raises(ArtifactError, match="'n' missing or not a number"):
            artifacts.check_fields({"n": value}, shape, path)


@pytest.mark.parametrize("accuracy", [10**400, 1.5, -0.1])
def test_an_accuracy_that_is_no_fraction_is_refused_in_one_line(tmp_path, accuracy):
    with pytest.raises(ArtifactError, match="is not a fraction from 0 to 1") as refused:
        artifacts.check_accuracy(accuracy, "metrics.json", 0.95)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


def test_artefact_json_that_is_not_a_regular_file_is_refused_before_it_is_read(tmp_path):
    """A FIFO named metrics.json (or any artefact JSON) would block read_json for ever waiting for a writer."""
    import os

    from pipeline.artifacts import read_json

    os.mkfifo(tmp_path / "metrics.json")
    with pytest.raises(ArtifactError, match=r"metrics.json: not a regular file"):
        read_json(tmp_path / "metrics.json")
