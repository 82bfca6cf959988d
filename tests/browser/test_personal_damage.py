"""What the page keeps in IndexedDB is checked when it is read, never trusted: each test teaches a digit (a
kept example and a personal head), damages one record straight in IndexedDB, reloads, and checks the
visitor sees the page ready, a drawing read, and one sentence in #personal saying what was damaged and
what the page did; afterwards the kept head is whole and fits the model (or there is none, when no kept
digit can be learnt from). The checks: js/adapt.js's headFault and js/personal.js's exampleFault."""

from __future__ import annotations

import pytest

from tests.browser.helpers import READY, SEVEN, draw_with_mouse, prediction_after, taught_a_seven

pytestmark = pytest.mark.browser

# Damages one record of the page's database, by name; a damaged head is made from the head learnt.
DAMAGE = """(damage) => new Promise((resolve, reject) => {
  const open = indexedDB.open('digit-pipeline-personal');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const transaction = db.transaction(['head', 'examples'], 'readwrite');
    transaction.oncomplete = () => { db.close(); resolve(); };
    transaction.onerror = transaction.onabort = () => { db.close(); reject(new Error(String(transaction.error))); };
    const heads = transaction.objectStore('head'), examples = transaction.objectStore('examples');
    const get = heads.get('current'), keys = examples.getAllKeys();
    keys.onsuccess = () => {
      const head = get.result, F = head.features, C = head.classes, first = keys.result[0];
      const put = (changed) => heads.put({ ...head, ...changed }, 'current');
      const damages = {
        'NaN in the weights': () => put({ weights: head.weights.map((w, k) => (k % C === 0 ? NaN : w)) }), // class 0's
        'Infinity in the bias': () => put({ bias: head.bias.map((b, k) => (k === 0 ? Infinity : b)) }),
        '10 classes': () => put({ classes: C - 1, bias: head.bias.slice(0, C - 1),
          weights: Float32Array.from({ length: F * (C - 1) }, (_, k) => head.weights[Math.floor(k / (C - 1)) * C + k % (C - 1)]) }),
        'twice the features': () => put({ features: 2 * F, weights: Float32Array.from({ length: 2 * F * C }, (_, k) => head.weights[k % (F * C)]) }),
        '32 million weights': () => put({ features: Math.ceil(32e6 / C), weights: new Float32Array(Math.ceil(32e6 / C) * C) }),
        'a string': () => heads.put('a personal model', 'current'),
        'an image of 100 bytes': () => examples.add({ label: '7', image: new Uint8Array(100), strokes: [], added: new Date().toISOString() }),
        'the label "x"': () => examples.get(first).onsuccess = ({ target }) => examples.add({ ...target.result, label: 'x' }),
        'null': () => examples.put(null, first),
      };
      damages[damage]();
    };
  };
})"""

# What is kept: each record's label and image length (or what it is instead), and the head's shape.
KEPT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('digit-pipeline-personal');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const transaction = db.transaction(['head', 'examples']);
    const get = transaction.objectStore('head').get('current'), all = transaction.objectStore('examples').getAll();
    transaction.oncomplete = () => {
      db.close();
      const head = get.result;
      const finite = (values) => typeof values?.every === 'function' && values.every(Number.isFinite);
      resolve({
        records: all.result.map((r) => (r && typeof r === 'object' ? [r.label, r.image?.length] : String(r))),
        head: head === undefined ? null : typeof head !== 'object' || head === null ? String(head) : {
          featuresVersion: head.featuresVersion, features: head.features, classes: head.classes, examples: head.examples,
          weights: [head.weights?.constructor?.name, head.weights?.length, finite(head.weights)],
          bias: [head.bias?.constructor?.name, head.bias?.length, finite(head.bias)],
        },
      });
    };
    transaction.onerror = () => { db.close(); reject(new Error(String(transaction.error))); };
  };
})"""

HEAD_DAMAGED = "Your personal model was damaged; learnt it again from your 1 digit."
RECORD_DELETED = "1 kept record of your digits was damaged and deleted; learnt your personal model again from the 1 digit left."
NONE_LEFT = "1 kept record of your digits was damaged and deleted; reading with the shipped model."


# Each damage, by DAMAGE's name: the state #personal ends in (digits left to learn from: personal, else
# shipped) and the sentence its text ends with.
CASES = {
    "NaN in the weights": ("personal", HEAD_DAMAGED),
    "Infinity in the bias": ("personal", HEAD_DAMAGED),
    "10 classes": ("personal", HEAD_DAMAGED),  # the model has 11: ten digits and "not a digit"
    "twice the features": ("personal", HEAD_DAMAGED),
    # 128 MB, features to match: about the most Chromium keeps in one IndexedDB value (127 MiB; 50 million
    # floats it refuses to store)
    "32 million weights": ("personal", HEAD_DAMAGED),
    "a string": ("personal", HEAD_DAMAGED),
    "an image of 100 bytes": ("personal", RECORD_DELETED),
    'the label "x"': ("personal", RECORD_DELETED),
    "null": ("shipped", NONE_LEFT),  # the only digit: nothing left to learn from
}


@pytest.mark.parametrize("damage", CASES)
def test_a_damaged_record_is_recovered_from_and_said(page, site_url, damage):
    state, note = CASES[damage]
    taught_a_seven(page, site_url)
    page.evaluate(DAMAGE, damage)

    page.reload()
    page.wait_for_selector(READY)
    learnt = 1 if state == "personal" else 0
    page.wait_for_selector(f'#personal[data-state="{state}"]')
    draw_with_mouse(page, SEVEN)
    assert prediction_after(page, 1) == "7"
    assert page.get_attribute("#status", "data-state") == "ready"
    page.wait_for_selector(f'#personal[data-examples="{learnt}"][data-state="{state}"]')
    assert page.text_content("#personal-text").endswith(f" {note}")

    kept = page.evaluate(KEPT)
    assert kept["records"] == [["7", 784]] * learnt, "a damaged record is deleted"
    if not learnt:
        assert kept["head"] is None, "no digit to learn from: no head"
        return
    config = page.evaluate("JSON.parse(document.getElementById('app-config').textContent)")
    features = page.evaluate("fetch('personal/adapt.json').then((r) => r.json())"
                             ".then((adapt) => adapt.features + (adapt.block?.directions ?? 0))")
    classes = config["numClasses"]
    assert kept["head"] == {"featuresVersion": config["featuresVersion"], "features": features, "classes": classes,
                            "examples": 1, "weights": ["Float32Array", features * classes, True],
                            "bias": ["Float32Array", classes, True]}
