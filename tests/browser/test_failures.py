"""The page's failure states: each gives a human message in #status[data-state=error] and no uncaught error.

Each test breaks a private copy of the real built site (copy_of_dist) and opens it in a fresh browser context.
"""

from __future__ import annotations

import json

import numpy as np

import pytest

from tests.browser.helpers import after_queued_tasks, assert_cleared, draw_with_mouse, ONE, prediction_after, probabilities, READY


pytestmark = pytest.mark.browser

ERROR = '#status[data-state="error"]'


def error_message(page, page_log, url) -> str:
    """Wait for the error state; check the page never became ready, shows no number that is not one,
    and that drawing and Clear still do not throw."""
    message = page.wait_for_selector(ERROR).text_content()
    assert "NaN" not in page.text_content("body")
    assert page.evaluate("document.body.dataset.ready") is None
    draw_with_mouse(page, ONE)
    page.click("#clear")
    assert_cleared(page)
    after_queued_tasks(page)
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
    assert len(probs) == 11 and sum(probs) == pytest.approx(1, abs=1e-3)
    assert page_log.errors == []


def test_clear_shows_nothing_and_the_test_hook_never_touches_the_page(ready_page):
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"
    ready_page.click("#clear")
    assert_cleared(ready_page)
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"
    ready_page.keyboard.press("Escape")
    assert_cleared(ready_page)
    assert ready_page.get_attribute("#status", "data-state") == "ready"

    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"
    shown = probabilities(ready_page)
    # The model answers for an all-black image (another digit than the one drawn); the page keeps showing the drawing's.
    probs = ready_page.evaluate("window.digitApp.predictMnist(new Uint8Array(784))")
    assert len(probs) == 11 and sum(probs) == pytest.approx(1, abs=1e-3)
    assert probs != [shown[str(digit)] for digit in range(10)], "the hook's answer differs from what is shown"
    assert ready_page.text_content("#prediction") == "1" and probabilities(ready_page) == shown


def test_predict_mnist_rejects_a_wrong_size_without_breaking_the_page(ready_page):
    message = ready_page.evaluate("window.digitApp.predictMnist(new Uint8Array(100)).then(() => 'resolved', (e) => e.message)")
    assert "expected N·784 pixels, got 100" in message
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"



# ------------------------------------------------------------------------ damaged weights



def is_output_bias(name: str) -> bool:
    """The softmax layer's bias (pipeline/train/model.py names the layer `probabilities`)."""
    return "/probabilities" in name and "/BiasAdd/" in name

def float32_model(model_dir) -> dict:
    """Rewrite the uint8-quantized model in `model_dir` as `pipeline export --quantize none` writes it
    (float32 weights, one shard); returns the manifest entry of each weight by name, with its byte offset."""
    model_json = model_dir / "model.json"
    model = json.loads(model_json.read_text())
    (group,) = model["weightsManifest"]
    data = b"".join((model_dir / path).read_bytes() for path in group["paths"])
    out, offset, entries = bytearray(), 0, {}
    for weight in group["weights"]:
        count = int(np.prod(weight["shape"], dtype=int))
        quantization = weight.pop("quantization", None)
        if quantization:
            q = np.frombuffer(data, np.uint8, count, offset)
            offset += count
            values = (quantization["min"] + q * quantization["scale"]).astype("<f4").tobytes()
        else:
            values = data[offset:offset + 4 * count]
            offset += 4 * count
        entries[weight["name"]] = {**weight, "offset": len(out)}
        out += values
    for path in group["paths"]:
        (model_dir / path).unlink()
    group["paths"] = ["group1-shard1of1.bin"]
    (model_dir / "group1-shard1of1.bin").write_bytes(bytes(out))
    model_json.write_text(json.dumps(model))
    return entries


def test_a_float32_model_still_works_unbroken(page, copy_of_dist, serve):
    """The control for the next test: the rewritten float32 model itself is sound."""
    float32_model(copy_of_dist / "model")
    page.goto(serve(copy_of_dist))
    page.wait_for_selector(READY)
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"


def test_weights_of_the_right_length_but_nan_bytes_show_the_error_state(page, page_log, copy_of_dist, serve):
    entries = float32_model(copy_of_dist / "model")
    # The output layer's bias: a ReLU further up would turn NaN into 0 on the way down.
    (bias,) = [e for name, e in entries.items() if is_output_bias(name)]
    shard = copy_of_dist / "model" / "group1-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    size = 4 * int(np.prod(bias["shape"]))
    data[bias["offset"]:bias["offset"] + size] = b"\xff" * size  # 0xFFFFFFFF is a float32 NaN
    shard.write_bytes(bytes(data))
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "model could not be loaded" in message and "damaged" in message and "outputs are not probabilities" in message, message


def test_a_quantization_scale_that_overflows_shows_the_error_state(page, page_log, copy_of_dist, serve):
    model_json = copy_of_dist / "model" / "model.json"
    model = json.loads(model_json.read_text())
    (weight,) = [w for w in model["weightsManifest"][0]["weights"] if is_output_bias(w["name"])]
    weight["quantization"]["scale"] = 1e300  # infinite as float32: the output layer's bias becomes inf
    model_json.write_text(json.dumps(model))
    url = serve(copy_of_dist)
    page.goto(url)
    message = error_message(page, page_log, url)
    assert "model could not be loaded" in message and "damaged" in message, message


# -------------------------------------------------------- a worker that fails, hangs or dies

ANSWERS_INIT = "if (data.type === 'init') postMessage({type: 'ready', backend: 'stub', skipped: []});"
STUB_WORKERS = {  # js/model-worker.js replaced by a script that ...
    "throws at start-up": "throw new Error('the worker broke on purpose');",
    "never answers": "self.onmessage = () => {};",
    "closes itself mid-run": f"self.onmessage = ({{data}}) => {{ {ANSWERS_INIT} else self.close(); }};",
    "throws mid-run": f"self.onmessage = ({{data}}) => {{ {ANSWERS_INIT} else throw new Error('the worker broke on purpose'); }};",
}
TIMEOUT_MS = 500  # modelTimeoutMs for the stub that never answers at all
SILENT = ("never answers",)  # the others keep the 60 s default, so their error always comes first


def with_stub_worker(dist, stub: str):
    """`dist` with js/model-worker.js replaced by STUB_WORKERS[stub] and, for a SILENT stub, the page's model
    timeout set to TIMEOUT_MS."""
    (dist / "js" / "model-worker.js").write_text(STUB_WORKERS[stub])
    if stub not in SILENT:
        return dist
    index = dist / "index.html"
    html = index.read_text()
    assert '"modelTimeoutMs": 60000' in html
    index.write_text(html.replace('"modelTimeoutMs": 60000', f'"modelTimeoutMs": {TIMEOUT_MS}'))
    return dist


@pytest.mark.parametrize("stub, why", [
    ("throws at start-up", "The model's script (js/model-worker.js) failed: Uncaught Error: the worker broke on purpose."),
    ("never answers", "The model did not answer within 0.5 s."),
])
def test_a_worker_that_fails_or_never_answers_at_start_up_shows_the_error_state(page, page_log, copy_of_dist, serve, stub, why):
    url = serve(with_stub_worker(copy_of_dist, stub))
    page.goto(url)
    message = error_message(page, page_log, url)
    assert message == f"Sorry, the digit model could not be loaded. Please reload the page. ({why})"


@pytest.mark.parametrize("stub, why", [
    ("closes itself mid-run", "The model did not answer within 60 s."),
    ("throws mid-run", "The model's script (js/model-worker.js) failed: Uncaught Error: the worker broke on purpose."),
])
def test_a_worker_that_dies_mid_run_shows_the_error_state(page, page_log, copy_of_dist, serve, stub, why):
    url = serve(with_stub_worker(copy_of_dist, stub))
    # The page's clock is Playwright's: the worker that closes itself has the whole default timeout to start
    # (a short one also timed its start, which a loaded machine can take longer than), and the test moves
    # the clock past it once the pen is up: by then the page has asked the dead worker to read.
    page.clock.install()
    page.goto(url)
    page.wait_for_selector(READY)
    draw_with_mouse(page, ONE)
    if stub == "closes itself mid-run":
        page.clock.fast_forward(60_000)
    expected = f"Sorry, reading the digit failed. Please reload the page. ({why})"
    assert page.wait_for_selector(ERROR).text_content() == expected
    # The worker is given up: the hook's predictions fail at once, with the same reason, and drawing again does not throw.
    assert page.evaluate("window.digitApp.predictMnist(new Uint8Array(784)).then(() => 'resolved', (e) => e.message)") == why
    draw_with_mouse(page, ONE)
    page.click("#clear")
    assert_cleared(page)
    assert page.text_content("#status") == expected
    assert page_log.errors == []
