"""The page, end to end: a real model in headless Chromium, drawn on with mouse and touch.

Shapes are polylines in pad units (fractions of the pad's height, x right, y down).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.browser.helpers import after_queued_tasks, assert_cleared, densify, draw_with_mouse, draw_with_touch, FOUR, ONE, pad_box, PageLog, prediction_after, probabilities, READY, scaled, SEVEN, ZERO


pytestmark = pytest.mark.browser

BATCH = 1000  # MNIST images per predictMnistBatch call


# ---------------------------------------------------------------- loading


def test_page_becomes_ready_on_the_wasm_backend(ready_page, page_log):
    assert ready_page.evaluate("document.body.dataset.backend") == "wasm"
    assert ready_page.evaluate("window.digitApp.backend") == "wasm"
    assert ready_page.get_attribute("#status", "data-state") == "ready"
    assert "wasm" in ready_page.text_content("#backend")
    fetched = [url.split("?")[0] for url in page_log.requests]
    assert any(url.endswith("vendor/tfjs-backend-wasm-simd.wasm") for url in fetched)
    # The size-optimized bundle, not the full TensorFlow.js; its cpu chunk only where WebAssembly is missing.
    assert any(url.endswith("vendor/tfjs-digits.js") for url in fetched)
    assert not any(url.endswith(("vendor/tf.min.js", "vendor/tfjs-digits-cpu.js")) for url in fetched)


def test_page_shows_the_models_accuracy_and_size(ready_page, built_dist):
    metrics = json.loads((built_dist / "metrics.json").read_text())
    facts = ready_page.text_content("footer")
    assert f"{metrics['tfjs_test_accuracy'] * 100:.2f}" in facts, "the accuracy of the model the page runs (TensorFlow.js)"
    assert f"{metrics['model_bytes'] / 1000:.0f}\N{NO-BREAK SPACE}kB" in facts
    assert "CC BY-SA 3.0" in facts


def test_everything_is_served_from_the_sub_path(ready_page, page_log, site_url):
    assert site_url.endswith("/digits/")
    assert page_log.requests and all(url.startswith(site_url) for url in page_log.requests), page_log.requests
    failed = ready_page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.responseStatus >= 400).map(e => e.name)"
    )
    assert failed == []
    origin = site_url.removesuffix("/digits/")
    assert ready_page.request.get(origin + "/index.html").status == 404, "the server only serves the sub-path"


def test_wasm_binary_is_served_as_application_wasm(ready_page, site_url):
    response = ready_page.request.get(site_url + "vendor/tfjs-backend-wasm-simd.wasm")
    assert response.headers["content-type"] == "application/wasm"


# ---------------------------------------------------------------- drawing


@pytest.mark.parametrize(
    ("digit", "strokes"), [("1", ONE), ("0", ZERO), ("7", SEVEN), ("4", FOUR)], ids=["one", "zero", "seven", "four"]
)
def test_a_digit_drawn_with_the_mouse_is_recognised(ready_page, digit, strokes):
    draw_with_mouse(ready_page, strokes)
    assert prediction_after(ready_page, len(strokes)) == digit
    p = probabilities(ready_page)
    assert sorted(p) == [str(d) for d in range(10)]
    assert sum(p.values()) == pytest.approx(1, abs=1e-3)
    assert max(p, key=p.get) == digit


def test_prediction_follows_the_pen_without_counting_the_unfinished_stroke(ready_page):
    x0, y0, side = pad_box(ready_page)
    ready_page.mouse.move(x0 + 0.5 * side, y0 + 0.2 * side)
    ready_page.mouse.down()
    for _, y in densify([(0.5, 0.2), (0.5, 0.8)]):
        ready_page.mouse.move(x0 + 0.5 * side, y0 + y * side)
    ready_page.wait_for_function("() => document.getElementById('prediction').textContent !== ''")
    assert ready_page.get_attribute("#prediction", "data-strokes") == "0", "the stroke is not finished"
    ready_page.mouse.up()
    assert prediction_after(ready_page, 1) == "1"


@pytest.mark.parametrize(
    ("digit", "strokes"),
    [("1", scaled(ONE, 0.3, (0.0, 0.0))), ("7", scaled(SEVEN, 0.3, (0.7, 0.7))), ("0", scaled(ZERO, 1.35, (-0.175, -0.175)))],
    ids=["small-one-top-left", "small-seven-bottom-right", "huge-zero"],
)
def test_size_and_position_do_not_matter(ready_page, digit, strokes):
    # "Small" is 0.3 of the pad's height, in a corner; the huge zero runs off the pad's edges.
    draw_with_mouse(ready_page, strokes)
    assert prediction_after(ready_page, len(strokes)) == digit


def test_clear_empties_the_prediction(ready_page):
    draw_with_mouse(ready_page, FOUR)
    assert prediction_after(ready_page, 2) != ""
    ready_page.click("#clear")
    assert_cleared(ready_page)
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1", "strokes count again from zero"


def test_a_prediction_in_flight_never_overwrites_clear(ready_page):
    draw_with_mouse(ready_page, SEVEN)
    ready_page.keyboard.press("Escape")  # at once, before the pen-up's prediction is back
    # The worker answers in order: once a later prediction is back, the pen-up's answer has been handled.
    ready_page.evaluate("window.digitApp.predictMnist(new Uint8Array(784)).then(() => true)")
    assert_cleared(ready_page)


def test_keyboard_tab_reaches_clear_and_enter_clears(ready_page):
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"
    for _ in range(5):
        ready_page.keyboard.press("Tab")
        if ready_page.evaluate("document.activeElement.id") == "clear":
            break
    assert ready_page.evaluate("document.activeElement.id") == "clear"
    ready_page.keyboard.press("Enter")
    assert_cleared(ready_page)
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"
    ready_page.keyboard.press("Delete")
    assert_cleared(ready_page)


def test_screen_readers_hear_the_prediction(ready_page):
    assert ready_page.get_attribute("#pad", "role") == "img"
    assert "draw" in ready_page.get_attribute("#pad", "aria-label").lower()
    draw_with_mouse(ready_page, SEVEN)
    assert prediction_after(ready_page, 1) == "7"
    live = ready_page.locator('[aria-live="polite"]')
    assert "7" in live.text_content()


def test_dark_mode_draws_light_ink_and_still_reads_it(ready_page):
    ready_page.emulate_media(color_scheme="dark")
    ink = ready_page.eval_on_selector("#pad", "pad => getComputedStyle(pad).color")
    assert ink == "rgb(255, 255, 255)"
    draw_with_mouse(ready_page, SEVEN)
    assert prediction_after(ready_page, 1) == "7", "the ink is the canvas's alpha, whatever its colour"


def test_nothing_on_the_drawing_page_animates(ready_page):
    """Readings land about once a frame while a stroke is drawn: a transition on the bars cost the frame that shows
    the pen-up's reading (BENCHMARKS.md), and nothing moving on its own also suits prefers-reduced-motion."""
    draw_with_mouse(ready_page, SEVEN)
    assert prediction_after(ready_page, 1) == "7"
    moving = ready_page.evaluate("""() => [...document.querySelectorAll('*')].filter((el) => {
        const style = getComputedStyle(el);
        return style.transitionDuration.split(',').some((d) => parseFloat(d) > 0) || style.animationName !== 'none';
    }).map((el) => el.id || el.className || el.tagName)""")
    assert moving == []


def test_touch_draws_without_scrolling_the_page(browser, site_url):
    context = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(site_url)
        page.wait_for_selector(READY)
        assert page.evaluate("document.documentElement.scrollHeight > innerHeight"), "the page must be able to scroll"
        cdp = page.context.new_cdp_session(page)
        draw_with_touch(page, cdp, SEVEN)
        assert prediction_after(page, 1) == "7"
        draw_with_touch(page, cdp, [[(0.5, 0.9), (0.5, 0.1)]])  # a long upward swipe on the pad
        prediction_after(page, 2)
        assert page.evaluate("scrollY") == 0, "drawing scrolled the page"
        # The same swipe on the heading does scroll: the check above can fail.
        heading = page.locator("h1").bounding_box()
        x, y = heading["x"] + 10, heading["y"] + heading["height"] / 2
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y + 100}]})
        for dy in range(100, -1, -10):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y + dy}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_function("() => scrollY > 0")
        assert log.outside(site_url) == [] and log.errors == []
    finally:
        context.close()


# ---------------------------------------------------------------- the model in the page


def test_page_model_matches_keras_on_all_mnist_test_images(ready_page, mnist, keras_test_accuracy):
    images = mnist.x_test.reshape(len(mnist.x_test), -1)
    predicted = []
    for start in range(0, len(images), BATCH):
        chunk = base64.b64encode(np.ascontiguousarray(images[start : start + BATCH], dtype=np.uint8).tobytes()).decode()
        probs = np.array(
            ready_page.evaluate(
                "b64 => window.digitApp.predictMnistBatch(Uint8Array.from(atob(b64), c => c.charCodeAt(0)))", chunk
            )
        )
        assert probs.shape == (min(BATCH, len(images) - start), 11)  # the ten digits, then not a digit
        assert np.allclose(probs.sum(axis=1), 1, atol=1e-3)
        predicted.append(probs.argmax(axis=1))
    accuracy = float(np.mean(np.concatenate(predicted) == mnist.y_test))
    print(f"in-page accuracy {accuracy:.4%} vs Keras {keras_test_accuracy:.4%}")
    assert abs(accuracy - keras_test_accuracy) <= 0.001


def test_predict_mnist_reads_one_image(ready_page, mnist):
    image = mnist.x_test[0].reshape(-1).tolist()
    probs = ready_page.evaluate("pixels => window.digitApp.predictMnist(new Uint8Array(pixels))", image)
    assert len(probs) == 11 and sum(probs) == pytest.approx(1, abs=1e-3)
    assert int(np.argmax(probs)) == int(mnist.y_test[0])


# ---------------------------------------------------------------- failures


def test_a_missing_model_shows_a_readable_error(page, page_log, copy_of_dist, serve):
    (copy_of_dist / "model" / "model.json").unlink()
    url = serve(copy_of_dist)
    page.goto(url)
    status = page.wait_for_selector('#status[data-state="error"]')
    message = status.text_content()
    assert "model could not be loaded" in message and "reload" in message.lower(), message
    assert page.evaluate("document.body.dataset.ready") is None
    draw_with_mouse(page, ONE)  # drawing still works, and does not throw
    after_queued_tasks(page)
    assert page_log.errors == []
    assert page_log.outside(url) == []


def test_without_webassembly_the_page_falls_back(page, page_log, site_url):
    page.add_init_script("delete globalThis.WebAssembly")
    page.goto(site_url)
    page.wait_for_selector(READY)
    assert page.evaluate("document.body.dataset.backend") == "cpu"  # the drawing page's bundle has wasm and cpu
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"
    assert page_log.errors == []
