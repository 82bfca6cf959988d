// What the page keeps in IndexedDB (site_template/js/personal.js): the visitor's digits and the head learnt from
// them, on fake-indexeddb's in-memory IndexedDB (the API as browsers implement it), each test from an empty one.
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import {
  addExample, countExamples, deleteExample, exampleFault, forgetAll, forgetHead, keptExamples, loadHead, saveHead,
} from '../../site_template/js/personal.js';

const config = { imageSize: 28, labels: [...'0123456789'] };
const example = (label) => ({ label, image: new Uint8Array(784).fill(Number(label)), strokes: [[[0, 0], [1, 1]]], added: '2026-12-07' });
const head = { featuresVersion: 'v1', features: 2, classes: 2, weights: Float32Array.from([1, 2, 3, 4]), bias: Float32Array.from([0, 1]), examples: 2 };

beforeEach(() => forgetAll());

test('digits are kept and counted, oldest first; the head is kept and read back whole', async () => {
  assert.equal(await countExamples(), 0);
  assert.equal((await addExample(example('3'))).count, 1);
  assert.equal((await addExample(example('7'))).count, 2, 'resolves to the number kept, the new one included');
  assert.equal(await countExamples(), 2);
  const { examples, dropped } = await keptExamples((record) => exampleFault(record, config));
  assert.deepEqual(examples.map(({ label }) => label), ['3', '7']);
  assert.equal(dropped, 0);
  assert.equal(await loadHead(), undefined, 'no head before one is learnt');
  await saveHead(head);
  assert.deepEqual(await loadHead(), head);
});

test("deleteExample deletes the one digit kept under addExample's key, and no other", async () => {
  await addExample(example('3'));
  const { key } = await addExample(example('7'));
  await addExample(example('9'));
  await deleteExample(key);
  const { examples } = await keptExamples((record) => exampleFault(record, config));
  assert.deepEqual(examples.map(({ label }) => label), ['3', '9']);
});

test('Forget deletes every kept digit and the head with them', async () => {
  await addExample(example('1'));
  await saveHead(head);
  await forgetAll();
  assert.equal(await countExamples(), 0);
  assert.equal(await loadHead(), undefined, 'the head learnt from the forgotten digits is gone too');
});

test('forgetHead deletes the head only: the digits stay to learn it again', async () => {
  await addExample(example('1'));
  await saveHead(head);
  await forgetHead();
  assert.equal(await loadHead(), undefined);
  assert.equal(await countExamples(), 1);
});

test('damaged records are deleted and counted; the rest are kept in order', async () => {
  await addExample(example('2'));
  await addExample({ label: 'x', image: new Uint8Array(784) });
  await addExample(example('5'));
  const { examples, dropped } = await keptExamples((record) => exampleFault(record, config));
  assert.deepEqual(examples.map(({ label }) => label), ['2', '5']);
  assert.equal(dropped, 1);
  assert.equal(await countExamples(), 2, 'the damaged record was deleted, not only skipped');
});

test('digits kept by the first version of the store (one object store, "examples") are found after the upgrade', async () => {
  // the layout is what a returning visitor's browser already holds: its names and version are a contract
  await new Promise((resolve, reject) => {
    const req = indexedDB.open('digit-pipeline-personal', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('examples', { autoIncrement: true }).add(example('4'));
    req.onsuccess = () => { req.result.close(); resolve(); };
    req.onerror = () => reject(req.error);
  });
  assert.equal(await countExamples(), 1);
  assert.deepEqual((await keptExamples(() => '')).examples.map(({ label }) => label), ['4']);
  await saveHead(head);
  const stored = await new Promise((resolve, reject) => {
    const req = indexedDB.open('digit-pipeline-personal');
    req.onsuccess = () => {
      const get = req.result.transaction('head').objectStore('head').get('current');
      get.onsuccess = () => { req.result.close(); resolve(get.result); };
    };
    req.onerror = () => reject(req.error);
  });
  assert.deepEqual(stored, head, 'the head is kept in the store "head" under the key "current"');
});
