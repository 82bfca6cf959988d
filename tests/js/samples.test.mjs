// The sample digits (site_template/js/samples.js): fetched once, at the first request, each in turn.
import assert from 'node:assert/strict';
import test from 'node:test';

import { createSamples } from '../../site_template/js/samples.js';

const digits = [
  { label: '0', strokes: [[[0, 0], [1, 1]]] },
  { label: '1', strokes: [[[0.5, 0], [0.5, 1]]] },
];

test('samples come in turn from the one given first, fetched once, at the first request', async () => {
  let fetched = 0;
  const samples = createSamples(async () => { fetched += 1; return { digits }; }, 1);
  assert.equal(fetched, 0, 'nothing is fetched before the first request');
  assert.deepEqual(await samples.next(), digits[1]);
  assert.deepEqual(await samples.next(), digits[0]);
  assert.equal((await samples.next()).label, '1');
  assert.equal(fetched, 1);
});

test('a failed fetch is tried again at the next request', async () => {
  let calls = 0;
  const samples = createSamples(async () => {
    calls += 1;
    if (calls === 1) throw new Error('offline');
    return { digits };
  }, 0);
  await assert.rejects(samples.next(), /offline/);
  assert.equal((await samples.next()).label, '0');
});

test('with no first digit given, any may come first, then the others in turn', async () => {
  const firsts = new Set();
  for (let i = 0; i < 40; i++) {
    const samples = createSamples(async () => ({ digits }));
    const first = (await samples.next()).label;
    firsts.add(first);
    assert.notEqual((await samples.next()).label, first);
  }
  assert.deepEqual([...firsts].sort(), ['0', '1']);
});
