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


def test_the_border_is_the_outer_ring_a_fiftieth_of_the_shorter_side_wide_and_at_least_one_pixel():
    from pipeline.tools.predict import _border

    for shape, width in (((10, 12), 1), ((30, 40), 1), ((100, 120), 2), ((150, 60), 1), ((200, 175), 4)):
        values = np.arange(shape[0] * shape[1]).reshape(shape)
        rows, cols = np.indices(shape)
        ring = (rows < width) | (rows >= shape[0] - width) | (cols < width) | (cols >= shape[1] - width)
        assert np.array_equal(_border(values), values[ring]), shape


def grey_image(paper, marks):
    """A 50 x 50 grey image of `paper` with vertical bars 4 px wide, one per grey level in `marks`."""
    grey = np.full((50, 50), paper, np.uint8)
    for k, level in enumerate(marks):
        grey[10:40, 6 + 8 * k : 10 + 8 * k] = level
    return Image.fromarray(grey, "L")


def levels(ink, bars):
    """The ink of the first `bars` bars of grey_image, then of the paper."""
    return [int(ink.ink[20, 6 + 8 * k]) for k in range(bars)] + [int(ink.ink[0, 0])]


def test_a_clean_image_keeps_its_faintest_levels_and_a_lossy_one_drops_those_within_the_noise():
    """White paper, bars of ink 255, 100 and 10 (grey 0, 155, 245). Clean (the default): the floor is the paper,
    every level is kept as it is. Lossy: the floor is 15 % of the contrast, 38.25: 10 is gone, 100 becomes
    (100 − 38.25) / (255 − 38.25) × 255 = 72.6 -> 73."""
    from pipeline.tools.predict import read_ink

    image = grey_image(255, [0, 155, 245])
    clean = read_ink(image)
    assert clean.polarity == "dark-on-light" and clean.ink.dtype == np.uint8 and clean.ink.shape == (50, 50)
    assert levels(clean, 3) == [255, 100, 10, 0]
    lossy = read_ink(image, lossy=True)
    assert levels(lossy, 3) == [255, 73, 0, 0]


def test_on_grey_paper_the_floor_and_the_stretch_start_from_the_paper():
    """Paper grey 235 (ink 20), bars of ink 220, 118 and 50 (grey 35, 137, 205); contrast 200.
    Clean: floor 20: (118 − 20) / 200 × 255 = 124.95 -> 125, (50 − 20) / 200 × 255 = 38.25 -> 38.
    Lossy: floor 20 + 0.15 × 200 = 50: (118 − 50) / 170 × 255 = 102, 50 -> 0."""
    from pipeline.tools.predict import read_ink

    image = grey_image(235, [35, 137, 205])
    assert levels(read_ink(image), 3) == [255, 125, 38, 0]
    assert levels(read_ink(image, lossy=True), 3) == [255, 102, 0, 0]


def test_marks_fainter_than_min_contrast_on_grey_paper_are_a_blank_image_of_its_size():
    """Paper grey 200 (ink 55), a mark of grey 170 (ink 85): a contrast of 30, below MIN_CONTRAST: blank."""
    from pipeline.tools.predict import read_ink

    ink = read_ink(grey_image(200, [170]))
    assert ink.polarity == "dark-on-light" and ink.ink.dtype == np.uint8 and ink.ink.shape == (50, 50)
    assert ink.ink.max() == 0


def test_grey_or_palette_images_with_alpha_are_read_by_their_alpha():
    """read_ink given a Pillow image as it is, not through open_image: LA, PA, and grey whose transparent level is
    named in its info are each ink where opaque."""
    from pipeline.tools.predict import read_ink

    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 18:22] = 200
    la = Image.fromarray(np.stack([np.full((40, 40), 30, np.uint8), alpha], -1), "LA")
    pa = Image.new("PA", (40, 40), (0, 0))
    for y, x in zip(*np.nonzero(alpha)):
        pa.putpixel((int(x), int(y)), (0, 200))
    grey = np.zeros((40, 40), np.uint8)
    grey[10:30, 18:22] = 100
    keyed = Image.fromarray(grey, "L")
    keyed.info["transparency"] = 0  # black is transparent: the mark, grey 100, is opaque
    for image, expected in ((la, alpha), (pa, alpha), (keyed, (grey > 0) * np.uint8(255))):
        ink = read_ink(image)
        assert ink.polarity == "alpha" and np.array_equal(ink.ink, expected), image.mode


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_translucent_ink_on_opaque_paper_is_flattened_onto_the_paper(mode):
    """Opaque white paper, a bar of solid black ink and one of black at alpha 128: flattened onto the paper the
    translucent bar is grey 255 × 127/255 = 127, ink 128 (± 1 for Pillow's rounding); the solid one is 255."""
    from pipeline.tools.predict import read_ink

    grey = np.full((50, 50), 255, np.uint8)
    alpha = np.full((50, 50), 255, np.uint8)
    grey[10:40, 10:15] = grey[10:40, 30:35] = 0
    alpha[10:40, 30:35] = 128
    if mode == "RGBA":
        image = Image.fromarray(np.dstack([grey, grey, grey, alpha]), "RGBA")
    else:
        image = Image.fromarray(np.dstack([grey, alpha]), "LA")
    ink = read_ink(image)
    assert ink.polarity == "dark-on-light"
    assert ink.ink[20, 12] == 255 and abs(int(ink.ink[20, 32]) - 128) <= 1 and ink.ink[0, 0] == 0


class ChosenModel:
    """Stands in for the Keras model: gives the probabilities it was made with, and notes how it was called."""

    def __init__(self, probabilities):
        self.probabilities, self.calls = np.asarray(probabilities, np.float32), []

    def predict(self, batch, **options):
        self.calls.append((batch, options))
        return self.probabilities[: len(batch)]


def ten_and_one(tmp_path):
    ten = np.zeros((60, 120), np.uint8)
    ten[10:50, 20:25] = 255
    ring(ten, 50, 10, 40)
    one = np.zeros((60, 60), np.uint8)
    one[10:50, 28:33] = 255
    return [write(tmp_path / "10.png", ten), write(tmp_path / "1.png", one)]


def test_each_digits_probabilities_are_the_models_rounded_to_six_decimals(tmp_path, monkeypatch):
    """Seven decimals each, none a tie at the seventh (float32 keeps them to within 6e-8): six are kept."""
    from pipeline.tools import predict

    rows = np.zeros((3, NUM_CLASSES))
    rows[0, [1, 7]] = 0.8765433, 0.1234567
    rows[1, [0, 6]] = 0.9012346, 0.0987654
    rows[2, [1, 2]] = 0.6543216, 0.3456784
    model = ChosenModel(rows)
    monkeypatch.setattr(predict, "load_model", lambda artifacts_dir: model)
    paths = ten_and_one(tmp_path)
    results = predict_files(paths, tmp_path)
    expected = [[0.0] * NUM_CLASSES for _ in range(3)]
    expected[0][1], expected[0][7] = 0.876543, 0.123457
    expected[1][0], expected[1][6] = 0.901235, 0.098765
    expected[2][1], expected[2][2] = 0.654322, 0.345678
    assert [d["probabilities"] for r in results for d in r["digits"]] == expected
    assert [r["number"] for r in results] == ["10", "1"] and results[1]["probabilities"] == expected[2]
    (batch, _), = model.calls
    assert batch.shape == (3, IMAGE_SIZE, IMAGE_SIZE, 1)


def test_the_keras_model_prints_no_progress_bar_to_the_output(artifacts, tmp_path, capfd):
    """predict's stdout is its table or its JSON: the model's progress bar must not land in it."""
    capfd.readouterr()
    results = predict_files(ten_and_one(tmp_path), artifacts)
    assert [r["number"] for r in results] == ["10", "1"]
    out, _ = capfd.readouterr()
    assert out == ""


def test_with_tfjs_the_exported_model_reads_the_same_inputs_and_its_failure_is_said(tmp_path, monkeypatch):
    from pipeline import export

    (tmp_path / "tfjs").mkdir()
    (tmp_path / "tfjs" / "model.json").write_text("{}")
    paths = ten_and_one(tmp_path)
    rows = np.zeros((3, NUM_CLASSES), np.float32)
    rows[:, 1] = 1.0
    calls = []

    def run(model_dir, images, node_modules):
        calls.append((model_dir, images, node_modules))
        return rows[: len(images)], np.zeros((len(images), 8), np.float32)  # (probabilities, features)
    monkeypatch.setattr(export, "predict_tfjs", run)
    results = predict_files(paths, tmp_path, runtime="tfjs", node_modules=tmp_path / "nm")
    assert [r["number"] for r in results] == ["11", "1"]
    assert [d["probabilities"] for r in results for d in r["digits"]] == [[0.0, 1.0] + [0.0] * 9] * 3
    (model_dir, images, node_modules), = calls
    assert model_dir == tmp_path / "tfjs" and node_modules == tmp_path / "nm"
    inputs = [image for path in paths for image, _ in image_to_digits(path)[0]]
    assert np.array_equal(images, np.stack(inputs)[..., None])

    def fails(model_dir, images, node_modules):
        raise export.ExportError("node: not installed; it is needed to check the converted model")
    monkeypatch.setattr(export, "predict_tfjs", fails)
    with pytest.raises(PredictError, match=r"^node: not installed; it is needed to check the converted model$"):
        predict_files(paths, tmp_path, runtime="tfjs", node_modules=tmp_path / "nm")
