// Readings of the drawing, latest wins (site_template/js/scheduler.js): a stale reading is never shown, a
// pen-up reading is final, readings run one at a time.
import assert from 'node:assert/strict';
import test from 'node:test';

import { createScheduler } from '../../site_template/js/scheduler.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A scheduler over an ink the test changes; each reading waits until the test finishes it. */
function harness({ ready = Promise.resolve('model') } = {}) {
  const h = { ink: 'a', reads: [], shown: [], failed: [] };
  h.scheduler = createScheduler({
    ready,
    snapshot: () => ({ key: h.ink, input: h.ink }),
    read: (model, ink) => new Promise((resolve, reject) => {
      h.reads.push({ model, ink, finish: () => resolve(`read ${ink} #${h.reads.length}`), fail: reject });
    }),
    show: (reading, ink, final) => h.shown.push({ reading, ink, final }),
    fail: (err) => h.failed.push(err.message),
  });
  /** Finish the reading running now, and let the scheduler act on it. */
  h.finish = async () => {
    await settle();
    h.reads.at(-1).finish();
    await settle();
  };
  return h;
}

test('a reading is of the ink as it is when it starts, shown when done', async () => {
  const h = harness();
  h.scheduler.request(false);
  await settle();
  assert.deepEqual(h.reads.map(({ model, ink }) => [model, ink]), [['model', 'a']]);
  await h.finish();
  assert.deepEqual(h.shown, [{ reading: 'read a #1', ink: 'a', final: false }]);
});

test('a reading running when the pad is cleared is stale: never shown', async () => {
  const h = harness();
  h.scheduler.request(false);
  await settle();
  h.scheduler.clear();
  await h.finish();
  assert.deepEqual(h.shown, [], 'the reading of the cleared ink was shown');
  h.ink = 'b';
  h.scheduler.request(true);
  await h.finish();
  assert.deepEqual(h.shown, [{ reading: 'read b #2', ink: 'b', final: true }]);
});

test('one reading at a time: requests made meanwhile become one reading of the newest ink', async () => {
  const h = harness();
  h.scheduler.request(false);
  await settle();
  for (const ink of ['ab', 'abc', 'abcd']) {
    h.ink = ink;
    h.scheduler.request(false);
  }
  await settle();
  assert.equal(h.reads.length, 1, 'a second reading started while one ran');
  await h.finish();
  assert.deepEqual(h.reads.map(({ ink }) => ink), ['a', 'abcd']);
  await h.finish();
  assert.deepEqual(h.shown.map(({ reading, final }) => [reading, final]), [['read a #1', false], ['read abcd #2', false]]);
});

test('pen-up on ink that is being read: that reading is the final one, not read again', async () => {
  const h = harness();
  h.scheduler.request(false);
  await settle();
  h.scheduler.request(true); // the pen lifted where it last moved: no new ink
  await h.finish();
  await settle();
  assert.equal(h.reads.length, 1, 'the same ink was read twice');
  assert.deepEqual(h.shown, [
    { reading: 'read a #1', ink: 'a', final: false },
    { reading: 'read a #1', ink: 'a', final: true },
  ]);
  h.scheduler.request(false); // nothing new: nothing to show
  await settle();
  assert.equal(h.shown.length, 2);
});

test('pen-up that added ink: read again, and that reading is final', async () => {
  const h = harness();
  h.scheduler.request(false);
  await settle();
  h.ink = 'ab';
  h.scheduler.request(true);
  await h.finish();
  await h.finish();
  assert.deepEqual(h.shown.map(({ ink, final }) => [ink, final]), [['a', false], ['ab', true]]);
});

test('again: the same ink is read anew (another head reads it), as final; onlyIfShown waits for a reading', async () => {
  const h = harness();
  h.scheduler.again({ onlyIfShown: true });
  await settle();
  assert.equal(h.reads.length, 0, 'nothing was on screen, yet it read');
  h.scheduler.request(true);
  await h.finish();
  h.scheduler.again({ onlyIfShown: true });
  await h.finish();
  assert.deepEqual(h.shown.map(({ reading, final }) => [reading, final]), [['read a #1', true], ['read a #2', true]]);
  h.scheduler.clear();
  h.scheduler.again();
  await h.finish();
  assert.equal(h.shown.at(-1).reading, 'read a #3', 'again without onlyIfShown reads even a cleared pad');
});

test('a reading that fails is reported, and the next request reads again', async () => {
  const h = harness();
  h.scheduler.request(true);
  await settle();
  h.reads[0].fail(new Error('worker gone'));
  await settle();
  assert.deepEqual(h.failed, ['worker gone']);
  h.scheduler.request(true);
  await h.finish();
  assert.deepEqual(h.shown.map(({ reading }) => reading), ['read a #2']);
});

test('no model: nothing is read, and nothing is reported (whoever started the model says why)', async () => {
  const h = harness({ ready: Promise.reject(new Error('no backend')) });
  h.scheduler.request(true);
  await settle();
  assert.deepEqual([h.reads.length, h.shown.length, h.failed.length], [0, 0, 0]);
});
