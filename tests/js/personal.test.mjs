// The visitor's digits (site_template/js/personal.js): which kept records can be learnt from, and the Kaggle-style
// CSV `pipeline train --extra-data` reads.
import assert from 'node:assert/strict';
import test from 'node:test';

import { exampleFault, toKaggleCsv } from '../../site_template/js/personal.js';

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
  const [header, end, ...rest] = toKaggleCsv([]).split('\n');
  assert.equal(header.split(',').length, 785, 'the columns of 28×28 images');
  assert.equal(end, '');
  assert.equal(rest.length, 0);
});

test('exampleFault: a record as the page keeps it is usable; each way a kept record can be damaged is named', () => {
  const config = { imageSize: 28, labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };
  const example = { label: '7', image: new Uint8Array(784), strokes: [[[0, 0], [1, 1]]], added: '2026-12-07T00:00:00.000Z' };
  assert.equal(exampleFault(example, config), '');
  const damaged = {
    'not an object': [null, undefined, 'a digit', 7],
    'image is not 28×28 bytes': [
      { ...example, image: new Uint8Array(100) },
      { ...example, image: new Uint8Array(785) },
      { ...example, image: Array(784).fill(0) }, // the page only ever keeps a Uint8Array
      { ...example, image: new Float32Array(784) },
      { ...example, image: undefined },
      { label: '7' },
    ],
    'label is none of the digits': [{ ...example, label: 'x' }, { ...example, label: 7 }, { ...example, label: '10' },
      { ...example, label: undefined }],
  };
  for (const [fault, records] of Object.entries(damaged)) {
    for (const record of records) assert.equal(exampleFault(record, config), fault);
  }
});
