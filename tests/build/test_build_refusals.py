"""`pipeline build` refuses, in one line naming the flag or file and before it writes or moves anything:
an --out it must not replace (an input, a folder holding or inside one, a folder that is not empty and
not a previous build, a file), corrupt artefacts (bad JSON, wrong types, missing keys), two artefacts
describing different models, and a model below the 95 % floor unless --allow-weak.

The cases run on a stand-in artefacts folder: a tfjs/model.json with the page's signature, export.json
and the adapt files (small but whole), which is all the build reads before these checks. The --out cases
run the real `python -m pipeline build` side by side; the corrupt artefacts, some thirty, run the build in
process, where each must raise the BuildError or ArtifactError that the CLI prints as its one line (two of
them also through the real CLI). The --allow-weak case builds the real model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.artifacts import ArtifactError
from pipeline.build import site
from pipeline.contract import NUM_CLASSES
from tests.helpers import NODE_MODULES, SITE, TEMPLATE, check_one_line, finished, start_cli

SIGNATURE = {"signature": {
    "inputs": {"image": {"tensorShape": {"dim": [{"size": "-1"}, {"size": "28"}, {"size": "28"}, {"size": "1"}]}}},
    "outputs": {"probabilities": {"tensorShape": {"dim": [{"size": "-1"}, {"size": str(NUM_CLASSES)}]}},
                "features": {"tensorShape": {"dim": [{"size": "-1"}, {"size": "2"}]}}},
}}
SHARD = "group1-shard1of1.bin"
TOPOLOGY = {"modelTopology": {"node": [{"name": "image", "op": "Placeholder"}]}}
NETWORK = {"layers": [{"name": "image", "kind": "input", "node": "image", "shape": [28, 28, 1]}]}
MANIFEST = {"weightsManifest": [{"paths": [SHARD], "weights": [{"name": "w", "shape": [2], "dtype": "float32"}]}]}
METRICS = {"test_accuracy": 0.99, "history": []}
EXPORT = {"features_version": "v1"}
BLOCK = {"node": "image", "relu": True, "inputs": 4, "directions": 1, "seed": 1, "factor": 1.0, "scale": 0.1}
ADAPT = {"features_version": "v1", "features": 2, "classes": NUM_CLASSES, "weights": [[0.0] * NUM_CLASSES] * 2,
         "bias": [0.0] * NUM_CLASSES,
         "replay": {"count": 1, "scale": 1.0}, "block": BLOCK}


def stand_in(folder: Path, files: dict[str, bytes | dict | list] | None = None) -> Path:
    """An artefacts folder with a model.json of the page's signature, metrics.json, and `files` on top."""
    files = {"tfjs/model.json": {**SIGNATURE, **MANIFEST, **TOPOLOGY}, f"tfjs/{SHARD}": bytes(8), "metrics.json": METRICS,
             "tfjs/export.json": EXPORT, "tfjs/adapt.json": ADAPT, "tfjs/adapt.bin": bytes(4),
             "tfjs/network.json": NETWORK, "tfjs/network.png": bytes(8), **(files or {})}
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_cases(cases: dict[str, tuple[Path, list[str], list[str]]]) -> list[str]:
    """Run each case's `pipeline build ARGS` in its folder side by side; the failures, as text."""
    processes = {name: start_cli("build", *SITE, *args, cwd=cwd) for name, (cwd, args, _) in cases.items()}  # args win
    failures = []
    for name, process in processes.items():
        try:
            check_one_line(*finished(process), cases[name][2])
        except AssertionError as err:
            failures.append(f"{name}: {err}")
    return failures


def test_build_refuses_an_out_it_must_not_replace(tmp_path):
    """Before: --out artifacts, --out ., --out site_template or --out ~ was moved aside and deleted.
    Every --out here is inside tmp_path (the template too is a copy), so even a build that wrongly went
    ahead could not reach a folder outside the test's own."""
    work = stand_in(tmp_path / "project", {"model.keras": b"the user's model", "notes.txt": b"the user's notes"})
    (work / "mine").mkdir()
    (work / "mine" / "thesis.tex").write_text("a user's work")
    (work / "a-file").write_text("a file")
    shutil.copytree(TEMPLATE, work / "template")
    before = snapshot(tmp_path)
    cases = {
        "the artefacts folder": (work, ["--artifacts", ".", "--out", "."], ["--out .", "holds the build's input"]),
        "the artefacts folder by name": (tmp_path, ["--artifacts", "project", "--out", "project"], ["--out project", "holds"]),
        "the folder above the artefacts": (work, ["--artifacts", ".", "--out", ".."], ["--out ..", "holds"]),
        "the tfjs folder": (work, ["--artifacts", ".", "--out", "tfjs"], ["--out tfjs", "is the build's input tfjs"]),
        "inside the tfjs folder": (work, ["--artifacts", ".", "--out", "tfjs/site"], ["--out tfjs/site", "is inside"]),
        "the template": (work, ["--artifacts", ".", "--template", "template", "--out", "template"],
                         ["--out template", "is the build's input template"]),
        "inside the template": (work, ["--artifacts", ".", "--template", "template", "--out", "template/dist"],
                                ["--out template/dist", "is inside the build's input template"]),
        "a folder of the user's": (work, ["--artifacts", ".", "--out", "mine"],
                                   ["--out mine", "not empty and not a previous build (no .pipeline-build in it)"]),
        # `--out ~` as the shell expands it, for a project in the home folder; a stand-in home, never the real one
        "the home folder": (work, ["--artifacts", ".", "--out", str(tmp_path)], [f"--out {tmp_path}", "holds"]),
        "a file": (work, ["--artifacts", ".", "--out", "a-file"], ["'--out'", "'a-file' is a file"]),
    }
    assert run_cases(cases) == []
    assert snapshot(tmp_path) == before, "nothing moved, changed or written"


# file (relative to the artefacts folder) -> (its content, fragment of the one line after the file's name)
CORRUPT = {
    "model.json not JSON": ("tfjs/model.json", b'{"signature": ', "not valid JSON"),
    "model.json a list": ("tfjs/model.json", [], "not a tfjs graph model with one input and the outputs"),
    "model.json without features": ("tfjs/model.json", {"signature": {**SIGNATURE["signature"], "outputs": {
        "probabilities": SIGNATURE["signature"]["outputs"]["probabilities"]}}}, "the outputs 'probabilities' and 'features'"),
    "model.json dims not numbers": ("tfjs/model.json", json.loads(json.dumps(SIGNATURE).replace('"28"', '"wide"')),
                                    "not a tfjs graph model"),
    "model.json not UTF-8": ("tfjs/model.json", b'{"signature": "\xfe"}', "not UTF-8 text"),
    "metrics.json a list": ("metrics.json", [0.99], "the top level is not a JSON object"),
    "metrics.json accuracy a string": ("metrics.json", {"test_accuracy": "99%"}, "'test_accuracy' missing or not a number"),
    "metrics.json history not a list": ("metrics.json", {**METRICS, "history": {}}, "'history' missing or not a list"),
    "export.json not JSON": ("tfjs/export.json", b"\x00\x01", "not valid JSON"),
    "export.json sizes as text": ("tfjs/export.json", {**EXPORT, "model_bytes": "big"}, "'model_bytes' missing or not int"),
    "export.json of an older export": ("tfjs/export.json", {"quantize": "uint8"}, "no features_version (an older export)"),
    "adapt.json of other features": ("tfjs/adapt.json", {**ADAPT, "features_version": "v0"}, "written for other features"),
    "adapt.json weights cut short": ("tfjs/adapt.json", {**ADAPT, "weights": [[0.0] * 10]}, f"weights are not 2×{NUM_CLASSES} finite"),
    "adapt.json without its replay": ("tfjs/adapt.json", {**ADAPT, "replay": 5}, "replay. is not a JSON object"),
    "adapt.bin cut short": ("tfjs/adapt.bin", b"\0", "1 bytes, expected 4 (1 replayed images of 3 features and a label"),
    "adapt.json's replay at scale 1e300": ("tfjs/adapt.json", {**ADAPT, "replay": {"count": 1, "scale": 1e300}},
                                           "replay of 1 digits at scale 1e+300; the page needs at least one, and features of at most"),
    "adapt.json's replay of no digits": ("tfjs/adapt.json", {**ADAPT, "replay": {"count": 0, "scale": 0.1}}, "replay of 0 digits"),
    "adapt.json of another class count": ("tfjs/adapt.json", {**ADAPT, "classes": 10, "weights": [[0.0] * 10] * 2, "bias": [0.0] * 10},
                                          f"a last layer of 2 features × 10 classes; the model has 2 features and the page {NUM_CLASSES}"),
    "adapt.json of other features than the model's": ("tfjs/adapt.json", {**ADAPT, "features": 3, "weights": [[0.0] * NUM_CLASSES] * 3},
                                                      "a last layer of 3 features"),
    "adapt.bin with a label past the classes": ("tfjs/adapt.bin", bytes([0, 0, 0, NUM_CLASSES]), f"a replayed digit labelled {NUM_CLASSES}"),
    "adapt.json's block reading a node the graph lacks": ("tfjs/adapt.json", {**ADAPT, "block": {**BLOCK, "node": "gone"}},
                                                          "its block reads the graph node 'gone', which model.json lacks"),
    "adapt.json's block on no directions": ("tfjs/adapt.json", {**ADAPT, "block": {**BLOCK, "directions": 0}},
                                            "a block of 4 values on 0 directions"),
    "adapt.json's block without its seed": ("tfjs/adapt.json", {**ADAPT, "block": {**BLOCK, "seed": None}},
                                            "'block.seed' missing or not int"),
    "model.json naming a weight file outside": ("tfjs/model.json", {**SIGNATURE, "weightsManifest": [
        {**MANIFEST["weightsManifest"][0], "paths": ["../metrics.json"]}]}, "lists the weight file '../metrics.json'"),
    "model.json without a weight manifest": ("tfjs/model.json", SIGNATURE, "no readable weightsManifest"),
    "a weight file of the wrong size": (f"tfjs/{SHARD}", bytes(7), "its group holds 7 bytes, model.json's weights need 8"),
    "evaluation.json cut short": ("tfjs/evaluation.json", b'{"images": 10000, "accur', "not valid JSON"),
    "evaluation.json without mistakes": ("tfjs/evaluation.json", {"images": 1, "accuracy": 0.9, "loss": 0.1},
                                         "'per_class' missing or not a list"),
    "architecture.json layers as text": ("tfjs/architecture.json", {"layers": "conv", "parameters": 5},
                                         "'layers' missing or not a list"),
    "architecture.json a layer without its type": ("tfjs/architecture.json", {"layers": [{"name": "c1"}], "parameters": 5},
                                                   "'layers[0].type' missing or not str"),
    "network.json of another model": ("tfjs/network.json", {"layers": [{**NETWORK["layers"][0], "node": "gone"}]},
                                      "names the graph node 'gone', which model.json lacks"),
    "network.json without layers": ("tfjs/network.json", {"layers": {}}, "network.json: no list of layers"),
    "two models": ("tfjs/export.json", {**EXPORT, "model_sha256": "b" * 64}, "exported from another model.keras than"),
    "a weak model": ("metrics.json", {"test_accuracy": 0.1154, "history": []},
                     "test accuracy 11.54% is below the 95% floor for a model to ship"),
    "a weak export": ("tfjs/export.json", {**EXPORT, "tfjs_test_accuracy": 0.5}, "test accuracy 50.00% is below the 95% floor"),
    "no accuracy": ("metrics.json", {"history": []}, "no test accuracy recorded"),
}


def test_build_names_a_corrupt_artefact_in_one_line(tmp_path, monkeypatch):
    """Before: a corrupt evaluation.json or architecture.json was a JSONDecodeError or KeyError traceback,
    and a model at 11.54 % was built and published."""
    failures, folders = [], {}
    for i, (case, (name, content, fragment)) in enumerate(CORRUPT.items()):
        metrics = {**METRICS, "model_sha256": "a" * 64} if case == "two models" else METRICS
        folders[case] = stand_in(tmp_path / str(i), {"metrics.json": metrics, name: content})
        monkeypatch.chdir(folders[case])
        try:
            site.build(Path("."), Path("dist"), TEMPLATE, NODE_MODULES, log=lambda *_: None)
            failures.append(f"{case}: built")
        except (site.BuildError, ArtifactError) as err:  # what `pipeline build` prints as `Error: MESSAGE`
            if not str(err).startswith(f"{name}: ") or fragment not in str(err) or "\n" in str(err):
                failures.append(f"{case}: {err}")
    assert failures == []
    assert [d for d in tmp_path.glob("*/dist")] == []
    assert [d for d in tmp_path.glob("*/.dist*")] == [], "no staging folder left"
    # and as a user sees them, through the CLI: one ArtifactError (a file's JSON), one BuildError (the floor)
    cases = {case: (folders[case], ["--artifacts", ".", "--out", "dist"],
                    [f"Error: {CORRUPT[case][0]}: ", CORRUPT[case][2]]) for case in ("model.json not UTF-8", "a weak model")}
    assert run_cases(cases) == []


def test_allow_weak_builds_a_weak_model(trained_artifacts, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    for name, key in (("metrics.json", "test_accuracy"), ("tfjs/export.json", "tfjs_test_accuracy")):
        values = json.loads((artifacts / name).read_text())
        (artifacts / name).write_text(json.dumps({**values, key: 0.5}))
    args = ["--artifacts", str(artifacts), "--out", str(tmp_path / "dist")]
    check_one_line(*finished(start_cli("build", *args, *SITE, cwd=tmp_path)),
                   ["export.json: test accuracy 50.00% is below the 95% floor", "--allow-weak"])
    assert not (tmp_path / "dist").exists()
    process = start_cli("build", *args, *SITE, "--allow-weak", cwd=tmp_path)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert (tmp_path / "dist" / "index.html").is_file() and (tmp_path / "dist" / ".pipeline-build").is_file()


def test_build_publishes_no_link_and_no_missing_weight_file(tmp_path, monkeypatch):
    """A weight file, adapt file or template file that is a symbolic link would publish what it points to (a
    private key, say); a weight file model.json lists but the folder lacks would break every visit. Each is refused
    in one line naming it, before anything is written."""
    private = tmp_path / "id_rsa"
    private.write_bytes(bytes(8))
    cases = {}
    for case, name in (("a weight file", SHARD), ("network.png", "network.png"), ("adapt.bin", "adapt.bin"),
                       ("adapt.json", "adapt.json")):  # adapt.json last: each case copies its file into `private`
        folder = stand_in(tmp_path / case)
        target = folder / "tfjs" / name
        shutil.copyfile(target, private)
        target.unlink()
        target.symlink_to(private)
        cases[case] = (folder, TEMPLATE, f"tfjs/{name}: ", "symbolic link")
    folder = stand_in(tmp_path / "missing", {"tfjs/model.json": {**SIGNATURE, "weightsManifest": [
        {**MANIFEST["weightsManifest"][0], "paths": ["group9.bin"]}]}})
    cases["a missing weight file"] = (folder, TEMPLATE, "tfjs/group9.bin: ", "missing or not a regular file")
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template)
    (template / "css" / "key.css").symlink_to(private)
    cases["a link in the template"] = (stand_in(tmp_path / "linked"), template, f"{template}/css/key.css: ", "symbolic link")
    failures = []
    for case, (folder, template_dir, prefix, fragment) in cases.items():
        monkeypatch.chdir(folder)
        try:
            site.build(Path("."), Path("dist"), template_dir, NODE_MODULES, log=lambda *_: None)
            failures.append(f"{case}: built")
        except (site.BuildError, ArtifactError) as err:
            if not str(err).startswith(prefix) or fragment not in str(err):
                failures.append(f"{case}: {err}")
        assert not (folder / "dist").exists()
    assert failures == []


def test_build_publishes_only_the_weight_files_model_json_lists(trained_artifacts, tmp_path):
    """A stray file beside the model (an old shard, a link to a private file) stays out of dist/ and sw.js."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    (tmp_path / "private.txt").write_text("a secret")
    (artifacts / "tfjs" / "group9-shard1of1.bin").symlink_to(tmp_path / "private.txt")
    (artifacts / "tfjs" / "group8-shard1of1.bin").write_bytes(b"an old shard")
    out = tmp_path / "dist"
    site.build(artifacts, out, TEMPLATE, NODE_MODULES, log=lambda *_: None)
    listed = [p for group in json.loads((artifacts / "tfjs" / "model.json").read_text())["weightsManifest"] for p in group["paths"]]
    assert sorted(p.name for p in (out / "model").iterdir()) == sorted(["model.json", *listed])
    assert "group9" not in (out / "sw.js").read_text() and "group8" not in (out / "sw.js").read_text()
    assert "a secret" not in "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
