// The visitor's session with their own digits (site_template/js/session.js): restoring the kept head, learning
// again when it or a record is damaged, teaching the listed digit, forgetting. The store, the model, the view
// and the clock are stand-ins; js/personal.js's exampleFault and toKaggleCsv are the real ones.
import assert from 'node:assert/strict';
import test from 'node:test';

import { exampleFault, toKaggleCsv } from '../../site_template/js/personal.js';
import { createSession } from '../../site_template/js/session.js';

const contract = { imageSize: 28, labels: [...'0123456789'], notADigit: 'not a digit', featuresVersion: 'features-1' };
const settle = () => new Promise((resolve) => setImmediate(resolve));
const example = (label) => ({ label, image: new Uint8Array(784).fill(Number(label)), strokes: [], added: '2026-01-01T00:00:00.000Z' });

/** IndexedDB as js/personal.js uses it, in memory. */
function memoryStore({ records = [], head } = {}) {
  const store = {
    records: [...records],
    keys: records.map((_, i) => i + 1), // IndexedDB's, one per record
    head,
    async keptExamples(fault) {
      const kept = store.records.map((record, i) => [record, store.keys[i]]).filter(([record]) => !fault(record));
      const dropped = store.records.length - kept.length;
      [store.records, store.keys] = [kept.map(([record]) => record), kept.map(([, key]) => key)]; // the damaged ones are deleted
      return { examples: store.records, dropped };
    },
    exampleFault,
    toKaggleCsv,
    async addExample(record) {
      store.records.push(record);
      store.keys.push(Math.max(0, ...store.keys) + 1);
      return { key: store.keys.at(-1), count: store.records.length };
    },
    async deleteExample(key) {
      const i = store.keys.indexOf(key);
      if (i >= 0) [store.records, store.keys] = [store.records.toSpliced(i, 1), store.keys.toSpliced(i, 1)];
    },
    async countExamples() { return store.records.length; },
    async loadHead() { return store.head; },
    async saveHead(saved) { store.head = saved; },
    async forgetHead() { store.head = undefined; },
    async forgetAll() { store.records = []; store.head = undefined; },
  };
  return store;
}

/** The worker's client: takes a head learnt on this build's features; `adapt` waits until the test releases it. */
function fakeModel() {
  const model = {
    used: [],
    learnt: [],
    async useHead(head) {
      if (head !== null && head.featuresVersion !== contract.featuresVersion) throw new Error('head does not fit');
      model.used.push(head);
    },
    adapt(images, labels) {
      return new Promise((resolve, reject) => {
        model.learnt.push({ count: images.length / 784, labels, images, learn: () => resolve({ featuresVersion: contract.featuresVersion, weights: labels.length }), fail: reject });
      });
    },
  };
  return model;
}

function harness({ records, head, ready } = {}) {
  const store = memoryStore({ records, head });
  const model = fakeModel();
  const view = {
    states: [],
    listed: [],
    files: [],
    problems: [],
    showPersonal: (count, { state, taught = null, note = '' } = {}) => view.states.push({ count, state, taught, note }),
    relearntNote: (why) => (why.updated || why.damaged || why.records ? JSON.stringify(why) : ''), // as ui.js's: '' for no reason
    showPersonalProblem: (message) => view.problems.push(message),
    showListed: (digits, index) => view.listed.push(index),
    saveFile: (name, text) => view.files.push({ name, text }),
    undo: [], // what the view was told of Undo, in order
    offerUndo: (seconds) => view.undo.push(['offered', seconds]),
    withdrawUndo: () => view.undo.push(['withdrawn']),
    showUndone: (label, count) => view.undo.push(['undone', label, count]),
    showForgotten: () => view.undo.push(['forgotten']),
  };
  const readAgain = [];
  const timers = []; // {run, ms}: the session's timers, run when the test says
  const session = createSession({
    store, ready: ready ?? Promise.resolve(model), view, contract, now: () => new Date('2026-12-07T03:00:00Z'),
    readAgain: (options) => readAgain.push(options ?? {}), setTimer: (run, ms) => timers.push({ run, ms }),
  });
  return { store, model, view, session, readAgain, timers };
}

/** Let the adaptation running now learn, and everything after it happen. */
async function learn(model) {
  await settle();
  model.learnt.at(-1).learn();
  await settle();
}

test('restore: nothing kept, the shipped model reads and the worker is not asked', async () => {
  const { model, view, session } = harness();
  await session.restore();
  assert.deepEqual(view.states, [{ count: 0, state: 'shipped', taught: null, note: '' }]);
  assert.deepEqual([model.used, model.learnt], [[], []]);
});

test('restore: a whole head learnt on these features is used at once, not learnt again', async () => {
  const head = { featuresVersion: 'features-1', examples: 2 };
  const { model, view, session, readAgain } = harness({ records: [example('3'), example('7')], head });
  await session.restore();
  assert.deepEqual(model.used, [head]);
  assert.equal(model.learnt.length, 0);
  assert.deepEqual(view.states.map(({ count, state }) => [count, state]), [[2, 'shipped'], [2, 'personal']]);
  assert.deepEqual(readAgain, [{ onlyIfShown: true }], 'the drawing made while the page started is not read again');
});

test('restore: a head from another build is learnt again, and the note says the model was updated', async () => {
  const { store, model, view, session } = harness({ records: [example('3')], head: { featuresVersion: 'features-0' } });
  const restored = session.restore();
  await learn(model);
  await restored;
  assert.equal(model.learnt[0].count, 1);
  assert.deepEqual(store.head, { featuresVersion: 'features-1', weights: 1, examples: 1 });
  assert.deepEqual(view.states.at(-1).state, 'personal');
  assert.deepEqual(JSON.parse(view.states.at(-1).note), { updated: true, damaged: false, records: 0, learnt: 1 });
});

test('restore: a damaged record is deleted and the head learnt again from the digits left, even when the head is whole', async () => {
  const damaged = { label: '3', image: [0, 0] };
  const head = { featuresVersion: 'features-1' };
  const { store, model, view, session } = harness({ records: [example('3'), damaged, example('8')], head });
  const restored = session.restore();
  await learn(model);
  await restored;
  assert.deepEqual(store.records.map(({ label }) => label), ['3', '8'], 'the damaged record was kept');
  assert.deepEqual(model.learnt.map(({ labels }) => labels), [[3, 8]]);
  assert.equal(model.learnt[0].images[784], Math.fround(8 / 255), 'images are learnt from as 0–1');
  assert.deepEqual(view.states.at(-1), { count: 2, state: 'personal', taught: null, note: JSON.stringify({ updated: false, damaged: false, records: 1, learnt: 2 }) });
});

test('restore: every record damaged, the head learnt from them is deleted and the shipped model reads', async () => {
  const { store, model, view, session } = harness({ records: [null, { label: 'x' }], head: { featuresVersion: 'features-1' } });
  await session.restore();
  assert.equal(store.head, undefined);
  assert.equal(model.learnt.length, 0);
  assert.deepEqual(view.states, [{ count: 0, state: 'shipped', taught: null, note: JSON.stringify({ records: 2, learnt: 0 }) }]);
});

test('teach: the listed digit is kept with its label, image (0–255), strokes and the time, then learnt from', async () => {
  const { store, model, view, session, readAgain } = harness();
  await settle();
  const digits = [
    { image: new Float32Array(784).fill(0.5), strokes: [[[0, 0]]], last: false },
    { image: new Float32Array(784).fill(1), strokes: [[[1, 1]]], last: true },
  ];
  assert.equal(session.show(digits), 1, 'the last-written digit is listed');
  const taught = session.teach('4');
  await learn(model);
  await taught;
  assert.equal(store.records.length, 1);
  assert.deepEqual({ ...store.records[0], image: store.records[0].image[0] },
    { label: '4', image: 255, strokes: [[[1, 1]]], added: '2026-12-07T03:00:00.000Z' });
  assert.deepEqual(view.states.map(({ count, state, taught: label }) => [count, state, label]),
    [[1, 'adapting', '4'], [1, 'adapting', null], [1, 'personal', null]]);
  assert.deepEqual(readAgain, [{}]);
  session.pick(0);
  assert.deepEqual(view.listed, [0]);
  const again = session.teach('7');
  await learn(model);
  await again;
  assert.equal(store.records[1].image[0], 128, 'the picked digit was not the one kept');
  assert.equal(session.show(digits.slice(0, 1)), 0, 'a pick still within the reading stays');
  assert.equal(session.show([]), -1);
  await session.teach('1');
  assert.equal(store.records.length, 2, 'a digit was kept with none listed');
});

test('teach while learning: one more adaptation, from every digit, and "personal" only once it learnt them all', async () => {
  const { model, view, session } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const first = session.teach('1');
  await settle();
  const second = session.teach('2');
  await settle();
  assert.equal(model.learnt.length, 1, 'two adaptations ran at once');
  await learn(model);
  assert.equal(view.states.filter(({ state }) => state === 'personal').length, 0, 'personal before learning the second digit');
  await learn(model);
  await Promise.all([first, second]);
  assert.deepEqual(model.learnt.map(({ labels }) => labels), [[1], [1, 2]]);
  assert.deepEqual(view.states.at(-1), { count: 2, state: 'personal', taught: null, note: '' });
});

test('forget while learning: the adaptation keeps nothing, the shipped model reads again', async () => {
  const { store, model, view, session, readAgain } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const taught = session.teach('5');
  await settle();
  await session.forget();
  await learn(model);
  await taught;
  assert.equal(store.head, undefined, 'the head learnt from forgotten digits was kept');
  assert.deepEqual(store.records, []);
  assert.deepEqual(model.used, [null]);
  assert.deepEqual(view.states.at(-1), { count: 0, state: 'shipped', taught: null, note: '' });
  assert.deepEqual(readAgain, [{}]);
});

test('learning fails: the shipped model reads on, and the note says why', async () => {
  const { model, view, session } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const taught = session.teach('9');
  await settle();
  model.learnt[0].fail(new Error('offline'));
  await taught;
  assert.deepEqual(view.states.at(-1), { count: 1, state: 'shipped', taught: null, note: 'Could not learn from them now (offline).' });
});

test('no model: the digit is kept, nothing learnt; download offers the kept digits as CSV', async () => {
  const { store, view, session } = harness({ ready: Promise.reject(new Error('no backend')) });
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  await session.teach('0');
  assert.deepEqual(view.states, [{ count: 1, state: 'shipped', taught: '0', note: '' }]);
  await session.download();
  assert.deepEqual(view.files.map(({ name, text }) => [name, text.split('\n').length]), [['my-digits.csv', 3]]);
  assert.equal(store.records.length, 1);
});

/** The whole store as IndexedDB holds it: the records under their keys, and the head. */
const snapshot = (store) => structuredClone({ records: store.records, keys: store.keys, head: store.head });

test('undo: the digit just kept is deleted and the head before it is back, exactly, and read with', async () => {
  const { store, model, view, session, readAgain, timers } = harness();
  await settle();
  session.show([{ image: new Float32Array(784).fill(0.5), strokes: [], last: true }]);
  const first = session.teach('3');
  await learn(model);
  await first;
  const before = snapshot(store);
  const second = session.teach('8');
  await learn(model);
  await second;
  assert.notDeepEqual(snapshot(store), before);
  assert.deepEqual(view.undo, [['offered', 10], ['offered', 10]]);
  assert.ok(timers.every(({ ms }) => ms >= 5000), 'Undo is offered for at least 5 s');
  await session.undo();
  assert.deepEqual(snapshot(store), before);
  assert.deepEqual(model.used.at(-1), before.head, 'the head before the correction reads again');
  assert.equal(model.learnt.length, 2, 'nothing learnt again: the head before had learnt every digit left');
  assert.deepEqual(view.undo.at(-1), ['undone', '8', 1]);
  assert.deepEqual(view.states.at(-1), { count: 1, state: 'personal', taught: null, note: '' });
  assert.deepEqual(readAgain.at(-1), {});
  await session.undo();
  assert.deepEqual(snapshot(store), before, 'a second Undo takes back nothing more');
  timers.forEach(({ run }) => run());
  assert.deepEqual(view.undo.at(-1), ['undone', '8', 1], 'the timers of corrections already undone or followed withdraw nothing');
});

test('undo of the first correction, while it is still learnt: nothing kept, no head, the shipped model reads', async () => {
  const { store, model, view, session } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const taught = session.teach('1');
  await settle();
  const undone = session.undo();
  await learn(model);
  await Promise.all([taught, undone]);
  assert.deepEqual([store.records, store.head], [[], undefined]);
  assert.deepEqual(model.used, [null]);
  assert.deepEqual(view.states.at(-1), { count: 0, state: 'shipped', taught: null, note: '' });
});

test('Undo is withdrawn when its time is up, and then undoes nothing', async () => {
  const { store, model, view, session, timers } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const taught = session.teach('6');
  await learn(model);
  await taught;
  timers[0].run();
  assert.deepEqual(view.undo, [['offered', 10], ['withdrawn']]);
  await session.undo();
  assert.equal(store.records.length, 1);
});

test('"not a digit" is a label: learnt as the class after the digits, left out of the CSV', async () => {
  const { store, model, view, session } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const first = session.teach('not a digit');
  await learn(model);
  await first;
  const second = session.teach('2');
  await learn(model);
  await second;
  assert.deepEqual(model.learnt.at(-1).labels, [10, 2]);
  assert.equal(store.records.length, 2, 'a record labelled "not a digit" was deleted as damaged');
  await session.download();
  assert.deepEqual(view.files[0].text.split('\n').map((line) => line.split(',')[0]), ['label', '2', '']);
});

test('forget: says so, and Undo no longer takes back the correction before it', async () => {
  const { store, model, view, session } = harness();
  await settle();
  session.show([{ image: new Float32Array(784), strokes: [], last: true }]);
  const taught = session.teach('4');
  await learn(model);
  await taught;
  await session.forget();
  assert.deepEqual(view.undo.at(-1), ['forgotten']);
  await session.undo();
  assert.deepEqual([store.records, store.head], [[], undefined]);
});
