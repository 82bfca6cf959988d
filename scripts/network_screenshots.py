"""The screenshots of docs/network.md, taken from a built site in headless Chromium.

    python scripts/network_screenshots.py --dist dist --out docs

Writes OUT/network.png (the view with an MNIST test 9 handed over from the drawing page, a channel focused so its
exciting digits show) and OUT/network-saliency.png (the pad's column: saliency and the exciting digits).
"""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import click
import numpy as np
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repository

from bench.chromium import CHROMIUM_ARGS  # noqa: E402
from pipeline.data.mnist import load_mnist  # noqa: E402
from pipeline.tools.serve import serve_in_background  # noqa: E402

DIGIT = 9  # the first MNIST test digit of this class is shown
FOCUSED = ("c3_relu", 5)  # the layer and channel whose exciting digits show


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"), show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"), show_default=True)
@click.option("--chromium", default=shutil.which("chromium"), show_default=True, help="Chromium executable.")
def main(dist: Path, out: Path, chromium: str) -> None:
    """Take the network view's screenshots for docs/network.md."""
    if not (dist / "network.html").is_file():
        raise click.ClickException(f"{dist}: no network.html; build the site first (make build)")
    digits = load_mnist(log=lambda *_: None)
    image = digits.x_test[int(np.flatnonzero(digits.y_test == DIGIT)[0])]
    fragment = base64.b64encode(np.ascontiguousarray(image, np.uint8).tobytes()).decode()
    server, url = serve_in_background(dist, base="/digits/")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 1100}, color_scheme="light").new_page()
            page.goto(f"{url}network.html#digit={fragment}")
            page.wait_for_selector('#network[data-ready="true"]')
            page.wait_for_selector('#saliency[data-ready="true"]')
            layer, channel = FOCUSED
            page.locator(f'[data-layer="{layer}"] canvas[data-channel="{channel}"]').focus()
            page.wait_for_selector("#excites-digits canvas")
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out / "network.png")
            page.locator(".network-input").screenshot(path=out / "network-saliency.png")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    click.echo(f"wrote {out / 'network.png'} and {out / 'network-saliency.png'}")


if __name__ == "__main__":
    main()
