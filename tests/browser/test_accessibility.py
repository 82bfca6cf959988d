"""Accessibility details Lighthouse does not check: a 360 px phone screen, and a visible keyboard focus."""

from __future__ import annotations

import pytest

from tests.browser.helpers import draw_with_mouse, PageLog, prediction_after, READY, SEVEN


pytestmark = pytest.mark.browser


def test_usable_on_a_360_px_wide_screen(browser, site_url):
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(site_url)
        page.wait_for_selector(READY)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways"
        pad = page.locator("#pad").bounding_box()
        clear = page.locator("#clear").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 360 and pad["width"] >= 300
        assert clear["y"] + clear["height"] <= 640, "Clear is reachable without scrolling"
        assert clear["height"] >= 44, "a comfortable touch target"
        draw_with_mouse(page, SEVEN)
        assert prediction_after(page, 1) == "7"
        assert log.errors == []
    finally:
        context.close()


def test_keyboard_focus_is_visible(ready_page):
    for _ in range(5):
        ready_page.keyboard.press("Tab")
        if ready_page.evaluate("document.activeElement.id") == "clear":
            break
    outline = ready_page.eval_on_selector("#clear", "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
