"""train.html in headless Chromium: a CNN trained from scratch in the page, on the shipped MNIST subset.

Acceptance (the train page's budget): training from scratch reaches >= 95 % on the held-out
images within 120 s on 2 CPU cores, then a digit drawn with the mouse is read by
the new model. Quicker checks: Stop, the charts, the confusion matrix and the grid.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import placement
from pipeline.data import handwriting
from tests.browser.helpers import serving


pytestmark = pytest.mark.browser

ACCEPTANCE_SECONDS = 120  # from Start to the held-out accuracy on the page: the train page's budget
MIN_ACCURACY = 0.95
LOADED = 'body:not([data-state="loading"])'
DONE = 'body[data-state="done"]'
HOLD_AT = 3  # ?hold-at-batch: training waits after this batch until window.trainLab.release()
HELD = f'body[data-held-at-batch="{HOLD_AT}"]'
DRAWN_DIGITS = (0, 1, 3, 4, 7)  # drawn with the new model, one MNIST test image each (never trained on)


@pytest.fixture
def train_page(page, page_log, site_url):
    """train.html with its data loaded (state idle), training held after batch HOLD_AT until the test
    calls window.trainLab.release(). At teardown: nothing left the origin, no uncaught error."""
    page.goto(site_url + f"train.html?hold-at-batch={HOLD_AT}")
    page.wait_for_selector(LOADED, timeout=60_000)
    assert page.get_attribute("body", "data-state") == "idle", page.text_content("#status")
    yield page
    assert page_log.outside(site_url) == [], "requests left the page's origin"
    assert page_log.errors == [], "uncaught errors in the page"


def subset_manifest(built_dist) -> dict:
    return json.loads((built_dist / "data" / "subset.json").read_text())


def confusion(page) -> np.ndarray:
    """The confusion matrix as shown: [true, predicted] -> count."""
    cells = page.eval_on_selector_all(
        "#confusion td[data-count]", "cells => cells.map(c => [+c.dataset.true, +c.dataset.predicted, +c.dataset.count])")
    matrix = np.zeros((10, 10), int)
    for truth, guess, count in cells:
        matrix[truth, guess] = count
    assert len(cells) == 100
    return matrix


def draw_on_train_pad(page, paths) -> None:
    page.locator("#train-pad").scroll_into_view_if_needed()
    box = page.locator("#train-pad").bounding_box()
    for path in paths:
        points = handwriting.resample(path, box["width"] / 40) + (box["x"], box["y"])
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


@pytest.mark.slow
def test_trains_from_scratch_to_95_percent_within_120_s_then_reads_a_drawn_digit(train_page, built_dist, mnist, capsys):
    page = train_page
    assert page.input_value("#epochs") == "6"  # the page's default: ≥ 98 % in about a minute (make bench-browser-training)
    page.goto(page.url.split("?")[0])  # no hold: the 120 s are timed
    page.wait_for_selector('body[data-state="idle"]', timeout=60_000)
    page.fill("#epochs", "3")  # half of it is enough for this test's 95 %
    page.click("#start")
    page.wait_for_selector('body[data-state="training"]')
    page.wait_for_selector(DONE, timeout=ACCEPTANCE_SECONDS * 1000)  # the 120 s budget includes the evaluation
    summary = page.evaluate("window.trainLab.summary")
    with capsys.disabled():
        print(f"\ntrained in the browser: {summary}")
    accuracy = float(page.get_attribute("#test-accuracy", "data-value"))
    assert accuracy == pytest.approx(summary["accuracy"])
    assert accuracy >= MIN_ACCURACY
    assert summary["images"] == 3 * subset_manifest(built_dist)["train"]["count"] and not summary["stopped"]
    assert page.text_content("#time-left") == "", "no time left is shown under Done"
    assert page.locator("#epoch-table tbody tr").count() == 3

    page.click("#draw-with-model")
    side = page.locator("#train-pad").bounding_box()["width"]
    rng = np.random.default_rng(5)
    read = {}
    for digit in DRAWN_DIGITS:
        index = int(rng.choice(np.flatnonzero(mnist.y_test == digit)))
        placed = placement.place_at(handwriting.image_to_strokes(mnist.x_test[index]), side, 0.6, (0.5, 0.5), margin=side / 28 + 2)
        page.click("#train-clear")
        page.wait_for_selector('#train-prediction[data-strokes="0"]', state="attached")
        draw_on_train_pad(page, placed.paths)
        shown = page.wait_for_selector(f'#train-prediction[data-strokes="{len(placed.paths)}"]', state="attached")
        read[digit] = shown.text_content()
    assert all(text.isdigit() for text in read.values()), read
    assert sum(int(text) == digit for digit, text in read.items()) >= 3, f"drawn digit -> what the new model read: {read}"


def test_stop_ends_training_early_and_the_evaluation_adds_up(train_page, built_dist):
    page = train_page
    test_count = subset_manifest(built_dist)["test"]["count"]
    page.click("#start")
    # Held after batch HOLD_AT, whatever the machine's speed: the charts draw meanwhile.
    page.wait_for_selector(HELD, timeout=60_000)
    page.wait_for_selector("#chart-batch-loss[data-rendered] canvas, #chart-batch-loss[data-rendered] svg", timeout=60_000)
    assert page.is_disabled("#epochs") and page.is_disabled("#start")
    assert 0 < float(page.eval_on_selector("#progress", "p => p.value")) < 1
    assert "left" in page.text_content("#time-left")
    page.click("#stop")
    page.evaluate("window.trainLab.release()")
    page.wait_for_selector(DONE, timeout=60_000)
    summary = page.evaluate("window.trainLab.summary")
    assert summary["stopped"] and summary["images"] == HOLD_AT * 64, "training ends after the batch in progress"
    assert page.text_content("#time-left") == "Stopped during epoch 1 of 6"
    assert page.locator("#epoch-table tbody tr").count() == 0, "an epoch cut short is not charted as one"

    matrix = confusion(page)
    assert matrix.sum() == test_count
    assert (matrix.sum(axis=1) == test_count // 10).all(), "200 held-out images per digit"
    per_class = page.eval_on_selector_all("#per-class tbody tr", "rows => rows.map(r => [+r.dataset.correct, +r.dataset.total])")
    assert [c for c, _ in per_class] == np.diag(matrix).tolist()
    assert float(page.get_attribute("#test-accuracy", "data-value")) == pytest.approx(np.trace(matrix) / test_count)

    cells = page.eval_on_selector_all(
        "#grid > li", "cells => cells.map(c => [+c.dataset.predicted, +c.dataset.true, c.hasAttribute('data-mistake')])")
    assert len(cells) >= 30
    assert all(marked == (guess != truth) for guess, truth, marked in cells), "exactly the mistakes are marked"
    assert any(marked for *_, marked in cells), "a briefly trained model makes mistakes, and the grid shows some"
    assert page.is_enabled("#draw-with-model") and page.is_enabled("#start")


def test_settings_out_of_range_do_not_start_training(train_page):
    page = train_page
    page.fill("#epochs", "0")
    page.click("#start")
    page.fill("#learning-rate", "5")
    page.click("#start")
    assert page.get_attribute("body", "data-state") == "idle"
    assert page.evaluate("window.trainLab.summary") is None


@pytest.mark.expected_browser_errors(r"status of 404 .*/data/train-images\.png")
def test_missing_training_data_shows_a_readable_error(page, copy_of_dist, page_log):
    (copy_of_dist / "data" / "train-images.png").unlink()
    with serving(copy_of_dist) as url:
        page.goto(url + "train.html")
        page.wait_for_selector('body[data-state="error"]', timeout=60_000)
        assert "train-images.png" in page.text_content("#status")
        assert page.get_attribute("#status", "data-state") == "error"
        assert page.is_disabled("#start")
    assert page_log.errors == []


def stop_at_the_hold(page) -> None:
    """Start, stop at the hold, and wait for the evaluation of the few batches trained."""
    page.click("#start")
    page.wait_for_selector(HELD, timeout=60_000)
    page.click("#stop")
    page.evaluate("window.trainLab.release()")
    page.wait_for_selector(DONE, timeout=60_000)


def test_a_pen_up_while_a_new_model_trains_shows_no_guess(train_page):
    page = train_page
    page.fill("#epochs", "1")
    stop_at_the_hold(page)
    page.click("#draw-with-model")
    draw_on_train_pad(page, [np.array([(0.5, 0.2), (0.48, 0.8)]) * page.locator("#train-pad").bounding_box()["width"]])
    assert page.wait_for_selector('#train-prediction[data-strokes="1"]', state="attached").text_content().isdigit()
    page.click("#start")  # disposes the model drawn with; the pen-up below comes at once
    draw_on_train_pad(page, [np.array([(0.3, 0.5), (0.7, 0.5)]) * page.locator("#train-pad").bounding_box()["width"]])
    assert page.wait_for_selector('#train-prediction[data-strokes="2"]', state="attached").text_content() == ""
    page.wait_for_selector(HELD)
    page.click("#stop")
    page.evaluate("window.trainLab.release()")
    page.wait_for_selector(DONE, timeout=60_000)


def test_a_start_that_fails_shows_the_error_and_the_pad_stays_quiet(train_page):
    page = train_page
    page.fill("#epochs", "1")
    stop_at_the_hold(page)
    page.click("#draw-with-model")
    # A new model cannot be made (as when WebGL runs out of memory): Start must say so, not throw.
    page.evaluate("() => { tf.sequential = () => { throw new Error('no memory for a new model'); }; }")
    page.click("#start")
    assert page.wait_for_selector('#status[data-state="error"]').text_content() == "Sorry, training failed: no memory for a new model"
    draw_on_train_pad(page, [np.array([(0.5, 0.2), (0.48, 0.8)]) * page.locator("#train-pad").bounding_box()["width"]])
    assert page.wait_for_selector('#train-prediction[data-strokes="1"]', state="attached").text_content() == ""
