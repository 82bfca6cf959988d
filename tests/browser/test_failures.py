"""The page's failure states: each gives a human message in #status[data-state=error] and no uncaught error.

Each test breaks a private copy of the real built site (copy_of_dist) and opens it in a fresh browser context.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_cleared, draw_with_mouse, ONE, prediction_after, READY


pytestmark = pytest.mark.browser

ERROR = '#status[data-state="error"]'


def error_message(page, page_log, url) -> str:
    """Wait for the error state; check the page never became ready and that drawing and Clear still do not throw."""
    message = page.wait_for_selector(ERROR).text_content()
    assert page.evaluate("document.body.dataset.ready") is None
    draw_with_mouse(page, ONE)
    page.click("#clear")
    assert_cleared(page)
    page.wait_for_timeout(200)
    assert page_log.errors == [], "uncaught errors in the page"
    assert page_log.outside(url) == []
    return message


def test_corrupt_model_json(page, page_log, copy_of_dist, serve):
    (copy_of_dist / "model" / "model.json").write_text('{"format": "graph-model", "modelTopology": {')  # cut short
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "model could not be loaded" in message and "damaged" in message and "reload" in message.lower(), message


def test_missing_weight_file(page, page_log, copy_of_dist, serve):
    for shard in (copy_of_dist / "model").glob("*.bin"):
        shard.unlink()
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "model could not be loaded" in message and "missing or damaged" in message, message


def test_truncated_weight_file(page, page_log, copy_of_dist, serve):
    shard = next((copy_of_dist / "model").glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 3])
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "model could not be loaded" in message, message


def test_missing_model_worker_script(page, page_log, copy_of_dist, serve):
    (copy_of_dist / "js" / "model-worker.js").unlink()
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "could not be loaded" in message and "reload" in message.lower(), message


def test_missing_tfjs_runtime(page, page_log, copy_of_dist, serve):
    (copy_of_dist / "vendor" / "tfjs-digits.js").unlink()
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "TensorFlow.js runtime" in message, message


def test_without_webassembly_and_no_other_backend_the_page_says_why(page, page_log, copy_of_dist, serve):
    index = copy_of_dist / "index.html"
    html = index.read_text()
    assert '"backends": ["wasm", "cpu"]' in html
    index.write_text(html.replace('"backends": ["wasm", "cpu"]', '"backends": ["wasm"]'))
    page.add_init_script("delete globalThis.WebAssembly")
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "No TensorFlow.js backend works" in message and "no WebAssembly" in message, message
    assert "try a current" in message, message


def test_without_webassembly_another_backend_reads_the_digit(page, page_log, site_url):
    """The cpu backend, a chunk of its own (vendor/tfjs-digits-cpu.js), comes down only here."""
    page.add_init_script("delete globalThis.WebAssembly")
    page.goto(site_url)
    page.wait_for_selector(READY)
    assert page.evaluate("document.body.dataset.backend") == "cpu"
    fetched = [url.removeprefix(site_url).split("?")[0] for url in page_log.requests]
    assert "vendor/tfjs-digits-cpu.js" in fetched and "vendor/tfjs-backend-wasm-simd.wasm" not in fetched
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"
    probs = page.evaluate("window.digitApp.predictMnist(new Uint8Array(784))")
    assert len(probs) == 10 and sum(probs) == pytest.approx(1, abs=1e-3)
    assert page_log.errors == []


def test_a_blank_canvas_predicts_nothing_and_clear_still_works(ready_page):
    assert ready_page.text_content("#prediction") == ""
    ready_page.click("#clear")
    ready_page.keyboard.press("Escape")
    assert_cleared(ready_page)
    assert ready_page.get_attribute("#status", "data-state") == "ready"
    # The model still answers for an all-black image; the page shows nothing for it.
    probs = ready_page.evaluate("window.digitApp.predictMnist(new Uint8Array(784))")
    assert len(probs) == 10
    assert ready_page.text_content("#prediction") == ""


def test_predict_mnist_rejects_a_wrong_size_without_breaking_the_page(ready_page):
    message = ready_page.evaluate("window.digitApp.predictMnist(new Uint8Array(100)).then(() => 'resolved', (e) => e.message)")
    assert "expected N·784 pixels, got 100" in message
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"

