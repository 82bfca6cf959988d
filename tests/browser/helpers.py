"""What the browser tests share: the site served as GitHub Pages serves it, a log of what a page did,
and a pen that draws on the pad (shapes as polylines in pad units: fractions of the pad's height, x right, y down;
the pad is wider than high, so 0-1 along both axes is its left-hand square).

Fixtures that use these live in conftest.py.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench import mouse
from pipeline.build.site import build
from pipeline.contract import PAD_PEN
from pipeline.data import handwriting
from pipeline.tools.serve import serve_in_background
from tests.helpers import NODE_MODULES, ROOT, quiet

SUB_PATH = "/digits/"  # like GitHub Pages' /REPO/
READY = 'body[data-ready="true"]'
STEP = 1 / 60  # distance between pointer events along a stroke, canvas units
PEN_FRACTION = PAD_PEN  # the page's pen width, fraction of the pad's height (margin only)
# distance between mouse events along a stroke, fraction of the canvas side (about 7-10 px: a hand
# at a brisk 500 px/s at 60 events a second)
MOUSE_STEP = 1 / 40
ONE = [[(0.52, 0.18), (0.47, 0.82)]]
ZERO = [[(0.5 + 0.22 * math.sin(t), 0.5 - 0.32 * math.cos(t)) for t in np.linspace(0, 2.1 * math.pi, 60)]]
SEVEN = [[(0.28, 0.22), (0.72, 0.22), (0.42, 0.84)]]
FOUR = [[(0.55, 0.15), (0.28, 0.6), (0.75, 0.6)], [(0.62, 0.38), (0.62, 0.88)]]  # two strokes


@contextlib.contextmanager
def serving(root: Path):
    """Serve the folder `root` (a dist/) on 127.0.0.1 under SUB_PATH; yields its URL,
    "http://127.0.0.1:PORT/digits/". .wasm goes out as application/wasm, .js as text/javascript."""
    server, url = serve_in_background(root, base=SUB_PATH)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class PageLog:
    """What a page did: the URLs it requested and its uncaught errors."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def outside(self, origin: str) -> list[str]:
        """Requests to anywhere but `origin` (scheme://host:port); data: and blob: URLs stay in the page."""
        return [url for url in self.requests if urlsplit(url).scheme not in ("data", "blob") and not _same_origin(url, origin)]


class BrowserErrors:
    """Every error of the browser contexts it watches: uncaught exceptions and unhandled rejections of
    pages and of their workers (Playwright reports both as web errors), and console messages of type
    error from pages and workers (a resource that failed to load, a CSP violation, console.error)."""

    def __init__(self):
        self.messages: list[str] = []

    def watch(self, context) -> None:
        context.on("weberror", lambda error: self.messages.append(f"uncaught: {error.error}"))
        context.on("console", lambda message: message.type == "error" and self.messages.append(
            f"console.error: {message.text} ({message.location.get('url', '')})"))

    def unexpected(self, patterns: tuple[str, ...]) -> list[str]:
        """The messages that match none of the regular expressions `patterns` (re.search)."""
        return [m for m in self.messages if not any(re.search(p, m) for p in patterns)]

    def unseen(self, patterns: tuple[str, ...]) -> list[str]:
        """The patterns that match no message."""
        return [p for p in patterns if not any(re.search(p, m) for m in self.messages)]


def _same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def scaled(strokes, size: float, corner: tuple[float, float]):
    """The strokes shrunk to `size` (canvas units) and moved so their unit box starts at `corner`."""
    return [[(corner[0] + size * x, corner[1] + size * y) for x, y in stroke] for stroke in strokes]


def densify(stroke, step: float = STEP) -> list[tuple[float, float]]:
    """The points of a polyline with at most `step` between neighbours."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        points += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return points


def pad_box(page) -> tuple[float, float, float]:
    """(x, y, height) of the drawing pad in CSS pixels of the viewport: its corner and one pad unit."""
    box = page.locator("#pad").bounding_box()
    return box["x"], box["y"], box["height"]


def draw_with_mouse(page, strokes) -> None:
    x0, y0, side = pad_box(page)
    for stroke in strokes:
        mouse.stroke(page, [(x0 + x * side, y0 + y * side) for x, y in densify(stroke)])


def draw_with_touch(page, cdp, strokes) -> None:
    """One finger, through Chromium's own touch input (CDP), as a phone sends it."""
    x0, y0, side = pad_box(page)
    for stroke in strokes:
        points = [{"x": x0 + x * side, "y": y0 + y * side} for x, y in densify(stroke)]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for point in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def draw_paths(page, paths: tuple[np.ndarray, ...], origin: tuple[float, float], step: float) -> None:
    """Draw polylines ((K, 2) canvas CSS pixels) with the mouse, one press per
    stroke and a mouse event every `step` pixels along it."""
    for path in paths:
        mouse.stroke(page, handwriting.resample(path, step) + origin)


def prediction_after(page, strokes: int) -> str:
    """The predicted label once the page has accounted for `strokes` finished strokes."""
    return page.wait_for_selector(f'#prediction[data-strokes="{strokes}"]').text_content()


def probabilities(page) -> dict[str, float]:
    return page.eval_on_selector_all("#probabilities > [data-digit]", "rows => Object.fromEntries(rows.map(r => [r.dataset.digit, Number(r.dataset.p)]))")


def assert_cleared(page) -> None:
    page.wait_for_selector('#prediction[data-strokes="0"]')
    assert page.text_content("#prediction") == ""
    assert set(probabilities(page).values()) == {0.0}


def after_queued_tasks(page) -> None:
    """Return once the page has drawn its next frame (the pad renders ink in one) and then run every task
    queued so far (a pen-up's handling and the promises it settles): an error any of them threw has been
    reported by then, whatever the machine's speed. A state, not a timer."""
    page.evaluate("new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))")


def clear(page) -> None:
    page.click("#clear")
    page.wait_for_selector('#prediction[data-strokes="0"], #prediction:not([data-strokes])', state="attached")


def another_build(artifacts: Path, tmp_path: Path) -> Path:
    """tmp_path/dist-b: the same model built from a template whose drawing page's heading says "build B", so
    every page, the cache name and the service worker's version differ from the ordinary build."""
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    index = template / "index.html"
    index.write_text(index.read_text().replace("<h1>Draw a digit</h1>", "<h1>Draw a digit, build B</h1>"))
    out = tmp_path / "dist-b"
    build(artifacts, out, template, NODE_MODULES, log=quiet)
    return out


def taught_a_seven(page, site_url: str) -> None:
    """The site opened, a 7 drawn and read, and its row tapped: the page has learnt one digit of the visitor's."""
    page.goto(site_url)
    page.wait_for_selector(READY)
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    page.click('#probabilities > [data-digit="7"]')
    page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
