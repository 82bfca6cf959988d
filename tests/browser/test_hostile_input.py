"""Hostile input to the drawing page: model files a host answers wrongly, and pointer input no test
of drawing makes. Each test checks what the visitor sees: the error state with its reason, or a
prediction that accounts for exactly the strokes drawn; the autouse fixture checks that nothing threw.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import densify, draw_with_mouse, ONE, pad_box, prediction_after, READY


pytestmark = pytest.mark.browser

ERROR = '#status[data-state="error"]'
SHARDS = "**/model/*.bin*"


@pytest.fixture
def page_without_service_worker(browser):
    """A page whose requests all reach the network (and so page.route): no service worker answers them."""
    context = browser.new_context(service_workers="block")
    yield context.new_page()
    context.close()


# ------------------------------------------------------------------- model files answered wrongly

def test_model_json_answered_by_an_html_page_shows_the_error_state(page, copy_of_dist, serve):
    """A host that answers a missing file with its own page and status 200."""
    (copy_of_dist / "model" / "model.json").write_text((copy_of_dist / "index.html").read_text())
    page.goto(serve(copy_of_dist))
    message = page.wait_for_selector(ERROR).text_content()
    assert message.startswith("Sorry, the digit model could not be loaded: its files are missing or damaged."), message


def test_a_weight_shard_answered_with_a_server_error_shows_the_error_state(page_without_service_worker, site_url):
    page = page_without_service_worker
    page.route(SHARDS, lambda route: route.fulfill(status=500, body="Internal Server Error"))
    page.goto(site_url)
    message = page.wait_for_selector(ERROR).text_content()
    assert message.startswith("Sorry, the digit model could not be loaded: its files are missing or damaged."), message
    # tfjs reads the error page's 21 bytes as weights; its complaint is passed on.
    assert "should have 144 values but has 21" in message, message
    assert page.evaluate("document.body.dataset.ready") is None


def test_a_weight_shard_that_never_arrives_ends_in_the_error_state(page_without_service_worker, site_url):
    """The request stalls for good (a dead connection): the page's model timeout (60 s) ends the wait.
    The page's clock is Playwright's, moved on by the test once the shard is asked for."""
    page = page_without_service_worker
    page.clock.install()
    page.route(SHARDS, lambda route: None)  # never answered
    with page.expect_request(SHARDS, timeout=60_000):
        page.goto(site_url)
    assert page.get_attribute("#status", "data-state") == "loading"
    page.clock.fast_forward(60_000)
    message = page.wait_for_selector(ERROR).text_content()
    assert message == "Sorry, the digit model could not be loaded. Please reload the page. (The model did not answer within 60 s.)"


# ------------------------------------------------------------------------------ pointer input

def test_four_hundred_strokes_are_all_counted(ready_page):
    x0, y0, side = pad_box(ready_page)
    for i in range(400):  # dots along a vertical line: a "1" drawn as 400 taps
        ready_page.mouse.click(x0 + side * 0.5, y0 + side * (0.2 + 0.6 * i / 399))
    assert prediction_after(ready_page, 400) == "1"


def test_a_window_resized_mid_stroke_keeps_the_stroke(ready_page):
    page = ready_page
    (first, second), = ONE
    x0, y0, side = pad_box(page)
    page.mouse.move(x0 + first[0] * side, y0 + first[1] * side)
    page.mouse.down()
    middle = ((first[0] + second[0]) / 2, (first[1] + second[1]) / 2)
    for x, y in densify([first, middle])[1:]:
        page.mouse.move(x0 + x * side, y0 + y * side)
    page.set_viewport_size({"width": 700, "height": 900})
    page.wait_for_selector(READY)
    x0, y0, side = pad_box(page)  # the pad has a new size: the stroke goes on in its new coordinates
    for x, y in densify([middle, second])[1:]:
        page.mouse.move(x0 + x * side, y0 + y * side)
    page.mouse.up()
    assert prediction_after(page, 1) == "1"


@pytest.fixture
def touch_page(browser, site_url):
    """The page on a phone-sized touch screen, ready, with a CDP session for raw touch input."""
    context = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 640})
    page = context.new_page()
    page.goto(site_url)
    page.wait_for_selector(READY)
    yield page, context.new_cdp_session(page)
    context.close()


def touch_points(page, stroke, finger: int) -> list[dict]:
    x0, y0, side = pad_box(page)
    return [{"x": x0 + x * side, "y": y0 + y * side, "id": finger} for x, y in densify(stroke)]


def test_a_cancelled_touch_ends_its_stroke(touch_page):
    """The system takes the touch away mid-stroke (a call, a gesture): the stroke counts as ended."""
    page, cdp = touch_page
    points = touch_points(page, ONE[0], 0)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
    for point in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchCancel", "touchPoints": []})
    assert prediction_after(page, 1) == "1"
    draw_with_mouse(page, ONE)  # the pad takes the next stroke as usual
    assert prediction_after(page, 2) == "1"


def test_a_second_finger_does_not_draw(touch_page):
    """A palm or a second finger on the pad while one draws: only the first finger's stroke is ink."""
    page, cdp = touch_page
    pen = touch_points(page, ONE[0], 0)
    palm = touch_points(page, [(0.1, 0.5), (0.9, 0.5)], 1)  # across the middle: a "1" with it reads as something else
    steps = max(len(pen), len(palm))
    at = lambda points, i: points[min(i, len(points) - 1)]  # noqa: E731
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [pen[0]]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [pen[0], palm[0]]})
    for i in range(1, steps):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [at(pen, i), at(palm, i)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": [at(pen, steps)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert prediction_after(page, 1) == "1"


def test_the_right_mouse_button_does_not_draw(ready_page):
    x0, y0, side = pad_box(ready_page)
    ready_page.mouse.move(x0 + 0.1 * side, y0 + 0.5 * side)
    ready_page.mouse.down(button="right")
    ready_page.mouse.move(x0 + 0.9 * side, y0 + 0.5 * side, steps=10)
    ready_page.mouse.up(button="right")
    draw_with_mouse(ready_page, ONE)
    assert prediction_after(ready_page, 1) == "1"  # one stroke, and no bar across it
