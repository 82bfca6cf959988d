// Seeded fuzzing of what the drawing page reads back from IndexedDB and from the build: a stored personal head
// (headFault), a stored example (exampleFault), and the build's adapt files (readBase). Each mutation of a valid
// record must be judged without an exception, and a record judged usable must really be usable, by checks
// written here independently of the code under test.
import assert from 'node:assert/strict';
import test from 'node:test';

import { headFault, headProbabilities, readBase } from '../../site_template/js/adapt.js';
import { exampleFault } from '../../site_template/js/personal.js';
import { seededRandom } from '../../site_template/js/random.js';

const CASES = 3000; // mutations per reader
const MODEL = { featuresVersion: 'v1', features: 6, classes: 11 };
const EDGES = [0, -1, 1, 6, 11, 66, NaN, Infinity, -Infinity, 1e308, -0, 2 ** 53, '6', null, undefined, true, {}, [],
  new Float32Array(0), new Float64Array(66), new Float32Array(66), new Float32Array(11), new Uint8Array(784),
  Array(66).fill(0), 'v1', 'v2'];

function validHead() {
  const { featuresVersion, features: F, classes: C } = MODEL;
  return { featuresVersion, features: F, classes: C, weights: Float32Array.from({ length: F * C }, (_, i) => (i % 7) - 3),
    bias: new Float32Array(C), examples: 5 };
}

/** `value` with one to three changes: a field set to an edge value or removed, a number put into an array, or the
 * whole record replaced. */
function mutated(value, random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  let record = { ...value };
  const isRecord = () => record !== null && typeof record === 'object' && !Array.isArray(record) && !ArrayBuffer.isView(record);
  for (let n = 1 + Math.floor(random() * 3); n > 0 && isRecord(); n--) {
    const choice = random();
    const keys = Object.keys(record);
    const key = pick(keys.length ? keys : ['x']);
    if (choice < 0.5) record[key] = pick(EDGES);
    else if (choice < 0.6) delete record[key];
    else if (choice < 0.9 && ArrayBuffer.isView(record[key]) && record[key].length) {
      const copy = record[key].slice();
      copy[Math.floor(random() * copy.length)] = pick([NaN, Infinity, -Infinity, 3.4e38, -1e-45, 255, 256, -1]);
      record[key] = copy;
    } else if (choice >= 0.9) record = pick([null, 'head', 7, [record], undefined, new Float32Array(66)]);
  }
  return record;
}

const usableHead = (h) => h !== null && typeof h === 'object' && !Array.isArray(h) && h.featuresVersion === MODEL.featuresVersion
  && h.features === MODEL.features && h.classes === MODEL.classes && h.weights instanceof Float32Array
  && h.bias instanceof Float32Array && h.weights.length === 66 && h.bias.length === 11
  && [...h.weights, ...h.bias].every((v) => Number.isFinite(v));

test('a mutated stored head is judged without an exception, and one judged usable reads probabilities', () => {
  const random = seededRandom(20261207);
  const seen = { usable: 0, refused: 0 };
  for (let i = 0; i < CASES; i++) {
    const head = mutated(validHead(), random);
    const fault = headFault(head, MODEL);
    assert.equal(typeof fault, 'string', `case ${i}`);
    assert.equal(fault === '', usableHead(head), `case ${i}: "${fault}"`);
    if (fault) { seen.refused += 1; continue; }
    seen.usable += 1;
    const features = Float32Array.from({ length: 2 * MODEL.features }, (_, k) => k / 3);
    const probabilities = headProbabilities(features, 2, head);
    assert.ok(probabilities.every((p) => p >= 0 && p <= 1), `case ${i}: ${probabilities}`);
  }
  assert.ok(seen.usable > 0 && seen.refused > 0, JSON.stringify(seen));
});

test('a mutated stored example is judged without an exception, and one judged usable can be learnt from', () => {
  const random = seededRandom(7);
  const labels = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '?'];
  const seen = { usable: 0, refused: 0 };
  for (let i = 0; i < CASES; i++) {
    const example = mutated({ label: '7', image: new Uint8Array(784).fill(3), strokes: [[[0, 0], [1, 1]]], added: 'today' }, random);
    const fault = exampleFault(example, { imageSize: 28, labels });
    assert.equal(typeof fault, 'string', `case ${i}`);
    const usable = example !== null && typeof example === 'object' && example.image instanceof Uint8Array
      && example.image.length === 784 && labels.includes(example.label);
    assert.equal(fault === '', usable, `case ${i}: "${fault}"`);
    seen[fault ? 'refused' : 'usable'] += 1;
  }
  assert.ok(seen.usable > 0 && seen.refused > 0, JSON.stringify(seen));
});

test('mutated adapt files are read whole or refused with an Error, never with finite-looking damage', () => {
  const random = seededRandom(99);
  const F = 4, C = 3, count = 6, E = 2;
  const valid = { features_version: 'v1', features: F, classes: C, weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]],
    bias: [0, 0, 0], replay: { count, scale: 0.01 },
    block: { node: 'pool', relu: true, inputs: 3, directions: E, seed: 1, factor: 0.5, scale: 0.02 } };
  const bytes = Uint8Array.from({ length: count * (F + E + 1) }, (_, i) => (i < count * (F + E) ? i % 256 : i % C));
  const seen = { read: 0, refused: 0 };
  for (let i = 0; i < CASES; i++) {
    const part = random();
    const json = part < 0.6 ? mutated(valid, random)
      : part < 0.8 ? { ...valid, replay: mutated(valid.replay, random) } : { ...valid, block: mutated(valid.block, random) };
    const buffer = random() < 0.2 ? bytes.slice(0, Math.floor(random() * bytes.length)).buffer : bytes.slice().buffer;
    let base;
    try {
      base = readBase(json, buffer);
    } catch (err) {
      assert.ok(err instanceof Error, `case ${i}: threw ${err}`);
      seen.refused += 1;
      continue;
    }
    seen.read += 1;
    assert.ok([...base.weights, ...base.bias, ...base.replay].every(Number.isFinite), `case ${i}: non-finite values read`);
    assert.ok(base.replayLabels.every((label) => label < base.classes), `case ${i}`);
    assert.equal(base.replay.length, base.replayLabels.length * base.features, `case ${i}`);
  }
  assert.ok(seen.read > 0 && seen.refused > 0, JSON.stringify(seen));
});
