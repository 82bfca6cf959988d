"""Doubt: where the model is unsure, the page shows "?" and says why (site_template/js/doubt.js).

The real model is rarely unsure of a clear drawing, so most tests here raise the page's thresholds
(doubtBelow and tornAbove, rendered from pipeline/contract.py into index.html) in a private copy of
the built site: every reading is then doubtful, and the page must show it as such.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.browser.helpers import ONE, SEVEN, READY, draw_with_mouse, prediction_after, probabilities, scaled

pytestmark = pytest.mark.browser


def with_thresholds(dist, doubt_below: float, torn_above: float):
    """`dist` with the page's doubt thresholds set as given."""
    index = dist / "index.html"
    html = index.read_text()
    assert '"doubtBelow": 0.5' in html and '"tornAbove": 0.8' in html
    index.write_text(html.replace('"doubtBelow": 0.5', f'"doubtBelow": {doubt_below}')
                     .replace('"tornAbove": 0.8', f'"tornAbove": {torn_above}'))
    return dist


def top_two(page) -> list[str]:
    shown = probabilities(page)
    return sorted(shown, key=lambda digit: -shown[digit])[:2]


def test_a_clear_digit_is_named_and_the_status_invites_a_correction(ready_page):
    draw_with_mouse(ready_page, SEVEN)
    assert prediction_after(ready_page, 1) == "7"
    assert ready_page.text_content("#status") == "Wrong? Pick the right one below."


SPIRAL = [[(0.5 + 0.3 * t / 15.7 * math.cos(t), 0.5 + 0.3 * t / 15.7 * math.sin(t)) for t in np.linspace(0.3, 15.7, 90)]]


def test_a_drawing_that_is_no_digit_is_a_question_mark_and_says_so(ready_page):
    """With the page's own thresholds: the model's 11th output, not a digit, beats every digit."""
    draw_with_mouse(ready_page, SPIRAL)
    assert prediction_after(ready_page, 1) == "?"
    assert ready_page.text_content("#status") == "That does not look like a digit."
    shown = probabilities(ready_page)
    assert len(shown) == 10 and sum(shown.values()) < 0.5, "the ten digits hold less than the 11th"
    ready_page.click("#clear")
    draw_with_mouse(ready_page, scaled(ONE, 0.35, (0.1, 0.3)) + scaled(SPIRAL, 0.35, (0.5, 0.3))
                    + scaled(SEVEN, 0.35, (0.9, 0.3)))  # pad units are its height; it is wider
    assert prediction_after(ready_page, 3) == "1?7"
    assert ready_page.text_content("#status") == "digit 2: not a digit?"


def test_a_digit_torn_between_two_is_a_question_mark_naming_both(page, copy_of_dist, serve):
    page.goto(serve(with_thresholds(copy_of_dist, 1.01, 0.0)))  # nothing is sure; any top two are "torn"
    page.wait_for_selector(READY)
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "?"
    first, second = top_two(page)
    assert page.text_content("#status") == f"{first} or {second}?"
    assert page.get_attribute("#status", "data-state") == "ready"
    assert page.text_content("#announcer") == f"Not sure: {first} or {second}?"


def test_a_number_with_doubtful_digits_shows_a_question_mark_in_each_place(page, copy_of_dist, serve):
    page.goto(serve(with_thresholds(copy_of_dist, 1.01, 1.01)))  # nothing is sure, nothing is "torn"
    page.wait_for_selector(READY)
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "?"
    assert page.text_content("#status") == "That does not look like a digit."
    page.click("#clear")
    draw_with_mouse(page, scaled(ONE, 0.5, (0.2, 0.25)) + scaled(SEVEN, 0.5, (0.8, 0.25)))
    assert prediction_after(page, 2) == "??"
    assert page.text_content("#status") == "digit 1: not a digit?; digit 2: not a digit?"
    assert page.locator("#digits > li .label").all_text_contents() == ["?", "?"]
    page.click("#clear")
    page.wait_for_selector('#prediction[data-strokes="0"]')
    assert page.text_content("#status") == "Ready: draw a digit, or a number."
