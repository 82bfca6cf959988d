"""The page and `pipeline predict` read a drawing alike: real canvases, drawn with the mouse in
headless Chromium, saved as PNG (toDataURL), give the same 28x28 image in Python as the page's
own preprocess.js gives in the page, within 2/255 per pixel; also when the capture is flattened
onto white (dark on light) or black (light on dark)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image

from bench import placement
from pipeline.data import handwriting
from pipeline.tools.predict import image_to_mnist
from tests.browser.helpers import clear, draw_paths, MOUSE_STEP, PEN_FRACTION

N_CANVASES = 8
TOLERANCE = 2 / 255  # per pixel, 0-1 scale
SEED = 777

# Runs in the page: the canvas as a PNG data URL, and the page's own preprocessing
# (js/preprocess.js, imported from the page's origin; nothing new exposed) of the same canvas.
CAPTURE = """async () => {
  const canvas = document.getElementById('pad');
  const { imageSize, fitSize } = JSON.parse(document.getElementById('app-config').textContent);
  const { alphaChannel, toMnist } = await import(new URL('js/preprocess.js', document.baseURI).href);
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const image = toMnist(alphaChannel(rgba), width, height, { imageSize, fitSize });
  return { png: canvas.toDataURL('image/png'), mnist: image && Array.from(image), imageSize };
}"""


def save_data_url(url: str, path) -> None:
    header, payload = url.split(",", 1)
    assert header == "data:image/png;base64"
    path.write_bytes(base64.b64decode(payload))


def flatten(png, background: str, path) -> None:
    """The capture composited onto an opaque `background` ('white' or 'black'), saved as PNG."""
    rgba = Image.open(png).convert("RGBA")
    ink_colour = (0, 0, 0, 0) if background == "white" else (255, 255, 255, 0)
    alpha = rgba.getchannel("A")
    pen = Image.new("RGBA", rgba.size, ink_colour)
    pen.putalpha(alpha)  # the capture's coverage, in a colour that contrasts with the background
    Image.alpha_composite(Image.new("RGBA", rgba.size, background), pen).convert("RGB").save(path)


@pytest.mark.browser
def test_python_reads_saved_canvases_as_the_page_does(ready_page, mnist, tmp_path):
    page = ready_page
    box = page.locator("#pad").bounding_box()
    side = min(box["width"], box["height"])
    rng = np.random.default_rng(SEED)
    worst = 0.0
    for n, index in enumerate(placement.pick_digits(mnist.y_test, N_CANVASES, SEED)):
        strokes = handwriting.image_to_strokes(mnist.x_test[index])
        placed = placement.place(strokes, side, rng, margin=side * PEN_FRACTION / 2 + 2)
        clear(page)
        draw_paths(page, placed.paths, (box["x"], box["y"]), side * MOUSE_STEP)
        page.wait_for_selector(f'#prediction[data-strokes="{len(placed.paths)}"]')
        captured = page.evaluate(CAPTURE)
        assert captured["mnist"] is not None, "the page saw no ink"
        from_page = np.array(captured["mnist"], np.float32).reshape(captured["imageSize"], captured["imageSize"])
        png = tmp_path / f"canvas-{n}-test{index}.png"
        save_data_url(captured["png"], png)
        variants = {"transparent": png}
        for background in ("white", "black"):
            variants[background] = tmp_path / f"canvas-{n}-on-{background}.png"
            flatten(png, background, variants[background])
        for name, path in variants.items():
            from_python, polarity = image_to_mnist(path)
            difference = float(np.abs(from_python - from_page).max())
            worst = max(worst, difference)
            assert difference <= TOLERANCE, f"{path.name}: {difference * 255:.1f}/255 apart from the page's own"
            assert polarity == {"transparent": "alpha", "white": "dark-on-light", "black": "light-on-dark"}[name]
    print(f"\npreprocess parity: {N_CANVASES} canvases x 3 files, largest difference {worst * 255:.2f}/255")
