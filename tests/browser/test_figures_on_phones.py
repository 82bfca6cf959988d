"""Charts and wide tables of report.html and train.html on a phone (390×844, 320×640) and a desktop.

Charts: their text is at least MIN_TEXT_PX CSS px on screen, inside the chart, with contrast ≥ MIN_CONTRAST
in both colour schemes. Wide tables: the caption outside the sideways scroll, a visible cue while columns
are hidden, the first column sticky, a shape never broken across lines; the page never scrolls sideways.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import PageLog, serving


pytestmark = pytest.mark.browser

PHONES = [(390, 844), (320, 640)]
DESKTOP = (1280, 900)
SCHEMES = ["light", "dark"]
MIN_TEXT_PX = 12  # the least on-screen size of a chart's text, CSS px
MIN_CONTRAST = 7.5  # WCAG contrast ratio of a chart's text on the page, both schemes
REPORT_TABLES = ["#confusion", "#architecture", "#history-table"]
READY = 'body[data-ready="true"]'
HOLD_AFTER_EPOCH_1 = 189  # the lab's first batch of epoch 2: 12,000 images in batches of 64 make 188 per epoch


@pytest.fixture(scope="module")
def report_url(report_dist):
    with serving(report_dist) as url:
        yield url + "report.html"


def open_page(browser, url: str, size: tuple[int, int], scheme: str, ready: str):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, color_scheme=scheme,
                                  has_touch=size != DESKTOP, is_mobile=size != DESKTOP)
    page = context.new_page()
    log = PageLog(page)
    page.goto(url)
    page.wait_for_selector(ready, timeout=60_000)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")  # "The numbers"
    return context, page, log


CHART_TEXT = """svgs => svgs.flatMap((svg) => {
  const box = svg.getBoundingClientRect();
  const background = getComputedStyle(document.body).backgroundColor;
  return [...svg.querySelectorAll('text')].map((t) => {
    const r = t.getBoundingClientRect();
    return {
      text: t.textContent,
      px: Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b) * parseFloat(getComputedStyle(t).fontSize),  // rotated too
      inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5,
      fill: getComputedStyle(t).fill, background,
    };
  });
})"""


def luminance(css_colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def assert_chart_text_readable(page, charts: str, count: int) -> None:
    texts = page.eval_on_selector_all(charts, CHART_TEXT)
    assert page.locator(charts).count() == count and len(texts) >= 5 * count  # ticks, labels, legend
    small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < MIN_TEXT_PX]
    assert small == [], f"chart text under {MIN_TEXT_PX} px on screen"
    assert [t["text"] for t in texts if not t["inside"]] == [], "chart text cut off at the chart's edge"
    faint = {(t["fill"], t["background"]) for t in texts if contrast(t["fill"], t["background"]) < MIN_CONTRAST}
    assert faint == set(), f"chart text below {MIN_CONTRAST}:1"


def assert_no_sideways_page_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


TABLE = """(table) => {
  const box = table.closest('.table-scroll');
  const figure = table.closest('figure');
  const caption = figure.querySelector('figcaption');
  const cue = figure.querySelector('.scroll-cue');
  const firsts = () => [...table.rows].map((row) => row.cells[0].getBoundingClientRect().left);
  const cueShown = () => cue.getBoundingClientRect().height > 0 && getComputedStyle(cue).visibility === 'visible';
  const before = { state: box.dataset.scroll, cue: cueShown(), firsts: firsts() };
  box.scrollLeft = box.scrollWidth;
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
    const last = table.rows[1].cells[table.rows[1].cells.length - 1].getBoundingClientRect();
    const r = box.getBoundingClientRect();
    const c = caption.getBoundingClientRect();
    resolve({
      before, after: { state: box.dataset.scroll, cue: cueShown(), firsts: firsts() },
      boxLeft: r.left, lastCellInBox: last.left >= r.left && last.right <= r.right + 0.5,
      captionOutside: !box.contains(caption), captionInView: c.left >= 0 && c.right <= innerWidth,
      captionNamesTable: table.getAttribute('aria-labelledby') === caption.id,
      captionClipped: caption.scrollWidth > caption.clientWidth,
    });
  })));
}"""


@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s[0]}px")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_report_charts_on_a_phone_have_text_of_12_px_or_more(browser, report_url, size, scheme):
    context, page, log = open_page(browser, report_url, size, scheme, READY)
    try:
        assert_chart_text_readable(page, "#loss-chart svg.chart, #accuracy-chart svg.chart", 2)
        assert_no_sideways_page_scroll(page, size[0])
        assert log.errors == []
    finally:
        context.close()


def test_report_charts_are_redrawn_for_a_new_width(browser, report_url):
    """Turning a phone (or resizing a window) draws the charts again for the new width: the text keeps its size."""
    context, page, _ = open_page(browser, report_url, PHONES[0], "light", READY)
    try:
        page.set_viewport_size({"width": 320, "height": 640})
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")  # resize observed
        assert page.eval_on_selector("#loss-chart svg", "svg => svg.viewBox.baseVal.width") < 320
        assert_chart_text_readable(page, "#loss-chart svg.chart, #accuracy-chart svg.chart", 2)
    finally:
        context.close()


@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s[0]}px")
def test_report_tables_on_a_phone_scroll_inside_with_a_cue_and_the_first_column_kept(browser, report_url, size):
    context, page, log = open_page(browser, report_url, size, "light", READY)
    try:
        for table in REPORT_TABLES:
            seen = page.eval_on_selector(table, TABLE)
            assert seen["before"]["state"] == "more" and seen["before"]["cue"], f"{table}: no scroll cue"
            assert seen["after"]["state"] == "end" and not seen["after"]["cue"], f"{table}: cue left at the end"
            assert all(abs(x - seen["boxLeft"]) < 1 for x in seen["after"]["firsts"]), f"{table}: first column scrolled away"
            assert seen["lastCellInBox"], f"{table}: the last column cannot be scrolled into view"
            assert seen["captionOutside"] and seen["captionInView"] and not seen["captionClipped"], table
            assert seen["captionNamesTable"], table
        # A shape such as (N, 26, 26, 32) stays on one line.
        lines = page.eval_on_selector_all("#architecture td.shape", """cells => cells.map((c) => {
            const range = document.createRange(); range.selectNodeContents(c); return range.getClientRects().length; })""")
        assert len(lines) > 5 and set(lines) == {1}
        # A keyboard reaches each scroll box (arrow keys then scroll it) and sees where the focus is.
        page.keyboard.press("Tab")  # the keyboard in use: focus rings show
        for box in page.locator(".table-scroll").all():
            box.focus()
            ring = box.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
            assert ring.startswith("solid") and not ring.endswith(" 0px"), ring
        assert_no_sideways_page_scroll(page, size[0])
        assert log.errors == []
    finally:
        context.close()


def test_report_tables_that_fit_on_a_desktop_show_no_cue(browser, report_url):
    context, page, _ = open_page(browser, report_url, DESKTOP, "light", READY)
    try:
        for table in ("#confusion", "#architecture"):
            seen = page.eval_on_selector(table, TABLE)
            assert seen["before"]["state"] == "none" and not seen["before"]["cue"], table
        assert_chart_text_readable(page, "#loss-chart svg.chart, #accuracy-chart svg.chart", 2)
    finally:
        context.close()


def test_train_page_charts_are_its_own_readable_on_a_phone_with_their_numbers(browser, site_url):
    """A finished run clears the progress line; a stopped one says how far it got. The charts are the site's
    SVG (no tfjs-vis), readable at 390 and 320 px in both schemes, with the per-epoch numbers as a table that
    matches them. The lab trains once, on a 390 px phone; the phone then turns dark and narrows to 320 px, as a
    visitor's can, and the charts are drawn again for it."""
    context, page, log = open_page(browser, site_url + f"train.html?hold-at-batch={HOLD_AFTER_EPOCH_1}", PHONES[0],
                                   "light", 'body[data-state="idle"]')
    try:
        assert page.evaluate("typeof window.tfvis") == "undefined"
        assert page.locator('script[src*="tfjs-vis"], .vega-embed').count() == 0
        page.fill("#epochs", "1")  # a whole run: over before the hold
        page.click("#start")
        page.wait_for_selector('body[data-state="done"]', timeout=120_000)
        assert page.text_content("#time-left") == "", "the progress line is cleared after a finished run"

        page.fill("#epochs", "2")
        page.click("#start")
        page.wait_for_selector(f'body[data-held-at-batch="{HOLD_AFTER_EPOCH_1}"]', timeout=120_000)
        page.click("#stop")
        page.evaluate("window.trainLab.release()")
        page.wait_for_selector('body[data-state="done"]', timeout=120_000)
        assert page.text_content("#time-left") == "Stopped after epoch 1 of 2"

        boxes = ["#chart-batch-loss", "#chart-batch-accuracy", "#chart-epoch-loss", "#chart-epoch-accuracy"]
        charts = ", ".join(f"{b}[data-rendered] > svg.chart" for b in boxes)
        batch_points = page.eval_on_selector("#chart-batch-loss polyline", "p => p.points.numberOfItems")
        assert batch_points == HOLD_AFTER_EPOCH_1, "one point per batch of the run"
        # The whole epoch, charted and in the table; the one Stop cut short, in neither.
        rows = page.eval_on_selector_all("#epoch-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        dots = {metric: page.eval_on_selector_all(f"#chart-epoch-{metric} circle", "cs => cs.map(c => [+c.dataset.x, +c.dataset.y])")
                for metric in ("loss", "accuracy")}
        assert rows == [["1", f"{dots['loss'][0][1]:.4f}", f"{dots['accuracy'][0][1]:.4f}"]]
        assert [x for x, _ in dots["loss"]] == [1] == [x for x, _ in dots["accuracy"]]

        for size, scheme in [(PHONES[0], "light"), (PHONES[0], "dark"), (PHONES[1], "light")]:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            page.emulate_media(color_scheme=scheme)
            page.eval_on_selector("#confusion", "(t) => { t.closest('.table-scroll').scrollLeft = 0; }")
            page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            assert_chart_text_readable(page, charts, 4)
            width = page.evaluate("document.getElementById('chart-epoch-loss').getBoundingClientRect().width")
            assert width <= size[0], (size, scheme)
            drawn = page.eval_on_selector("#chart-epoch-loss svg.chart", "(svg) => svg.viewBox.baseVal.width")
            assert abs(drawn - width) <= 1, "the chart is drawn again at its box's new width"
            assert_no_sideways_page_scroll(page, size[0])

            seen = page.eval_on_selector("#confusion", TABLE)
            assert seen["before"]["state"] == "more" and seen["before"]["cue"], (size, scheme)
            assert all(abs(x - seen["boxLeft"]) < 1 for x in seen["after"]["firsts"])
            assert seen["captionOutside"] and seen["captionInView"] and seen["captionNamesTable"]
        assert log.errors == []
    finally:
        context.close()
