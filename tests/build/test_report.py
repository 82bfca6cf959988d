"""The model report's data: evaluation and architecture at export, report.json and the digit sprite at build."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from pipeline.artifacts import ARCHITECTURE_FILE, EVALUATION_FILE
from pipeline.contract import NOT_A_DIGIT, NUM_CLASSES
from pipeline.build.report import (
    GRID_DIGITS, MISTAKES, REPORT_JSON, SPRITE_FILE, architecture, evaluation, page_report, sprite_png, write_report,
)
from tests.helpers import quiet


N = 2000  # real MNIST test digits used by the pure tests
NOT_DIGITS = np.arange(50, N, 97)  # read as not a digit by the made-up probabilities


def pixels_of(digit: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(digit["pixels"]), dtype=np.uint8).reshape(28, 28)


@pytest.fixture(scope="module")
def predictions(mnist):
    """Real test labels and images with made-up probabilities: right on most digits,
    wrong with known confidences on every 97th (confidence grows with the index), and
    NOT_DIGITS read as not a digit, less sure than any wrong digit."""
    y = mnist.y_test[:N].astype(np.int64)
    probs = np.full((N, NUM_CLASSES), 0.01, dtype=np.float32)
    probs[np.arange(N), y] = 0.9
    wrong = np.arange(0, N, 97)
    for rank, i in enumerate(wrong):
        confidence = 0.5 + 0.4 * rank / len(wrong)
        probs[i] = (1 - confidence) / (NUM_CLASSES - 1)
        probs[i, (y[i] + 1) % 10] = confidence
    probs[NOT_DIGITS] = 0.055
    probs[NOT_DIGITS, NOT_A_DIGIT] = 0.45
    return y, probs, mnist.x_test[:N], wrong


@pytest.fixture(scope="module")
def evaluated(predictions):
    y, probs, images, _ = predictions
    return evaluation(y, probs, images, runtime="test")


def test_evaluation_counts_every_image_once(evaluated, predictions):
    y, _, _, wrong = predictions
    matrix = np.array(evaluated["confusion_matrix"])
    assert matrix.shape == (10, NUM_CLASSES) and matrix.sum() == N
    assert matrix[:, NOT_A_DIGIT].sum() == len(NOT_DIGITS)
    assert matrix.sum(1).tolist() == np.bincount(y, minlength=10).tolist()
    assert np.trace(matrix) == N - len(wrong) - len(NOT_DIGITS)
    assert evaluated["accuracy"] == pytest.approx(1 - (len(wrong) + len(NOT_DIGITS)) / N)
    for d, row in enumerate(evaluated["per_class"]):
        assert row["recall"] == pytest.approx(matrix[d, d] / matrix[d].sum())
        assert row["precision"] == pytest.approx(matrix[d, d] / matrix[:, d].sum())


def test_mistakes_are_the_most_confident_wrong_predictions(evaluated, predictions):
    y, probs, images, wrong = predictions
    mistakes = evaluated["mistakes"]
    assert len(mistakes) == MISTAKES
    assert [m["index"] for m in mistakes] == list(wrong[::-1][:MISTAKES])  # the later, the more confident
    confidences = [m["confidence"] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    for m in mistakes:
        assert m["true"] == y[m["index"]] != m["predicted"] == probs[m["index"]].argmax()
        assert m["confidence"] == pytest.approx(probs[m["index"]].max())
        np.testing.assert_array_equal(pixels_of(m), images[m["index"]])


def test_sample_is_fixed_random_digits_with_their_predictions(evaluated, predictions):
    y, probs, images, _ = predictions
    sample = evaluated["sample"]
    indices = [d["index"] for d in sample]
    assert len(set(indices)) == GRID_DIGITS and indices == sorted(indices)
    assert indices != list(range(GRID_DIGITS)), "picked at random, not the first ones"
    assert indices == [d["index"] for d in evaluation(y, probs, images, "again")["sample"]]
    for d in sample:
        assert d["true"] == y[d["index"]] and d["predicted"] == probs[d["index"]].argmax()
        np.testing.assert_array_equal(pixels_of(d), images[d["index"]])


def test_architecture_lists_the_real_models_layers():
    from pipeline.config import ModelConfig
    from pipeline.train.model import build_model

    model = build_model()
    filters = ModelConfig().filters[0]
    arch = architecture(model)
    assert arch["parameters"] == model.count_params() == sum(layer["parameters"] for layer in arch["layers"])
    assert 0 < arch["trainable_parameters"] < arch["parameters"]  # batch norm keeps running statistics
    by_name = {layer["name"]: layer for layer in arch["layers"]}
    assert by_name["image"]["output_shape"] == [None, 28, 28, 1]
    assert by_name["c1_conv"]["output_shape"] == [None, 26, 26, filters]
    assert by_name["c1_conv"]["parameters"] == 3 * 3 * 1 * filters  # no bias: batch norm follows
    assert by_name["probabilities"]["output_shape"] == [None, NUM_CLASSES]
    assert arch["layers"][-1]["type"] == "Dense"


METRICS = {
    "test_accuracy": 0.991,
    "history": [
        {"epoch": 1, "seconds": 30.1, "loss": 0.6, "accuracy": 0.8, "val_loss": 0.1, "val_accuracy": 0.97},
        {"epoch": 2, "seconds": 29.0, "loss": 0.2, "accuracy": 0.94, "val_loss": 0.05, "val_accuracy": 0.985},
    ],
}
EXPORT = {"model_bytes": 250_000, "weight_bytes": 240_000, "quantize": "uint8", "argmax_agreement": 1.0}


def test_page_report_carries_what_the_page_draws(evaluated):
    arch = {"layers": [], "parameters": 5}
    report = page_report(METRICS, evaluated, arch, EXPORT)
    assert report["available"] and report["labels"] == [str(d) for d in range(10)] + ["?"]  # columns: the last, not a digit
    assert report["history"] == [{k: v for k, v in row.items() if k != "seconds"} for row in METRICS["history"]]
    assert report["evaluation"]["confusion_matrix"] == evaluated["confusion_matrix"]
    assert report["model"] == {"model_bytes": 250_000, "weight_bytes": 240_000, "quantize": "uint8"}
    shown = report["grid"] + report["mistakes"]
    assert [d["cell"] for d in shown] == list(range(len(shown))) == list(range(report["sprite"]["cells"]))
    assert report["licence"]["licence"] == "CC BY-SA 3.0" and "LeCun" in report["licence"]["holders"]


def test_write_report_draws_each_shown_digit_into_its_sprite_cell(evaluated, predictions, tmp_path):
    _, _, images, _ = predictions
    tfjs = tmp_path / "tfjs"
    tfjs.mkdir()
    (tfjs / EVALUATION_FILE).write_text(json.dumps(evaluated))
    (tfjs / ARCHITECTURE_FILE).write_text(json.dumps({"layers": [], "parameters": 5}))
    out = tmp_path / "dist"
    out.mkdir()
    write_report(tfjs, METRICS, EXPORT, out, log=quiet)
    report = json.loads((out / REPORT_JSON).read_text())
    assert "pixels" not in report["sprite"], "the pixels go into the PNG, not the JSON"
    sprite = np.asarray(Image.open(out / SPRITE_FILE))
    assert sprite.shape == (28, 28 * report["sprite"]["cells"]) and sprite.dtype == np.uint8
    for d in report["grid"] + report["mistakes"]:
        np.testing.assert_array_equal(sprite[:, 28 * d["cell"] : 28 * (d["cell"] + 1)], images[d["index"]])


def test_artefacts_without_evaluation_give_a_report_that_says_so(tmp_path):
    messages = []
    write_report(tmp_path, METRICS, {}, tmp_path, log=messages.append)
    report = json.loads((tmp_path / REPORT_JSON).read_text())
    assert report["available"] is False and "run `pipeline export` again" in report["reason"]
    assert not (tmp_path / SPRITE_FILE).exists()
    assert len(messages) == 1 and EVALUATION_FILE in messages[0]


def test_sprite_png_is_a_valid_greyscale_png():
    cells = [base64.b64encode(np.full(784, v, dtype=np.uint8).tobytes()).decode() for v in (0, 128, 255)]
    image = Image.open(io.BytesIO(sprite_png(cells)))
    image.load()  # decodes: checks every chunk's CRC
    assert image.mode == "L" and image.size == (84, 28)
    assert [image.getpixel((28 * i + 5, 7)) for i in range(3)] == [0, 128, 255]
    with pytest.raises(ValueError, match="sprite cell 0: 3 pixels"):
        sprite_png([base64.b64encode(b"abc").decode()])


# ---------------------------------------------------------- with the real export
def test_export_evaluates_the_shipped_tfjs_model_on_all_test_images(evaluated_artifacts, mnist):
    tfjs = evaluated_artifacts / "tfjs"
    result = json.loads((tfjs / EVALUATION_FILE).read_text())
    export_report = json.loads((tfjs / "export.json").read_text())
    matrix = np.array(result["confusion_matrix"])
    assert matrix.sum() == result["images"] == 10000
    assert matrix.sum(1).tolist() == np.bincount(mnist.y_test, minlength=10).tolist()
    assert result["accuracy"] == pytest.approx(export_report["tfjs_test_accuracy"])  # the check's own predictions
    assert "TensorFlow.js" in result["runtime"]
    for d in result["mistakes"] + result["sample"]:
        assert d["true"] == mnist.y_test[d["index"]]
        np.testing.assert_array_equal(pixels_of(d), mnist.x_test[d["index"]])
    assert all(m["true"] != m["predicted"] for m in result["mistakes"])
    assert len(result["mistakes"]) == min(MISTAKES, 10000 - np.trace(matrix))


def test_export_mistakes_are_mistakes_of_the_keras_model_too(evaluated_artifacts):
    """The tfjs model's most confident mistakes: Keras reads those images the same way."""
    import keras

    result = json.loads((evaluated_artifacts / "tfjs" / EVALUATION_FILE).read_text())
    images = np.stack([pixels_of(m) for m in result["mistakes"]])[..., None].astype("float32") / 255
    model = keras.saving.load_model(evaluated_artifacts / "model.keras", compile=False)
    keras_pred = model.predict(images, verbose=0).argmax(1)
    assert keras_pred.tolist() == [m["predicted"] for m in result["mistakes"]]


def test_export_architecture_matches_the_trained_model(evaluated_artifacts):
    metrics = json.loads((evaluated_artifacts / "metrics.json").read_text())
    arch = json.loads((evaluated_artifacts / "tfjs" / ARCHITECTURE_FILE).read_text())
    assert arch["parameters"] == metrics["parameters"]
    assert arch["layers"][0]["output_shape"] == [None, 28, 28, 1] and arch["layers"][-1]["output_shape"] == [None, NUM_CLASSES]


class _Urls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [(tag, v) for k, v in attrs if k in ("src", "href") and v]


def test_build_writes_the_report_page_with_relative_urls(report_dist, evaluated_artifacts):
    for rel in ["report.html", REPORT_JSON, SPRITE_FILE, "css/report.css", "js/report/main.js",
                "js/report/views.js", "js/report/charts.js"]:
        assert (report_dist / rel).is_file(), rel
    report = json.loads((report_dist / REPORT_JSON).read_text())
    metrics = json.loads((evaluated_artifacts / "metrics.json").read_text())
    assert report["available"] and len(report["history"]) == metrics["epochs"]
    assert report["model"]["model_bytes"] == json.loads((evaluated_artifacts / "tfjs" / "export.json").read_text())["model_bytes"]
    parser = _Urls()
    parser.feed((report_dist / "report.html").read_text())
    for tag, url in parser.urls:
        if tag == "a" and url.startswith("https://"):
            continue  # the licence link is navigation, not a request
        assert not url.startswith(("/", "http:", "https:", "//")), f"{tag} {url} is not relative"
        assert (report_dist / url.split("?")[0]).exists() or url == "./", f"{url} is not in dist/"
    index = _Urls()
    index.feed((report_dist / "index.html").read_text())
    assert ("a", "report.html") in index.urls, "the drawing page links to the report"
