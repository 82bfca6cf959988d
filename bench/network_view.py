"""The network view's speed (network.html): one full update of every layer, and the frame interval while drawing.

    python -m bench.network_view --dist dist    # -> bench/results/network-view.json

In headless Chromium at device pixel ratio 2, the built site served under /digits/ like a Pages project:
- update: window.networkView.show(an MNIST test digit), timed in the page from the call until every layer's
  tiles are drawn (the model worker's run of the graph model's nodes, the round trip, the drawing); the saliency
  that follows is left to finish before the next digit, and is not counted;
- frame interval: animation frames while a stroke is drawn with the mouse, one move a frame (headless Chromium
  handles one per frame), the view updating live under the pen.
Ceilings: update ≤ 8 ms median, frame interval ≤ 20 ms median.
"""

from __future__ import annotations

import os
import shutil
import statistics
from pathlib import Path

import click
import numpy as np
from playwright.sync_api import sync_playwright

from bench.chromium import CHROMIUM_ARGS
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.data.mnist import load_mnist
from pipeline.tools.serve import serve_in_background

BASE = "/digits/"
UPDATE_CEILING_MS = 8
FRAME_CEILING_MS = 20
TIMED_SHOW = """async (pixels) => {
  const started = performance.now();
  await window.networkView.show(new Uint8Array(pixels));
  const took = performance.now() - started;
  await window.networkView.saliency();
  return took;
}"""
RECORD_FRAMES = """() => {
  window.__frames = [];
  const tick = (t) => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(tick); };
  window.__stop = false;
  requestAnimationFrame(tick);
}"""
FRAME_INTERVALS = """() => { window.__stop = true; const f = window.__frames; return f.slice(1).map((t, i) => t - f[i]); }"""


def measure(url: str, chromium: str | None, images: np.ndarray, moves: int) -> tuple[list[float], list[float], str]:
    """(update times, frame intervals) in ms, and Chromium's version."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(device_scale_factor=2, viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{url}network.html")
            page.wait_for_selector('#network[data-ready="true"]')
            page.evaluate(TIMED_SHOW, images[0].ravel().tolist())  # warm: every kernel compiled once
            updates = [page.evaluate(TIMED_SHOW, image.ravel().tolist()) for image in images]
            box = page.locator("#pad").bounding_box()
            page.evaluate(RECORD_FRAMES)
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
            page.mouse.down()
            for t in np.linspace(0, 4 * np.pi, moves):  # a loop drawn round and round
                page.mouse.move(box["x"] + box["width"] * (0.5 + 0.25 * np.sin(t)), box["y"] + box["height"] * (0.5 - 0.3 * np.cos(t / 2)))
            page.mouse.up()
            frames = page.evaluate(FRAME_INTERVALS)
            return updates, frames, browser.version
        finally:
            browser.close()


def rows(updates: list[float], frames: list[float]) -> list[list]:
    """One row: update median and p90, frame interval median and p90 (ms), whether each ceiling is met."""
    update, frame = statistics.median(updates), statistics.median(frames)
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    return [[round(update, 1), round(float(np.percentile(updates, 90)), 1), round(frame, 1),
             round(float(np.percentile(frames, 90)), 1),
             f"update {met(update <= UPDATE_CEILING_MS)}, frames {met(frame <= FRAME_CEILING_MS)}"]]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS, show_default=True,
              help="Where network-view.json goes.")
@click.option("--digits", type=click.IntRange(min=1), default=50, show_default=True, help="MNIST test digits shown.")
@click.option("--moves", type=click.IntRange(min=2), default=240, show_default=True, help="Mouse moves of the stroke.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
@command_option("bench.network_view")
def main(dist: Path, results_dir: Path, digits: int, moves: int, chromium: str, command_line: str):
    """Time the network view's updates and frames; write bench/results/network-view.json and print the table."""
    if not (dist / "network.html").is_file():
        raise click.ClickException(f"{dist}: no network.html; build the site first (make build)")
    load_at_start = round(os.getloadavg()[0], 2)
    images = load_mnist(log=lambda *_: None).x_test[:digits]
    server, url = serve_in_background(dist, base=BASE)
    try:
        updates, frames, version = measure(url, chromium, images, moves)
    finally:
        server.shutdown()
        server.server_close()
    columns = ["update, median (ms)", "update, p90", "frame interval, median (ms)", "frame, p90",
               f"≤ {UPDATE_CEILING_MS} / ≤ {FRAME_CEILING_MS} ms"]
    result = rows(updates, frames)
    path = save_result("network-view", results_dir=results_dir, title="Network view: speed",
                       command=command_line, columns=columns, rows=result, extra_machine={"chromium": version, "load_average_1m_at_start": load_at_start},
                       notes=f"DPR 2; {digits} digits shown, {len(frames)} frames of a {moves}-move stroke.")
    click.echo(f"\n{table(columns, result)}\n\nwrote {path}")


if __name__ == "__main__":
    main()
