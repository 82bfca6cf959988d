"""`pipeline build` refuses a tfjs model the page cannot feed or read, naming the file and both shapes.

The wrong models are the run's real converted model.json with the signature's shapes
changed (32x32 input; 5 classes): the file the build reads, as the converter writes it,
without running the converter again for each shape.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.build.site import shape_fits
from pipeline.cli import main
from pipeline.contract import NUM_CLASSES
from tests.helpers import NODE_MODULES, ROOT

WRONG_MODELS = {  # name -> (input shape, classes, the shapes the message must name)
    "input_32x32": ((32, 32, 1), NUM_CLASSES, f"[-1, 32, 32, 1] -> [-1, {NUM_CLASSES}]"),
    "five_classes": ((28, 28, 1), 5, "[-1, 28, 28, 1] -> [-1, 5]"),
    "no_not_a_digit": ((28, 28, 1), 10, "[-1, 28, 28, 1] -> [-1, 10]"),  # a model of the ten digits only
}


def with_signature(real: Path, input_shape, classes: int, artifacts: Path) -> Path:
    """A copy of the real artefacts `real` whose tfjs/model.json declares (N, *input_shape) -> (N, classes) probabilities."""
    shutil.copytree(real / "tfjs", artifacts / "tfjs")
    shutil.copy(real / "metrics.json", artifacts / "metrics.json")
    model_json = artifacts / "tfjs" / "model.json"
    model = json.loads(model_json.read_text())
    (inp,) = model["signature"]["inputs"].values()
    out = model["signature"]["outputs"]["probabilities"]
    inp["tensorShape"]["dim"] = [{"size": str(n)} for n in (-1, *input_shape)]
    out["tensorShape"]["dim"] = [{"size": "-1"}, {"size": str(classes)}]
    model_json.write_text(json.dumps(model))
    return artifacts


@pytest.fixture(scope="module")
def wrong_artifacts(tmp_path_factory, trained_artifacts) -> dict[str, Path]:
    return {name: with_signature(trained_artifacts, shape, classes, tmp_path_factory.mktemp(name))
            for name, (shape, classes, _) in WRONG_MODELS.items()}


@pytest.mark.parametrize("name", WRONG_MODELS)
def test_build_refuses_a_model_of_the_wrong_shape(wrong_artifacts, tmp_path, name):
    artifacts = wrong_artifacts[name]
    out = tmp_path / "dist"
    out.mkdir()
    (out / "index.html").write_text("the previous good site")
    result = CliRunner().invoke(main, ["build", "--artifacts", str(artifacts), "--out", str(out),
                                       "--template", str(ROOT / "site_template"), "--node-modules", str(NODE_MODULES)])
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None))), result.output
    assert result.stderr.splitlines() == [
        f"Error: {artifacts / 'tfjs' / 'model.json'}: model maps {WRONG_MODELS[name][2]}, "
        f"the page needs [-1, 28, 28, 1] -> [-1, {NUM_CLASSES}]"
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["dist"] and (out / "index.html").read_text() == "the previous good site"


@pytest.mark.parametrize(
    "shape, fits",
    [
        ([-1, 28, 28, 1], True),
        ([1, 28, 28, 1], True),  # a fixed batch of one: the page predicts one image at a time
        ([-1, -1, -1, 1], True),  # fully convolutional: any size
        ([-1, 28, 28, 3], False),  # colour
        ([-1, 784], False),  # flattened input
        ([-1, 28, 28], False),
    ],
)
def test_open_dimensions_fit_any_size(shape, fits):
    assert shape_fits(shape, [-1, 28, 28, 1]) is fits
