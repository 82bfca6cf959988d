"""Training in the browser (train.html) per tfjs backend: images/s and held-out accuracy.

    python -m bench.browser_training --dist dist [--seconds 90] [--backend wasm --backend cpu ...]

Serves DIST under /digits/, opens train.html?backend=NAME in headless Chromium
for each backend, trains the page's model from scratch (6 epochs of the shipped
12,000-image subset, the page's defaults) and presses Stop when the time cap is
reached (60 s: the train page's budget is ≥ 98 % within 60 s of Start); the page then evaluates on its 2,000 held-out images. Records images/s
(training only), images trained on, training seconds, accuracy and the WebGL
renderer into bench/results/browser_training.json (bench/results_file.py).

"webgl" runs Chromium with SwiftShader (--use-angle=swiftshader), the software
renderer a machine without a GPU gets; the others run with --disable-gpu as
the tests do.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from playwright.sync_api import sync_playwright

from bench.chromium import QUIET
from bench.results_file import command_option, save_result
from pipeline.tools.serve import serve_in_background

BASE = "/digits/"
COMMON_ARGS = ["--no-sandbox", *QUIET]
BROWSER_ARGS = {  # per backend: how Chromium is started
    "wasm": [*COMMON_ARGS, "--disable-gpu"],
    "cpu": [*COMMON_ARGS, "--disable-gpu"],
    "webgl": [*COMMON_ARGS, "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
}


def run_one(playwright, chromium: str, url: str, backend: str, seconds: float, epochs: int) -> dict:
    """Train once on `backend`; returns the page's summary plus the renderer and the wall time to the result."""
    browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS[backend])
    try:
        page = browser.new_page()
        page.goto(f"{url}train.html?backend={backend}")
        page.wait_for_selector('body:not([data-state="loading"])', timeout=120_000)
        if page.get_attribute("body", "data-state") != "idle":
            return {"error": page.text_content("#status")}
        page.fill("#epochs", str(epochs))
        start = time.monotonic()
        page.click("#start", no_wait_after=True)
        try:
            page.wait_for_selector('body[data-state="done"], body[data-state="error"]', timeout=seconds * 1000)
        except Exception:  # the time cap: stop, and let the page evaluate what it has
            page.click("#stop", no_wait_after=True, timeout=120_000)
            page.wait_for_selector('body[data-state="done"], body[data-state="error"]', timeout=600_000)
        if page.get_attribute("body", "data-state") == "error":
            return {"error": page.text_content("#status")}
        summary = page.evaluate("window.trainLab.summary")
        summary["wall_seconds"] = time.monotonic() - start
        summary["renderer"] = (page.evaluate("window.trainLab.webgl") or {}).get("renderer", "")
        return summary
    finally:
        browser.close()


@click.command()
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"), show_default=True)
@click.option("--backend", "backends", multiple=True, type=click.Choice(list(BROWSER_ARGS)), default=list(BROWSER_ARGS),
              show_default=True, help="Backends to measure (repeatable).")
@click.option("--seconds", type=click.FloatRange(min=5), default=60, show_default=True, help="Time cap per backend; then Stop.")
@click.option("--epochs", type=click.IntRange(min=1), default=6, show_default=True, help="Epochs asked for (the page's default is 6).")
@click.option("--chromium", default="/usr/bin/chromium", show_default=True, help="Chromium executable.")
@command_option("bench.browser_training")
def main(dist, backends, seconds, epochs, chromium, command_line):
    """Measure training in the browser per backend; write bench/results/browser_training.json."""
    server, url = serve_in_background(dist, base=BASE)
    rows = []
    loads = []  # 1-minute load average as each backend starts: these figures scale with how busy the cores are
    try:
        with sync_playwright() as playwright:
            for backend in backends:
                loads.append(f"{backend} {os.getloadavg()[0]:.1f}")
                result = run_one(playwright, chromium, url, backend, seconds, epochs)
                label = f"{backend} ({'software' if 'swiftshader' in result.get('renderer', '').lower() else 'GPU'})" if backend == "webgl" else backend
                if "error" in result:
                    click.echo(f"{label}: {result['error']}")
                    rows.append([label, None, None, None, None, result["error"]])
                    continue
                row = [label, round(result["imagesPerSecond"]), result["images"], round(result["seconds"], 1),
                       round(result["accuracy"] * 100, 2), "stopped at the time cap" if result["stopped"] else "all epochs"]
                click.echo(" | ".join(str(c) for c in row))
                rows.append(row)
    finally:
        server.shutdown()
        server.server_close()
    path = save_result(
        "browser_training",
        title="Training in the browser (train.html), per tfjs backend",
        command=command_line,
        columns=["backend", "images/s", "images trained", "training s", "held-out accuracy %", "run"],
        rows=rows,
        notes=(f"headless Chromium, the page's model (20,746 parameters, batch 64, Adam 0.005 cosine, each image shifted "
               "by up to 1 pixel each way per epoch), "
               f"{epochs} epochs of the 12,000-image subset or Stop after {seconds:g} s; accuracy on the 2,000 "
               "held-out MNIST test images shipped with the page. Load average (1 min) as each backend started: "
               + ", ".join(loads) + "."),
    )
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
