"""pipeline.preprocess (numpy) against the page's own site_template/js/preprocess.js (run in Node)."""

import json
import subprocess

import numpy as np
import pytest
from pipeline import preprocess
from pipeline.data import pen
from pipeline.preprocess import box_weights, to_mnist
from tests.helpers import ROOT, SUPERSAMPLE


JS_TO_MNIST = """
import fs from 'node:fs';
import { toMnist } from '%s';
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = cases.map(({ ink, width, height }) => {
  const image = toMnist(Uint8ClampedArray.from(ink), width, height, { imageSize: 28, fitSize: 20 });
  return image && Array.from(image);
});
process.stdout.write(JSON.stringify(out));
""" % (ROOT / "site_template" / "js" / "preprocess.js").as_uri()


def js_to_mnist(inks):
    cases = [{"ink": ink.ravel().tolist(), "width": ink.shape[1], "height": ink.shape[0]} for ink in inks]
    result = subprocess.run(["node", "--input-type=module", "-e", JS_TO_MNIST], input=json.dumps(cases),
                            capture_output=True, text=True, check=True)
    return [None if r is None else np.array(r, np.float32).reshape(28, 28) for r in json.loads(result.stdout)]


def canvas_drawing(seed, side=280):
    """An anti-aliased random scribble (the canvas alpha, 0-255) at a random size and place."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.2, 0.95) * side
    x0, y0 = rng.uniform(0, side - size, 2)
    points = [(x0 + rng.uniform(0, size), y0 + rng.uniform(0, size)) for _ in range(rng.integers(2, 7))]
    return pen.ink([points], side, side / 14, SUPERSAMPLE)


def clipped(corner: str) -> np.ndarray:
    """A heavy blob in one corner of a faint wash that fills its box: centring its mass pushes the far side
    of the wash out of the 28x28 image, so it is cut off there, and every row and column that stays has ink."""
    ink = np.full((200, 200), 5, np.uint8)
    ink[:60, :60] = 255
    return ink if corner == "top left" else ink[::-1, ::-1].copy()


def test_python_and_javascript_preprocessing_agree_exactly():
    inks = [canvas_drawing(seed) for seed in range(12)]
    inks += [np.zeros((50, 40), np.uint8), np.pad(np.full((3, 90), 255, np.uint8), 60)]  # blank; a flat bar
    inks += [clipped(corner) for corner in ("top left", "bottom right")]
    js = js_to_mnist(inks)
    for ink, from_js in zip(inks, js):
        from_py = to_mnist(ink)
        if from_js is None:
            assert from_py is None
            continue
        assert np.abs(from_py - from_js).max() <= 1e-6  # same algorithm, same float32 rounding


def test_digit_is_fit_to_20_pixels_and_centred():
    ink = np.zeros((300, 300), np.uint8)
    ink[10:110, 200:250] = 255  # a tall block in a corner
    out = to_mnist(ink)
    rows, cols = np.nonzero(out > 0)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 10
    ys, xs = np.indices(out.shape)
    assert abs((out * (xs + 0.5)).sum() / out.sum() - 14) <= 0.5
    assert abs((out * (ys + 0.5)).sum() / out.sum() - 14) <= 0.5
    assert out.max() == pytest.approx(1.0)


def test_an_asymmetric_digit_is_centred_by_its_centre_of_mass_not_its_box():
    """An "L" whose ink sits low and left: its centre of mass lands on the middle (14, 14), while the
    middle of its box does not, so centring by the box would be told apart."""
    ink = np.zeros((200, 200), np.uint8)
    ink[20:180, 30:50] = 255  # the upright
    ink[150:180, 30:150] = 255  # a long, heavy foot
    out = to_mnist(ink)
    ys, xs = np.indices(out.shape)
    assert abs((out * (xs + 0.5)).sum() / out.sum() - 14) <= 0.5
    assert abs((out * (ys + 0.5)).sum() / out.sum() - 14) <= 0.5
    rows, cols = np.nonzero(out > 0)
    box_x, box_y = (cols.min() + cols.max() + 1) / 2, (rows.min() + rows.max() + 1) / 2
    assert abs(box_x - 14) >= 2 and abs(box_y - 14) >= 2


def test_the_output_is_float32_and_centred_in_any_image_size():
    ink = np.zeros((100, 100), np.uint8)
    ink[10:90, 40:60] = 255
    for size in (28, 40):
        out = to_mnist(ink, image_size=size)
        assert out.dtype == np.float32 and out.shape == (size, size)
        ys, xs = np.indices(out.shape)
        assert abs((out * (ys + 0.5)).sum() / out.sum() - size / 2) <= 0.5
        assert abs((out * (xs + 0.5)).sum() / out.sum() - size / 2) <= 0.5


def test_ink_that_is_not_2_d_is_refused_naming_its_shape():
    with pytest.raises(ValueError, match=r"ink must be 2-D \(H, W\), got shape \(2, 3, 4\)"):
        to_mnist(np.zeros((2, 3, 4), np.uint8))


def test_a_large_drawing_filtered_a_band_of_rows_at_a_time_is_the_whole_product(monkeypatch):
    """_times_columns bounds its memory by filtering BAND_PIXELS pixels at a time: every band, in any
    shape of image, must add up to the product of the whole."""
    rng = np.random.default_rng(0)
    for shape in ((50, 8), (8, 50), (97, 13)):
        crop = rng.integers(0, 256, shape)
        weights = box_weights(shape[1], 20, max(shape))
        monkeypatch.setattr(preprocess, "BAND_PIXELS", 64)
        banded = preprocess._times_columns(crop, weights)
        assert banded.dtype == np.int64 and np.array_equal(banded, crop.astype(np.int64) @ weights), shape


def test_area_weights_conserve_mass():
    weights = box_weights(37, 20, 37)
    assert weights.dtype == np.int64  # exact integer overlaps, as the docstring promises
    assert (weights.sum(1) == 20).all()  # each source pixel spreads all of its ink
    assert weights.shape == (37, 20)
