// The visitor's digits as a Kaggle-style CSV (site_template/js/personal.js), the format `pipeline train --extra-data` reads.
import assert from 'node:assert/strict';
import test from 'node:test';

import { toKaggleCsv } from '../../site_template/js/personal.js';

test('one row per example: the label, then every pixel', () => {
  const image = Uint8Array.from({ length: 784 }, (_, i) => i % 256);
  const csv = toKaggleCsv([{ label: '3', image }, { label: '0', image: new Uint8Array(784) }]);
  const [header, first, second, end] = csv.split('\n');
  assert.equal(header.split(',').length, 785);
  assert.equal(header.slice(0, 20), 'label,pixel0,pixel1,');
  assert.ok(header.endsWith(',pixel783'));
  assert.deepEqual(first.split(',').map(Number), [3, ...image]);
  assert.equal(second, '0' + ',0'.repeat(784));
  assert.equal(end, '', 'the file ends with a newline');
});

test('no examples is a header alone', () => {
  assert.equal(toKaggleCsv([]).split('\n').length, 2);
});
