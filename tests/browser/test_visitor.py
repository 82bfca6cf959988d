"""Every visitor on the drawing page: on a phone the reading and its sentence are in view beside the pad, a "?"
comes with words, corrections are easy to hit and can be undone, Forget asks first, a screen reader hears one
sentence per pen-up, and someone who cannot draw tries a sample digit with the keyboard.

Phones are 375×667 and 390×844 CSS pixels with touch input (Chromium's own, through CDP)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.browser.helpers import (FOUR, ONE, READY, SEVEN, ZERO, densify, draw_with_mouse, draw_with_touch,
                                   after_queued_tasks, pad_box, prediction_after, scaled, taught_a_seven)

pytestmark = pytest.mark.browser

PHONES = [(375, 667), (390, 844)]
NUMBER = (scaled(ONE, 0.35, (0.1, 0.3)) + scaled(SEVEN, 0.35, (0.45, 0.3)) + scaled(ZERO, 0.35, (0.85, 0.3))
          + scaled(FOUR, 0.35, (1.15, 0.3)))  # "1704": pad units are its height; it is 1.5 wide
SPIRAL = [[(0.5 + 0.3 * t / 15.7 * math.cos(t), 0.5 + 0.3 * t / 15.7 * math.sin(t)) for t in np.linspace(0.3, 15.7, 90)]]
READY_TEXT = "Ready: draw a digit, or a number."
MIN_TARGET = 44  # CSS pixels: the smallest comfortable touch target
UNDO_OFFERED_MS = 5_000  # Undo is offered at least this long after a correction
# Every record of both object stores of the page's IndexedDB, typed arrays as plain arrays, in key order.
DATABASE = """new Promise((resolve, reject) => {
  const open = indexedDB.open('digit-pipeline-personal');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const plain = (value) => ArrayBuffer.isView(value) ? Array.from(value)
      : Array.isArray(value) ? value.map(plain)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) : value;
    const names = [...db.objectStoreNames];
    if (names.length === 0) { db.close(); resolve({}); return; }
    const transaction = db.transaction(names);
    const dump = {};
    for (const name of names) {
      const store = transaction.objectStore(name), keys = store.getAllKeys(), values = store.getAll();
      values.onsuccess = () => { dump[name] = keys.result.map((key, i) => [key, plain(values.result[i])]); };
    }
    transaction.oncomplete = () => { db.close(); resolve(dump); };
  };
})"""
# The live regions as browsers expose them: aria-live other than off, the live roles, and <output> (role status).
LIVE = """Array.from(document.querySelectorAll(
  '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"], [role="marquee"], [role="timer"], output:not([aria-live="off"])'))"""
WATCH_LIVE = f"""(() => {{
  window.liveChanges = [];
  for (const region of {LIVE}) {{
    new MutationObserver((records) => window.liveChanges.push(...records.map(() => region.id + ': ' + region.textContent)))
      .observe(region, {{ childList: true, characterData: true, subtree: true }});
  }}
  return {LIVE}.map((region) => region.id);
}})()"""


def phone(browser, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    page = context.new_page()
    return context, page, context.new_cdp_session(page)


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] and box["x"] + box["width"] <= viewport["width"]


# ---------------------------------------------------------------- a phone


@pytest.mark.parametrize("size", PHONES, ids=["375x667", "390x844"])
@pytest.mark.parametrize(("strokes", "shown"), [(SEVEN, "7"), (NUMBER, "1704")], ids=["digit", "number"])
def test_on_a_phone_the_reading_and_its_sentence_are_in_view_after_writing(browser, site_url, size, strokes, shown):
    context, page, cdp = phone(browser, size)
    page.goto(site_url)
    page.wait_for_selector(READY)
    draw_with_touch(page, cdp, strokes)
    assert prediction_after(page, len(strokes)) == shown
    assert page.evaluate("window.scrollY") == 0, "drawing scrolled the page"
    assert page.text_content("#status") == "Wrong? Pick the right one below.", "a sure reading invites a correction"
    assert in_view(page, "#prediction") and in_view(page, "#status")
    context.close()


@pytest.mark.parametrize("size", PHONES, ids=["375x667", "390x844"])
def test_on_a_phone_a_question_mark_has_its_reason_beside_it_and_not_a_digit_wins(browser, site_url, size):
    context, page, cdp = phone(browser, size)
    page.goto(site_url)
    page.wait_for_selector(READY)
    draw_with_touch(page, cdp, SPIRAL)
    assert prediction_after(page, 1) == "?"
    assert page.text_content("#status") == "That does not look like a digit."
    assert in_view(page, "#prediction") and in_view(page, "#status")
    mark, words = page.locator("#prediction").bounding_box(), page.locator("#status").bounding_box()
    assert words["y"] < mark["y"] + mark["height"] and mark["y"] < words["y"] + words["height"], "the words are beside the ?"
    winner = page.locator("#probabilities > [data-best]")
    assert winner.count() == 1 and "not a digit" in winner.text_content()
    assert float(winner.get_attribute("data-p")) > 0.5
    context.close()


def test_on_a_phone_every_correction_target_is_44_px_high_and_undo_too(browser, site_url):
    context, page, cdp = phone(browser, PHONES[1])
    page.goto(site_url)
    page.wait_for_selector(READY)
    draw_with_touch(page, cdp, SEVEN)
    assert prediction_after(page, 1) == "7"
    rows = page.locator("#probabilities button")
    assert rows.count() == 11, "ten digits and not a digit"
    heights = [rows.nth(i).bounding_box()["height"] for i in range(11)]
    assert min(heights) >= MIN_TARGET, heights
    page.locator('#probabilities > [data-digit="1"] button').tap()
    page.wait_for_selector("#undo", state="visible")
    assert page.locator("#undo").bounding_box()["height"] >= MIN_TARGET
    page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
    context.close()


# ---------------------------------------------------------------- corrections


def test_undo_after_a_correction_restores_the_kept_digits_and_head_exactly(page, site_url):
    page.clock.install()  # time runs as usual, until the test moves it on
    taught_a_seven(page, site_url)
    before = page.evaluate(DATABASE)
    assert len(before["examples"]) == 1 and len(before["head"]) == 1
    page.click("#clear")
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"
    page.click('#probabilities > [data-digit="4"]')  # a mis-tap
    page.wait_for_selector('#personal[data-examples="2"][data-state="personal"]')
    assert page.text_content("#status") == "Kept: that was a 4.", "said beside Undo, after the ink was read again"
    assert page.evaluate(DATABASE) != before
    page.clock.fast_forward(UNDO_OFFERED_MS)
    assert page.is_visible("#undo"), "Undo is offered for at least 5 s"
    page.evaluate(WATCH_LIVE)
    page.click("#undo")
    page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
    assert page.evaluate("document.activeElement.id") == "status"
    assert any(said.startswith("announcer: Undone") for said in page.evaluate("window.liveChanges"))
    assert page.evaluate(DATABASE) == before, "IndexedDB holds what it held before the correction"
    assert not page.is_visible("#undo")

    page.click('#probabilities > [data-digit="1"]')  # the right one, this time: Undo is withdrawn in time
    page.wait_for_selector('#personal[data-examples="2"][data-state="personal"]')
    page.clock.fast_forward(2 * UNDO_OFFERED_MS + 1)
    page.wait_for_selector("#undo", state="hidden")


def test_not_a_digit_is_a_choice_kept_and_learnt(ready_page):
    draw_with_mouse(ready_page, SEVEN)
    assert prediction_after(ready_page, 1) == "7"
    ready_page.click("#probabilities > [data-not-a-digit]")
    ready_page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
    assert [record["label"] for _, record in ready_page.evaluate(DATABASE)["examples"]] == ["not a digit"]


def test_forget_asks_first_is_destructive_and_moves_focus_to_the_announced_status(page, site_url):
    taught_a_seven(page, site_url)
    colour = "(el) => getComputedStyle(el).color"
    red, green, blue = map(float, page.eval_on_selector("#forget", colour)[4:-1].split(",")[:3])
    assert red > 1.5 * max(green, blue), "Forget is styled as destructive (red)"
    assert page.eval_on_selector("#forget", colour) != page.eval_on_selector("#download", colour)
    page.click("#forget")
    assert page.is_visible("#forget-yes") and page.is_visible("#forget-no")
    assert len(page.evaluate(DATABASE)["examples"]) == 1, "nothing is deleted before the visitor confirms"
    page.click("#forget-no")
    assert page.is_visible("#forget") and not page.is_visible("#forget-yes")
    page.click("#forget")
    page.evaluate(WATCH_LIVE)
    page.click("#forget-yes")
    page.wait_for_selector('#personal[data-examples="0"][data-state="shipped"]')
    assert page.evaluate("document.activeElement.id") == "status"
    after_queued_tasks(page)
    assert any(said.startswith("announcer: Forgotten") for said in page.evaluate("window.liveChanges"))
    assert "digit-pipeline-personal" not in page.evaluate("indexedDB.databases().then((all) => all.map((db) => db.name))")


# ---------------------------------------------------------------- screen readers and keyboards


def test_one_live_region_changes_once_per_stroke_after_the_pen_lifts(ready_page):
    assert ready_page.evaluate(WATCH_LIVE) == ["announcer"], "the page has one live region"
    x0, y0, side = pad_box(ready_page)
    points = densify(SEVEN[0])
    ready_page.mouse.move(x0 + points[0][0] * side, y0 + points[0][1] * side)
    ready_page.mouse.down()
    for x, y in points[1:]:
        ready_page.mouse.move(x0 + x * side, y0 + y * side)
    ready_page.wait_for_selector("#prediction:not(:empty)")  # read while drawn
    after_queued_tasks(ready_page)
    assert ready_page.evaluate("window.liveChanges") == [], "the live region changed while the pen was down"
    ready_page.mouse.up()
    assert prediction_after(ready_page, 1) == "7"
    after_queued_tasks(ready_page)
    changes = ready_page.evaluate("window.liveChanges")
    assert len(changes) == 1 and changes[0].startswith("announcer: Looks like 7"), changes


def tab_stops(page, count: int) -> list[str]:
    """The next `count` elements Tab focuses: '#id', or the digit row's data-digit as 'row N'."""
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("""(() => { const el = document.activeElement;
          const row = el.closest('#probabilities > li');
          return row ? 'row ' + (row.dataset.digit ?? 'not a digit') : '#' + el.id; })()"""))
    return stops


def test_keyboard_only_a_sample_digit_gives_a_reading_and_rows_are_stops_only_then(ready_page):
    stops = tab_stops(ready_page, 8)
    assert "#sample" in stops
    assert not [stop for stop in stops if stop.startswith("row")], "rows are focus stops on an empty pad"
    ready_page.focus("#sample")
    ready_page.keyboard.press("Enter")
    ready_page.wait_for_selector('#prediction:not([data-strokes="0"])')
    shown = ready_page.text_content("#prediction")
    assert len(shown) == 1 and ready_page.locator("#model-view canvas").count() == 1
    assert ready_page.text_content("#announcer").startswith(("Looks like", "Not sure"))
    ready_page.focus("#sample")
    stops = tab_stops(ready_page, 3)
    assert stops[-1].startswith("row"), stops
    ready_page.keyboard.press("Enter")  # the row focused: a correction, with the keyboard
    ready_page.wait_for_selector('#personal[data-examples="1"]')
    ready_page.wait_for_selector('#personal[data-state="personal"]')
    ready_page.focus("#probabilities > li button")
    ready_page.keyboard.press("Escape")  # clears: the rows are disabled, and focus stays on the page's content
    ready_page.wait_for_selector('#prediction[data-strokes="0"]')
    assert ready_page.evaluate("document.activeElement.id") == "status"
