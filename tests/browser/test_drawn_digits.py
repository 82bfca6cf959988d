"""Acceptance: MNIST test digits, drawn on the page with the mouse, are recognised.

The digits are handwriting the model never trained on (the MNIST test set),
turned into pen strokes by `handwriting` and drawn with the mouse (`bench.mouse`) at varied
sizes (a third to most of the canvas) and positions, with the page's own pen,
just as a person would draw them. At least 95 % must be recognised.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from bench import placement
from pipeline.data import handwriting
from tests.browser.helpers import clear, draw_paths, MOUSE_STEP, PEN_FRACTION

N_DIGITS = 120  # drawn digits, stratified over the ten classes
MIN_ACCURACY = 0.95
SEED = 20240  # picks the test images and their sizes and positions
MIN_FRACTION, MAX_FRACTION = 1 / 3, 0.85  # digit size (its longer side), fraction of the canvas side


def report(results: list[dict]) -> str:
    """Accuracy, a per-digit confusion summary and the misses, as text."""
    correct = sum(r["true"] == r["predicted"] for r in results)
    lines = [f"drawn-digit accuracy: {correct}/{len(results)} = {correct / len(results):.1%}"]
    for d in range(10):
        mine = [r for r in results if r["true"] == d]
        wrong = collections.Counter(r["predicted"] for r in mine if r["predicted"] != d)
        as_what = ", ".join(f"{k}×{v}" for k, v in wrong.most_common()) or "-"
        lines.append(f"  {d}: {len(mine) - sum(wrong.values())}/{len(mine)} right; misread as {as_what}")
    sizes = np.array([r["fraction"] for r in results])
    hits = np.array([r["true"] == r["predicted"] for r in results])
    for lo, hi in ((MIN_FRACTION, 0.5), (0.5, 0.7), (0.7, 1.0)):
        band = (sizes >= lo) & (sizes < hi)
        if band.any():
            lines.append(f"  size {lo:.2f}-{hi:.2f} of the canvas: {hits[band].mean():.1%} of {band.sum()}")
    misses = [r for r in results if r["true"] != r["predicted"]]
    lines.append(f"misses ({len(misses)}):")
    lines += [
        f"  test image {r['index']}: true {r['true']}, read {r['predicted']}, "
        f"size {r['fraction']:.2f} of the canvas, {r['strokes']} strokes, "
        f"the original's ink {r['ink']:.2f} of its size"
        for r in misses
    ]
    return "\n".join(lines)


@pytest.mark.browser
def test_mnist_test_digits_drawn_with_the_mouse_are_recognised(ready_page, mnist, tmp_path, capsys):
    page = ready_page
    box = page.locator("#pad").bounding_box()
    side = min(box["width"], box["height"])
    origin = (box["x"], box["y"])
    rng = np.random.default_rng(SEED + 1)
    results = []
    for index in placement.pick_digits(mnist.y_test, N_DIGITS, SEED):
        strokes = handwriting.image_to_strokes(mnist.x_test[index])
        placed = placement.place(strokes, side, rng, MIN_FRACTION, MAX_FRACTION, margin=side * PEN_FRACTION / 2 + 2)
        clear(page)
        draw_paths(page, placed.paths, origin, side * MOUSE_STEP)
        shown = page.wait_for_selector(f'#prediction[data-strokes="{len(placed.paths)}"]', timeout=10_000)
        text = shown.text_content().strip()
        result = {
            "index": int(index),
            "true": int(mnist.y_test[index]),
            "predicted": int(text) if text.isdigit() else text,
            "fraction": placed.fraction,
            "strokes": len(placed.paths),
            "ink": strokes.width,
        }
        if result["predicted"] != result["true"]:
            page.locator("#pad").screenshot(path=tmp_path / f"miss-{index}-true{result['true']}-read{text}.png")
        results.append(result)
    text = report(results)
    with capsys.disabled():
        print("\n" + text + f"\n(canvases of the misses: {tmp_path})")
    accuracy = np.mean([r["true"] == r["predicted"] for r in results])
    assert len(results) >= 100
    assert accuracy >= MIN_ACCURACY, text
