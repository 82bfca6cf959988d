"""The visitor's own digits: "Wrong? Tap the right digit" keeps the drawing in IndexedDB, on this device
only, and the page learns from it (a personal head, site_template/js/adapt.js, trained in the model's
worker); both survive a reload, offline too; the digits download as a CSV that `pipeline train
--extra-data` reads, and Forget deletes every stored byte and reads with the shipped model again
(site_template/js/personal.js)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.numerals import Hand
from pipeline.data.formats import parse_kaggle_csv
from tests.browser.helpers import FOUR, ONE, READY, SEVEN, draw_with_mouse, prediction_after, scaled, taught_a_seven

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


def read(page, images: np.ndarray) -> np.ndarray:
    """window.digitApp.predictMnistBatch on uint8 images (N, 784): (N, classes) probabilities."""
    return np.array(page.evaluate("(p) => window.digitApp.predictMnistBatch(Uint8Array.from(p))", images.ravel().tolist()))


def test_a_digit_taught_is_learnt_survives_a_reload_offline_downloads_and_is_forgotten(page, page_log, site_url, tmp_path,
                                                                                         mnist):
    page.goto(site_url)
    page.wait_for_selector(READY)
    assert page.get_attribute("#personal", "data-examples") == "0" and not page.is_visible("#forget")
    digits = mnist.x_test[:200].reshape(200, -1)
    shipped = read(page, digits)
    assert page.is_disabled('#probabilities > [data-digit="3"] button'), "nothing drawn: nothing to teach"

    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    seen = model_input(page)
    before = read(page, seen[None])[0]
    page.click('#probabilities > [data-digit="1"]')  # "no, that is a 1"
    page.wait_for_selector('#personal[data-examples="1"]')
    page.wait_for_selector('#personal[data-state="personal"]')
    assert page.text_content("#personal-text").startswith("Personal model: learnt from your one digit,")
    assert page.is_visible("#forget")
    personal = read(page, np.concatenate([digits, seen[None]]))
    assert personal[-1, 1] > before[1], "the personal model reads the taught drawing as more of a 1"
    assert not np.array_equal(personal[:-1], shipped), "predictMnist reads with the personal model"
    assert (personal[:-1].argmax(1) == shipped.argmax(1)).mean() >= 0.97, "and it still reads MNIST"
    page.click("#clear")
    draw_with_mouse(page, ONE)
    assert prediction_after(page, 1) == "1"
    page.click('#probabilities > [data-digit="1"]')
    page.wait_for_selector('#personal[data-examples="2"]')
    page.wait_for_selector('#personal[data-state="personal"]')
    learnt = read(page, digits)

    page.context.set_offline(True)  # the personal model is kept on the device: no network needed
    page.reload()
    page.wait_for_selector(READY)
    page.wait_for_selector('#personal[data-examples="2"][data-state="personal"]')
    np.testing.assert_allclose(read(page, digits), learnt, atol=1e-6)
    page.context.set_offline(False)
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
    page.click("#forget-yes")  # Forget asks first
    page.wait_for_selector('#personal[data-examples="0"][data-state="shipped"]')
    assert not page.is_visible("#forget")
    assert np.array_equal(read(page, digits), shipped), "after Forget, the shipped model reads again"
    assert "digit-pipeline-personal" not in page.evaluate(DATABASES), "every stored byte is gone"
    page.reload()
    page.wait_for_selector(READY)
    assert page.get_attribute("#personal", "data-examples") == "0"
    assert page_log.outside(site_url.split("/digits/")[0]) == [], "nothing left the page"


HEAD = """(change) => new Promise((resolve, reject) => {
  const open = indexedDB.open('digit-pipeline-personal');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const store = db.transaction('head', 'readwrite').objectStore('head');
    const get = store.get('current');
    get.onsuccess = () => {
      const head = get.result;
      if (change) store.put({ ...head, featuresVersion: change }, 'current');
      db.close();
      resolve(head.featuresVersion);
    };
  };
})"""


def test_a_personal_model_learnt_on_other_features_is_learnt_again_from_the_kept_digits(page, site_url):
    """A new build whose features differ cannot use the kept head: the page learns again from the kept
    digits, says so, and keeps the new head under the build's features."""
    taught_a_seven(page, site_url)
    current = page.evaluate(HEAD, "")
    assert current == page.evaluate("JSON.parse(document.getElementById('app-config').textContent).featuresVersion")
    page.evaluate(HEAD, "0123456789abcdef")  # as if learnt on the features of an older build
    page.reload()
    page.wait_for_selector(READY)
    page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
    assert page.text_content("#personal-text").endswith("The model was updated since: learnt again from your digits.")
    assert page.evaluate(HEAD, "") == current


def test_in_a_number_the_picked_digit_is_the_one_taught(page, site_url):
    """For a number, pick a digit (#digits), then tap the right row: that digit, not the last written, is kept."""
    page.goto(site_url)
    page.wait_for_selector(READY)
    strokes = scaled(ONE, 0.4, (0.05, 0.3)) + scaled(SEVEN, 0.4, (0.5, 0.3))
    draw_with_mouse(page, strokes)
    assert prediction_after(page, len(strokes)) == "17"
    first = np.array(page.eval_on_selector_all(
        "#model-view canvas",
        "cs => Array.from(cs[0].getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"), np.uint8)
    page.click('#digits button[data-index="0"]')
    page.wait_for_selector('#digits button[data-index="0"][aria-pressed="true"]')
    page.click('#probabilities > [data-digit="4"]')  # "the first digit is a 4"
    page.wait_for_selector('#personal[data-examples="1"][data-state="personal"]')
    [kept] = page.evaluate(KEPT)
    assert kept["label"] == "4" and np.array_equal(kept["pixels"], first)


def test_without_the_files_to_learn_from_the_digit_is_kept_and_the_next_correction_learns(page, site_url):
    """Offline before the first correction (personal/ was never fetched): the digit is kept, the page says
    it could not learn now and reads with the shipped model; the next correction online learns."""
    page.goto(site_url)
    page.wait_for_selector(READY)
    page.context.route("**/personal/*", lambda route: route.abort())
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    page.click('#probabilities > [data-digit="7"]')
    page.wait_for_selector('#personal[data-examples="1"][data-state="shipped"]')
    page.wait_for_selector("#personal-text:text('Could not learn from them now')")
    page.context.unroute("**/personal/*")
    page.click('#probabilities > [data-digit="7"]')
    page.wait_for_selector('#personal[data-examples="2"][data-state="personal"]')
    assert page.text_content("#personal-text").startswith("Personal model: learnt from 2 of your digits")


def test_after_a_reload_the_same_drawings_get_exactly_the_same_readings(page, site_url):
    """Teach three numerals of an imagined hand (bench.numerals), read a set of drawings drawn with the mouse,
    reload: drawn again, the same drawings give the same images, the same shown digits and bit for bit the
    same probabilities, read by the personal model the page kept."""
    page.goto(site_url)
    page.wait_for_selector(READY)
    hand = Hand("neat upright", 7)
    as_drawn = lambda label: scaled(hand.write(label).paths, 0.6, (0.2, 0.2))  # noqa: E731
    for taught, label in enumerate((2, 7, 3), start=1):
        page.click("#clear")
        strokes = as_drawn(label)
        draw_with_mouse(page, strokes)
        prediction_after(page, len(strokes))
        page.click(f'#probabilities > [data-digit="{label}"]')
        page.wait_for_selector(f'#personal[data-examples="{taught}"][data-state="personal"]')
    drawings = [as_drawn(label) for label in (2, 3, 4, 7, 8)] + [ONE, SEVEN, scaled(FOUR, 0.5, (0.1, 0.4))]

    def readings() -> tuple[list[str], np.ndarray, np.ndarray]:
        shown, images = [], []
        for strokes in drawings:
            page.click("#clear")
            draw_with_mouse(page, strokes)
            shown.append(prediction_after(page, len(strokes)))
            images.append(model_input(page))
        return shown, np.array(images), read(page, np.array(images))

    shown, images, probabilities = readings()
    assert shown[0] == "2", f"the taught ٢ is read as taught: {shown}"
    page.reload()
    page.wait_for_selector(READY)
    page.wait_for_selector('#personal[data-examples="3"][data-state="personal"]')
    shown_again, images_again, probabilities_again = readings()
    np.testing.assert_array_equal(images_again, images)
    assert shown_again == shown
    np.testing.assert_array_equal(probabilities_again, probabilities)
