"""The network view (network.html) in a real browser, on the real shipped model: every layer it shows equals
Keras' output of that layer, its hooks, what excites a channel, occlusion saliency, the drawing page's link."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from pipeline import artifacts
from pipeline.build.site import NETWORK_DIR
from tests.browser.helpers import READY, SEVEN, PageLog, draw_with_mouse, pad_box, prediction_after
from tests.helpers import NODE_MODULES, ROOT, quiet

pytestmark = pytest.mark.browser

VIEW_READY = '#network[data-ready="true"]'
SALIENCY_READY = '#saliency[data-ready="true"]'
FIXED_IMAGES = 20  # MNIST test digits 0..19
# Tolerance of the shipped model's uint8 weights: each weight is rounded to 1/255 of its tensor's range, and the
# rounding errors add up layer by layer. Every value the page shows must lie within this × the layer's largest
# Keras value (over the fixed images) of Keras' float32 output; `pipeline export` measures about two thirds of it.
TOLERANCE = 0.03


def open_view(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(VIEW_READY)


def show(page, pixels: np.ndarray) -> None:
    page.evaluate("(p) => window.networkView.show(new Uint8Array(p))", pixels.ravel().tolist())
    page.wait_for_selector(VIEW_READY)


def network_json(dist) -> dict:
    return json.loads((dist / NETWORK_DIR / artifacts.NETWORK_JSON).read_text())


def keras_layers(artifacts_dir, names: list[str], images: np.ndarray) -> dict[str, np.ndarray]:
    """Keras' outputs of the named layers on uint8 (N, 28, 28) images (the input layer: the images, 0-1)."""
    import keras

    model = artifacts.load_keras_model(artifacts_dir / artifacts.MODEL_FILE)
    x = images.astype("float32")[..., None] / 255
    inner = [name for name in names if not isinstance(model.get_layer(name), keras.layers.InputLayer)]
    values = keras.Model(model.inputs[0], [model.get_layer(name).output for name in inner]).predict(x, verbose=0)
    found = dict(zip(inner, values if isinstance(values, list) else [values]))
    return {name: np.asarray(found.get(name, x)) for name in names}


@pytest.fixture(scope="module")
def fixed_images(mnist) -> np.ndarray:
    return mnist.x_test[:FIXED_IMAGES]


def test_every_layer_equals_keras_on_twenty_test_digits(page, site_url, built_dist, trained_artifacts, fixed_images):
    open_view(page, f"{site_url}network.html")
    assert_matches_keras(page, trained_artifacts, [layer["name"] for layer in network_json(built_dist)["layers"]], fixed_images)


def assert_matches_keras(page, artifacts_dir, layers: list[str], images: np.ndarray) -> None:
    """The page's activations of every layer, image by image, within TOLERANCE of Keras'."""
    expected = keras_layers(artifacts_dir, layers, images)
    shown = []
    for pixels in images:
        show(page, pixels)
        shown.append(page.evaluate("window.networkView.activations()"))
    assert [list(s) for s in shown] == [layers] * len(images)  # every layer, in order
    for name in layers:
        page_values = np.array([s[name]["values"] for s in shown])
        keras_values = expected[name].reshape(len(images), -1)
        assert shown[0][name]["shape"] == list(expected[name].shape[1:])
        scale = np.abs(keras_values).max()
        assert np.abs(page_values - keras_values).max() <= TOLERANCE * scale, name
        if name != layers[0] and name != layers[-1]:  # the control: another image's activations are far off
            assert np.abs(np.roll(page_values, 1, axis=0) - keras_values).max() > TOLERANCE * scale, name


def test_another_architecture_shows_its_own_layers_without_a_code_change(page, tmp_path, mnist, serve):
    """A model with other filters and one more block, trained briefly, exported and built: the view shows its
    layers, named and shaped as Keras has them, and their values."""
    import keras

    from pipeline.build.site import build
    from pipeline.config import ExportConfig, ModelConfig, TrainConfig
    from pipeline.export import export
    from pipeline.train.loop import train

    model = ModelConfig(filters=(8, 12, 24), dense_units=32, extra_blocks=1)
    train(TrainConfig(epochs=1, train_limit=2000, validation_size=400, test_limit=500, batch_size=64, nondigits=0.05,
                      redrawn=0, model=model), tmp_path / "artifacts", log=quiet)
    export(tmp_path / "artifacts", ExportConfig(min_accuracy=0, min_agreement=0.9, parity_images=500, replay_per_class=10),
           node_modules=NODE_MODULES, log=quiet)
    build(tmp_path / "artifacts", tmp_path / "dist", ROOT / "site_template", NODE_MODULES, log=quiet, min_accuracy=0)
    trained = artifacts.load_keras_model(tmp_path / "artifacts" / artifacts.MODEL_FILE)
    shown_by_keras = ["image", "c1_relu", "c2_relu", "pool1", "c3_relu", "pool2", "c4_relu", "c5_relu", "dense_relu",
                      "probabilities"]
    assert [layer.name for layer in trained.layers if layer.name in shown_by_keras] == shown_by_keras
    open_view(page, f"{serve(tmp_path / 'dist')}network.html")
    assert page.locator("[data-layer]").evaluate_all("(all) => all.map((s) => s.dataset.layer)") == shown_by_keras
    assert [page.locator(f'[data-layer="{name}"] canvas').count() for name in shown_by_keras] == [1, 8, 12, 12, 24, 24, 24, 24, 32, 11]
    assert page.locator("#filters canvas").count() == 8
    assert_matches_keras(page, tmp_path / "artifacts", shown_by_keras, mnist.x_test[:5])
    assert isinstance(trained.get_layer("c5_conv"), keras.layers.Conv2D)


def test_hooks_one_section_per_layer_holding_its_channels(page, site_url, built_dist):
    network = network_json(built_dist)
    open_view(page, f"{site_url}network.html")
    sections = page.locator("[data-layer]")
    assert sections.evaluate_all("(all) => all.map((s) => s.dataset.layer)") == [l["name"] for l in network["layers"]]
    for layer in network["layers"]:
        channels = layer["shape"][-1] if len(layer["shape"]) == 3 else layer["shape"][0]
        canvases = page.locator(f'[data-layer="{layer["name"]}"] canvas')
        assert canvases.count() == channels
        if len(layer["shape"]) == 3:
            assert canvases.first.evaluate("(c) => [c.height, c.width]") == layer["shape"][:2]
        assert page.locator(f'[data-layer="{layer["name"]}"] .layer-text').text_content().startswith(layer["name"])
    filters = network["filters"]["shape"]
    assert page.locator("#filters canvas").count() == filters[3]


def test_the_drawing_page_opens_the_view_with_its_reading(page, site_url):
    log = PageLog(page)
    page.goto(site_url)
    page.wait_for_selector(READY)
    assert page.locator("#see-network").is_hidden()
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    href = page.locator("#see-network").get_attribute("href")
    pixels = np.frombuffer(base64.b64decode(href.split("#digit=")[1]), np.uint8)
    assert pixels.size == 784 and pixels.max() > 200
    page.locator("#see-network").click()
    page.wait_for_selector(VIEW_READY)
    shown = page.evaluate("window.networkView.activations()")
    assert np.array_equal(np.rint(np.array(shown["image"]["values"]) * 255), pixels)
    probabilities = shown[list(shown)[-1]]["values"]
    assert int(np.argmax(probabilities)) == 7
    assert log.outside(site_url) == [] and log.errors == []  # the drawing stays in the URL's fragment: never sent
    assert not [url for url in log.requests if "#" in url or "digit=" in url]


def test_a_channel_shows_the_test_digits_keras_finds_most_exciting(page, site_url, built_dist, trained_artifacts, mnist):
    """For one channel of each convolution block and one dense unit, the digits shown when it is focused are the
    MNIST test digits whose largest value in that channel, by Keras over all 10,000, is highest."""
    network = network_json(built_dist)
    excited = [layer for layer in network["layers"] if layer["kind"] in ("conv", "dense")]
    expected = keras_layers(trained_artifacts, [layer["name"] for layer in excited], mnist.x_test)
    open_view(page, f"{site_url}network.html")
    for layer in excited:
        values = expected[layer["name"]]
        scores = values.reshape(len(values), -1, values.shape[-1]).max(axis=1)
        channel = int(np.argmax(scores.max(axis=0)))  # its most active channel: never a silent one
        tile = page.locator(f'[data-layer="{layer["name"]}"] canvas[data-channel="{channel}"]')
        tile.focus()
        page.wait_for_selector(f'#excites[data-layer="{layer["name"]}"][data-channel="{channel}"] canvas')
        shown = [int(i) for i in page.locator("#excites-digits canvas").evaluate_all("(all) => all.map((c) => c.dataset.testIndex)")]
        top = np.sort(scores[:, channel])[::-1][: network["top"]]
        assert len(shown) == network["top"]
        assert np.allclose(scores[shown, channel], top, rtol=1e-4, atol=1e-5), layer["name"]
        # and the tiles are those digits' pixels
        first = page.locator("#excites-digits canvas").first.evaluate(
            "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0))")
        assert np.array_equal(np.array(first, np.uint8).reshape(28, 28), mnist.x_test[shown[0]])


def test_the_arrow_keys_move_across_a_layers_channels(page, site_url, built_dist):
    layer = next(l for l in network_json(built_dist)["layers"] if l["kind"] == "conv")
    open_view(page, f"{site_url}network.html")
    tiles = f'[data-layer="{layer["name"]}"] canvas'
    page.locator(tiles).first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.channel") == "2"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.channel") == str(layer["shape"][-1] - 1)
    assert page.locator(f'{tiles}[tabindex="0"]').count() == 1  # one tab stop per layer
    assert page.locator("#excites").get_attribute("data-channel") == str(layer["shape"][-1] - 1)


def drawn(lines, width: float = 2.6, scale: int = 8) -> np.ndarray:
    """Polylines (28×28 pixel coordinates) drawn with a round pen of `width` pixels: uint8 (28, 28), white on black."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (28 * scale, 28 * scale), 0)
    pen = ImageDraw.Draw(image)
    for line in lines:
        pen.line([(x * scale, y * scale) for x, y in line], fill=255, width=round(width * scale), joint="curve")
        for x, y in (line[0], line[-1]):
            r = width * scale / 2
            pen.ellipse([x * scale - r, y * scale - r, x * scale + r, y * scale + r], fill=255)
    return np.asarray(image.resize((28, 28), Image.BOX))


def arc(cx: float, cy: float, r: float, start: float, end: float, n: int = 40) -> list[tuple[float, float]]:
    """Points of a circle's arc from `start` to `end` degrees (counter-clockwise, 0 to the right)."""
    return [(cx + r * np.cos(np.radians(a)), cy - r * np.sin(np.radians(a))) for a in np.linspace(start, end, n)]


STEM = [(19, 5), (18, 25)]
OPEN_FOUR = [arc(13, 10, 6, 150, 390), STEM]  # a loop open at the top, 120 degrees of it missing: a 4
CLOSED_NINE = [arc(13, 10, 6, 0, 360, 60), STEM]  # the same loop closed at the top: a 9


def test_saliency_finds_the_stroke_that_closed_a_4_into_a_9_and_nothing_where_there_is_no_ink(page, site_url):
    four, nine = drawn(OPEN_FOUR), drawn(CLOSED_NINE)
    open_view(page, f"{site_url}network.html")
    readings = []
    for image in (four, nine):
        show(page, image)
        page.wait_for_selector(SALIENCY_READY)
        shown = page.evaluate("window.networkView.activations()")
        readings.append(int(np.argmax(shown[list(shown)[-1]]["values"])))
    assert readings == [4, 9]  # the one closing stroke turns the reading from 4 into 9
    found = page.evaluate("window.networkView.saliency()")
    importance = np.array(found["map"]).reshape(28, 28)
    assert found["digit"] == 9
    closing = drawn([arc(13, 10, 6, 30, 150)]) > 0  # the ink only the 9 has
    y, x = np.unravel_index(np.argmax(importance), importance.shape)
    assert closing[max(0, y - 2):y + 3, max(0, x - 2):x + 3].any(), (y, x)  # the most important pixel: at the closing stroke
    assert found["sentence"].startswith("Without the ink at the top it reads a 4")
    # blank: no ink within the erased square's reach (8 px: 4 either side of its centre), no importance at all
    reach = np.zeros((28, 28), bool)
    for yy, xx in zip(*np.nonzero(nine)):
        reach[max(0, yy - 4):yy + 5, max(0, xx - 4):xx + 5] = True
    assert (~reach).sum() > 100 and np.all(importance[~reach] == 0)
    assert page.locator("#saliency-text").text_content() == found["sentence"]


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_the_layers_follow_the_pen_unless_motion_is_reduced_then_they_change_at_pen_up(browser, site_url, motion):
    context = browser.new_context(reduced_motion=motion)
    page = context.new_page()
    try:
        open_view(page, f"{site_url}network.html")
        x0, y0, side = pad_box(page)
        page.mouse.move(x0 + 0.5 * side, y0 + 0.2 * side)
        page.mouse.down()
        for t in np.linspace(0.2, 0.8, 20):
            page.mouse.move(x0 + 0.5 * side, y0 + t * side)
        mid_stroke = np.array(page.evaluate("window.networkView.activations()")["image"]["values"])
        page.mouse.up()
        page.wait_for_selector(VIEW_READY)
        after = np.array(page.evaluate("window.networkView.activations()")["image"]["values"])
        assert after.max() > 0.5  # a stroke read as ink once it ends, either way
        assert (mid_stroke.max() > 0.5) == (motion == "no-preference")
    finally:
        context.close()
