"""The visitor's own digits: "Wrong? Tap the right digit" keeps the drawing in IndexedDB, on this device
only; it survives a reload, downloads as a CSV that `pipeline train --extra-data` reads, and Forget
deletes every stored byte (site_template/js/personal.js)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.data.formats import parse_kaggle_csv
from tests.browser.helpers import ONE, READY, SEVEN, draw_with_mouse, prediction_after

pytestmark = pytest.mark.browser

DATABASES = "indexedDB.databases().then((all) => all.map((db) => db.name))"
KEPT = """new Promise((resolve, reject) => {
  const open = indexedDB.open('digit-pipeline-personal');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains('examples')) { db.close(); resolve([]); return; }
    const all = db.transaction('examples').objectStore('examples').getAll();
    all.onsuccess = () => { db.close(); resolve(all.result.map((e) => ({label: e.label, pixels: Array.from(e.image), strokes: e.strokes.length}))); };
  };
})"""


def model_input(page) -> np.ndarray:
    """The image the model read, as #model-view's first canvas shows it: uint8 (784,)."""
    return np.array(page.eval_on_selector(
        "#model-view canvas",
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0))"),
        np.uint8)


def test_a_digit_taught_is_kept_survives_a_reload_downloads_and_is_forgotten(page, page_log, site_url, tmp_path):
    page.goto(site_url)
    page.wait_for_selector(READY)
    assert page.get_attribute("#personal", "data-examples") == "0" and not page.is_visible("#forget")
    page.click('#probabilities > [data-digit="3"]')  # nothing drawn: nothing to teach
    assert page.get_attribute("#personal", "data-examples") == "0"

    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    seen = model_input(page)
    page.click('#probabilities > [data-digit="1"]')  # "no, that is a 1"
    page.wait_for_selector('#personal[data-examples="1"]')
    assert page.text_content("#status") == "Kept: that was a 1."
    assert page.get_attribute("#personal", "data-state") == "shipped"
    page.click("#clear")
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"
    page.click('#probabilities > [data-digit="1"]')
    page.wait_for_selector('#personal[data-examples="2"]')

    page.reload()
    page.wait_for_selector(READY)
    page.wait_for_selector('#personal[data-examples="2"]')
    kept = page.evaluate(KEPT)
    assert [e["label"] for e in kept] == ["1", "1"] and all(e["strokes"] == 1 for e in kept)
    assert np.array_equal(kept[0]["pixels"], seen), "the image kept is the image the model read"

    with page.expect_download() as download:
        page.click("#download")
    csv = tmp_path / "my-digits.csv"
    download.value.save_as(csv)
    labels, pixels = parse_kaggle_csv(csv)  # what `pipeline train --extra-data` reads
    assert labels.tolist() == [1, 1] and np.array_equal(pixels[0], seen)

    page.click("#forget")
    page.wait_for_selector('#personal[data-examples="0"]')
    assert not page.is_visible("#forget")
    assert "digit-pipeline-personal" not in page.evaluate(DATABASES), "every stored byte is gone"
    page.reload()
    page.wait_for_selector(READY)
    assert page.get_attribute("#personal", "data-examples") == "0"
    assert page_log.outside(site_url.split("/digits/")[0]) == [], "nothing left the page"
