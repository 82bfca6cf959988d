"""bench/mouse.py: a stroke drawn with every move in flight at once reaches the page whole and in order.

The helper leans on Playwright's private asynchronous core; if an upgrade changes it, or sends the
moves out of order, this fails here rather than as a misread digit somewhere else."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import mouse

PAGE = """<!doctype html><meta charset="utf-8"><title>pen</title><link rel="icon" href="data:,">
<style>body { margin: 0 }</style>
<canvas id="pad" width="400" height="300" style="touch-action: none; display: block; margin: 0"></canvas>
<script src="pen.js"></script>"""
PEN = """const pad = document.getElementById('pad');
window.pen = [];
pad.addEventListener('pointerdown', (e) => { pad.setPointerCapture(e.pointerId); pen.push(['down', e.clientX, e.clientY, e.isTrusted]); });
pad.addEventListener('pointermove', (e) => {
  if (e.buttons !== 1) return;
  for (const each of e.getCoalescedEvents()) pen.push(['move', each.clientX, each.clientY, e.isTrusted]);
});
pad.addEventListener('pointerup', (e) => { pen.push(['up', e.clientX, e.clientY, e.isTrusted]); document.body.dataset.up = String(Number(document.body.dataset.up || 0) + 1); });
"""


@pytest.mark.browser
def test_every_point_of_a_fast_stroke_arrives_in_order_as_the_browsers_own_events(page, serve, tmp_path):
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "pen.js").write_text(PEN)
    page.goto(serve(tmp_path))
    spiral = [(200 + 4 * t * math.cos(t), 150 + 4 * t * math.sin(t)) for t in [i / 10 for i in range(1, 300)]]
    for n in (1, 2):
        mouse.stroke(page, spiral)
        page.wait_for_selector(f'body[data-up="{n}"]', state="attached")
    pen = page.evaluate("pen")
    assert all(trusted for *_, trusted in pen), "the browser's own input, not events made up in the page"
    kinds = [kind for kind, *_ in pen]
    assert kinds == (["down"] + ["move"] * (len(spiral) - 1) + ["up"]) * 2
    drawn = [(x, y) for _, x, y, _ in pen[: len(spiral) + 1]]
    # every point, in order, and released where the stroke ends
    np.testing.assert_allclose(drawn, spiral + spiral[-1:], atol=0.01)
