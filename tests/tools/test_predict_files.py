"""pipeline.tools.predict.predict_files in process, with a small real Keras model that tells a bar (a 1) from a ring
(a 0): each digit of each image gets its own probabilities, in reading order, however many digits each image holds;
and the one-line refusals of the model plumbing. (test_predict.py reads real digits with the trained model.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline import calibration
from pipeline.contract import IMAGE_SIZE, NOT_A_DIGIT, NUM_CLASSES
from pipeline.tools.predict import PredictError, image_to_digits, predict_files, to_json
from tests.helpers import png_claiming



def bar_or_ring_model(path):
    """A Flatten + Dense softmax saved to `path`: ink in the middle columns says 1, ink at the sides says 0, ink
    across the middle rows says not a digit (a dash)."""
    import keras

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1))
    model = keras.Model(inputs, keras.layers.Dense(NUM_CLASSES, activation="softmax")(keras.layers.Flatten()(inputs)))
    kernel = np.zeros((IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES), np.float32)
    kernel[:, 12:16, 1] = 0.3
    kernel[:, :10, 0] = kernel[:, 18:, 0] = 0.3
    kernel[12:16, :, NOT_A_DIGIT] = 0.6
    model.layers[-1].set_weights([kernel.reshape(-1, NUM_CLASSES), np.zeros(NUM_CLASSES, np.float32)])
    model.save(path)
    return model


def ring(ink, left, top, size, pen=4):
    ink[top : top + size, left : left + size] = 255
    ink[top + pen : top + size - pen, left + pen : left + size - pen] = 0


def write(path, ink):
    Image.fromarray(255 - ink).save(path)  # dark ink on white paper
    return path


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bar-or-ring")
    bar_or_ring_model(folder / "model.keras")
    return folder


def test_each_digit_of_each_image_gets_its_own_probabilities_in_reading_order(artifacts, tmp_path):
    ten = np.zeros((60, 120), np.uint8)
    ten[10:50, 20:25] = 255
    ring(ten, 50, 10, 40)
    one = np.zeros((60, 60), np.uint8)
    one[10:50, 28:33] = 255
    hundred_one = np.zeros((60, 200), np.uint8)
    hundred_one[10:50, 20:25] = 255
    ring(hundred_one, 50, 10, 40)
    hundred_one[10:50, 120:125] = 255
    paths = [write(tmp_path / "10.png", ten), write(tmp_path / "1.png", one), write(tmp_path / "101.png", hundred_one)]
    results = predict_files(paths, artifacts)

    assert [r["image"] for r in results] == [str(p) for p in paths]
    assert [r["number"] for r in results] == ["10", "1", "101"]
    assert [[d["digit"] for d in r["digits"]] for r in results] == [[1, 0], [1], [1, 0, 1]]
    for path, result in zip(paths, results):
        inputs = image_to_digits(path)[0]
        assert [d["box"] for d in result["digits"]] == [list(box) for _, box in inputs]
        for digit in result["digits"]:
            p = np.array(digit["probabilities"])
            assert p.shape == (NUM_CLASSES,) and p.sum() == pytest.approx(1, abs=1e-5)
            assert {k: digit[k] for k in ("shown", "sure", "between")} == calibration.judge(p)
            assert digit["sure"] and p.max() > 0.9
        assert result["polarity"] == "dark-on-light" and result["doubt"] == ""
    # an image of one digit gives that digit's reading at the top; a number does not
    assert results[1]["digit"] == 1 and results[1]["probabilities"] == results[1]["digits"][0]["probabilities"]
    assert results[0]["digit"] is None and results[0]["probabilities"] is None
    assert json.loads(to_json(results)) == results and to_json(results).startswith('[\n  {\n    "image"')


def test_a_drawing_that_is_no_digit_is_shown_as_a_question_mark_and_said(artifacts, tmp_path):
    dash = np.zeros((40, 80), np.uint8)
    dash[16:24, 10:70] = 255
    (result,) = predict_files([write(tmp_path / "dash.png", dash)], artifacts)
    assert result["number"] == "?" and not result["digits"][0]["sure"]
    assert result["doubt"] == "That does not look like a digit."
    assert result["digit"] == int(np.argmax(result["probabilities"][:10]))  # the likeliest digit, though not shown


def test_an_unknown_runtime_is_refused_before_any_image_is_read(tmp_path):
    with pytest.raises(PredictError, match=r"^--runtime: expected one of keras, tfjs, got 'onnx'$"):
        predict_files([tmp_path / "not-read.png"], tmp_path, runtime="onnx")


def test_a_missing_or_broken_model_is_refused_naming_it(tmp_path):
    digit = np.zeros((40, 40), np.uint8)
    digit[5:35, 18:22] = 255
    path = write(tmp_path / "1.png", digit)
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'model.keras'}: no trained model \(run `pipeline train` first\)$"):
        predict_files([path], tmp_path)
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'model.keras'}: not a readable Keras model"):
        predict_files([path], tmp_path)
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'tfjs' / 'model.json'}: no tfjs model \(run `pipeline export` first\)$"):
        predict_files([path], tmp_path, runtime="tfjs")


# ---------------------------------------------------------------- read_ink's thresholds, each at its edge


def test_a_border_of_alpha_exactly_half_is_opaque_paper_and_a_grey_border_of_128_is_light():
    from pipeline.tools.predict import read_ink

    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[..., 3] = 128  # a border exactly TRANSPARENT_BORDER opaque: paper, not a transparent canvas
    rgba[10:40, 20:30] = (0, 0, 0, 255)
    assert read_ink(Image.fromarray(rgba, "RGBA")).polarity != "alpha"
    grey = np.full((50, 50), 128, np.uint8)  # a border exactly mid-grey counts as light paper
    grey[10:40, 20:30] = 0
    assert read_ink(Image.fromarray(grey, "L")).polarity == "dark-on-light"


def test_a_contrast_of_exactly_min_contrast_is_ink_and_one_less_is_blank():
    from pipeline.tools.predict import MIN_CONTRAST, read_ink

    for contrast, blank in ((MIN_CONTRAST, False), (MIN_CONTRAST - 1, True)):
        grey = np.full((50, 50), 255, np.uint8)
        grey[10:40, 20:30] = 255 - contrast
        assert (read_ink(Image.fromarray(grey, "L")).ink.max() == 0) == blank, contrast


def test_an_image_of_exactly_max_pixels_is_decoded_and_one_more_row_is_refused(tmp_path):
    """The bound holds at its edge: 10000 x 5000 pixels passes the header check (then fails to decode:
    the file holds almost no data), 10000 x 5001 is refused from the header."""
    (tmp_path / "at.png").write_bytes(png_claiming(10_000, 5_000))
    with pytest.raises(PredictError, match=r"at.png: broken image data"):
        image_to_digits(tmp_path / "at.png")
    (tmp_path / "over.png").write_bytes(png_claiming(10_000, 5_001))
    with pytest.raises(PredictError, match=r"over.png: 10000x5001 pixels \(50 megapixels\); predict reads images of "
                                           r"up to 50 megapixels$"):
        image_to_digits(tmp_path / "over.png")


@pytest.mark.parametrize("mode, kind", [("I", "integer"), ("F", "float")])
def test_32_bit_pixels_are_refused_naming_their_kind(tmp_path, mode, kind):
    Image.new(mode, (20, 20)).save(tmp_path / "deep.tif")
    with pytest.raises(PredictError, match=rf"deep.tif: 32-bit {kind} pixels are not read; save it with 8 or 16 bits"):
        image_to_digits(tmp_path / "deep.tif")


def test_grey_with_alpha_is_read_by_its_alpha_as_a_canvas_capture_is(tmp_path):
    from pipeline.tools.predict import open_image, read_ink

    la = np.zeros((40, 40, 2), np.uint8)
    la[10:30, 18:22] = (30, 200)  # dark ink, mostly opaque, on a transparent background
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    ink = read_ink(*open_image(tmp_path / "la.png"))
    assert ink.polarity == "alpha" and np.array_equal(ink.ink, la[..., 1])
