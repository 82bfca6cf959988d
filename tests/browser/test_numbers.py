"""Numbers: several digits written side by side on the pad are each found, read, and shown left to right,
with the image the model read for each (#model-view); on a laptop and on a phone.

Drawn with the mouse (and on the phone with touch), in pad units: fractions of the pad's height.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from bench import placement
from pipeline.data import handwriting
from tests.browser.helpers import (
    assert_cleared, clear, draw_paths, draw_with_mouse, draw_with_touch, FOUR, MOUSE_STEP, ONE, pad_box, PEN_FRACTION,
    prediction_after, probabilities, READY, scaled, SEVEN, ZERO,
)

SHAPES = {"1": ONE, "0": ZERO, "7": SEVEN, "4": FOUR}  # each in a unit box, about 0.25-0.75 of it wide
N_NUMBERS = 20  # numbers made from MNIST test digits, 2-4 digits each
MIN_EXACT = 0.9  # of them read exactly, whole number right
SEED = 1107


def number(text: str, size: float = 0.4, gap: float = 0.06, top: float = 0.3) -> list:
    """The strokes of `text` (digits of SHAPES) written left to right, each `size` pad units high, their
    unit boxes `gap` apart after their ink, each baseline a little lower than the last (drift)."""
    strokes, x = [], 0.05
    for i, char in enumerate(text):
        shape = SHAPES[char]
        xs = [px for stroke in shape for px, _ in stroke]
        strokes += scaled(shape, size, (x - min(xs) * size, top + 0.02 * i))
        x += (max(xs) - min(xs)) * size + gap
    return strokes


def model_view(page) -> list[float]:
    """Per #model-view canvas, in order: its mean brightness (0-1): the ink the model was given."""
    return page.eval_on_selector_all(
        "#model-view canvas",
        """canvases => canvases.map(c => {
             const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let sum = 0;
             for (let i = 0; i < data.length; i += 4) sum += data[i];
             return sum / (255 * c.width * c.height);
           })""",
    )


@pytest.mark.browser
@pytest.mark.parametrize("text", ["1740", "704"])
def test_a_number_drawn_with_the_mouse_reads_exactly(ready_page, text):
    strokes = number(text)
    draw_with_mouse(ready_page, strokes)
    assert prediction_after(ready_page, len(strokes)) == text
    ink = model_view(ready_page)
    assert len(ink) == len(text), "one model-view canvas per digit read"
    assert all(0.05 < mean < 0.5 for mean in ink), f"each canvas shows a digit's ink: {ink}"
    assert ready_page.locator("#digits > li").count() == len(text)


@pytest.mark.browser
def test_picking_a_digit_lists_its_probabilities(ready_page):
    strokes = number("17")
    draw_with_mouse(ready_page, strokes)
    assert prediction_after(ready_page, len(strokes)) == "17"
    p = probabilities(ready_page)
    assert max(p, key=p.get) == "7", "the digit written last is listed first"
    ready_page.click('#digits button[data-index="0"]')
    ready_page.wait_for_selector('#digits button[data-index="0"][aria-pressed="true"]')
    p = probabilities(ready_page)
    assert max(p, key=p.get) == "1"
    assert sum(p.values()) == pytest.approx(1, abs=1e-3)
    assert ready_page.locator('#digits button[data-index="0"] .choice').first.text_content().startswith("1 ")


@pytest.mark.browser
def test_one_digit_alone_shows_no_list_of_digits(ready_page):
    draw_with_mouse(ready_page, number("4"))
    assert prediction_after(ready_page, 2) == "4"
    assert ready_page.locator("#digits").is_hidden()
    assert ready_page.locator("#model-view canvas").count() == 1


@pytest.mark.browser
def test_clear_empties_the_number_and_the_model_view(ready_page):
    strokes = number("704")
    draw_with_mouse(ready_page, strokes)
    assert prediction_after(ready_page, len(strokes)) == "704"
    ready_page.click("#clear")
    assert_cleared(ready_page)
    assert ready_page.locator("#model-view canvas").count() == 0
    assert ready_page.locator("#digits").is_hidden()
    assert ready_page.locator("#digits > li").count() == 0


@pytest.mark.browser
def test_four_digits_fit_side_by_side_on_a_phone(browser, site_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(site_url)
        page.wait_for_selector(READY)
        x0, _, height = pad_box(page)
        width = page.locator("#pad").bounding_box()["width"]
        assert x0 >= 0 and x0 + width <= 390, "the pad fits the phone's width"
        assert width / height >= 1.4, "the pad is wider than high: room for a number"
        # four digits, each 0.4 of the pad's height, natural gaps: they must fit within the pad
        strokes = number("1704", size=0.4, gap=0.07)
        assert max(x for stroke in strokes for x, _ in stroke) * height < width
        draw_with_touch(page, context.new_cdp_session(page), strokes)
        assert prediction_after(page, len(strokes)) == "1704"
        assert page.locator("#model-view canvas").count() == 4
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing overflows sideways"
    finally:
        context.close()


@pytest.mark.browser
def test_numbers_written_from_mnist_test_digits_are_read(ready_page, mnist):
    """20 numbers of 2-4 MNIST test digits (never trained on), traced into strokes and written at natural
    sizes (a quarter to a half of the pad's height) with natural gaps and a drifting baseline."""
    box = ready_page.locator("#pad").bounding_box()
    rng = np.random.default_rng(SEED)
    picks = iter(placement.pick_digits(mnist.y_test, 3 * N_NUMBERS, SEED))
    results = []
    for _ in range(N_NUMBERS):
        indices = [next(picks) for _ in range(int(rng.integers(2, 5)))]
        digits = [handwriting.image_to_strokes(mnist.x_test[i]) for i in indices]
        placed = placement.place_number(digits, box["width"], box["height"], rng, margin=box["height"] * PEN_FRACTION)
        paths = [path for digit in placed for path in digit.paths]
        clear(ready_page)
        draw_paths(ready_page, paths, (box["x"], box["y"]), box["height"] * MOUSE_STEP)
        shown = prediction_after(ready_page, len(paths))
        true = "".join(str(mnist.y_test[i]) for i in indices)
        results.append((true, shown, ready_page.locator("#model-view canvas").count()))
    exact = sum(true == shown for true, shown, _ in results) / len(results)
    report = "\n".join(f"  {true} read {shown}" for true, shown, _ in results if true != shown)
    print(f"\nnumbers read exactly: {exact:.0%} of {len(results)}\n{report}")
    assert exact >= MIN_EXACT, report
    assert all(count == len(shown) for _, shown, count in results), "one model-view canvas per digit read"


@pytest.mark.browser
def test_the_page_and_pipeline_predict_find_the_same_digits_in_the_same_ink(ready_page, mnist, tmp_path):
    """Numbers drawn on the page, its canvas saved as PNG (transparent, the ink in alpha) and read by
    `pipeline predict`'s segmentation: the same count of digits, each digit's ink in one place of both.
    First digits whose ink broke (the page and predict must not set the typical digit height by a part),
    then numbers of MNIST test digits."""
    from PIL import Image

    from pipeline.tools.predict import image_to_digits
    from tests.helpers import written

    def saved(name: str):
        data_url = ready_page.eval_on_selector("#pad", "canvas => canvas.toDataURL('image/png')")
        (tmp_path / name).write_bytes(base64.b64decode(data_url.split(",", 1)[1]))
        assert Image.open(tmp_path / name).mode == "RGBA"
        return image_to_digits(tmp_path / name)

    for text in ("54", "04", "150"):
        strokes = written(text)
        clear(ready_page)
        draw_with_mouse(ready_page, [s.tolist() for s in strokes])
        shown = prediction_after(ready_page, len(strokes))
        found, _ = saved(f"{text}.png")
        assert len(found) == ready_page.locator("#model-view canvas").count() == len(shown) == len(text), (text, shown)

    box = ready_page.locator("#pad").bounding_box()
    rng = np.random.default_rng(SEED + 1)
    picks = iter(placement.pick_digits(mnist.y_test, 4 * 6, SEED + 1))
    for k, length in enumerate((2, 3, 4, 2, 3, 4)):
        digits = [handwriting.image_to_strokes(mnist.x_test[next(picks)]) for _ in range(length)]
        placed = placement.place_number(digits, box["width"], box["height"], rng, margin=box["height"] * PEN_FRACTION)
        paths = [path for digit in placed for path in digit.paths]
        clear(ready_page)
        draw_paths(ready_page, paths, (box["x"], box["y"]), box["height"] * MOUSE_STEP)
        shown = prediction_after(ready_page, len(paths))
        found, polarity = saved(f"{k}.png")
        page_count = ready_page.locator("#model-view canvas").count()
        assert polarity == "alpha" and len(found) == page_count == len(shown) == length, (shown, len(found))
        # each placed digit's centre falls in exactly one box of predict's, in reading order
        scale = Image.open(tmp_path / f"{k}.png").height / box["height"]
        centres = [np.concatenate(d.paths).mean(axis=0) * scale for d in placed]
        owners = [[i for i, (_, (x, y, w, h)) in enumerate(found) if x <= cx < x + w and y <= cy < y + h]
                  for cx, cy in centres]
        assert owners == [[i] for i in range(length)], owners
