// Reading a drawing (site_template/js/reader.js): strokes -> digits, each with its image, probabilities and
// verdict; doubtful neighbours read again as one digit. The model and the ink renderer are stand-ins.
import assert from 'node:assert/strict';
import test from 'node:test';

import { judge } from '../../site_template/js/doubt.js';
import { inkKey, listedDigit, readDigits } from '../../site_template/js/reader.js';
import { pageConfig } from './page_config.mjs';

const contract = { imageSize: 28, fitSize: 20, labels: [...'0123456789'], numClasses: 11, doubtBelow: 0.5, tornAbove: 0.8,
  segmentation: pageConfig().segmentation }; // the build's segmentation rules, from pipeline/contract.py
const thresholds = { doubtBelow: contract.doubtBelow, tornAbove: contract.tornAbove };

/** A digit's strokes rendered on a 16×16 grid over its box, one pixel per point (drawing.js's digitInk needs a canvas). */
function ink(strokes, box) {
  const side = Math.max(box.right - box.left, box.bottom - box.top) || 1;
  const [width, height] = [16, 16];
  const alpha = new Uint8ClampedArray(width * height);
  for (const points of strokes) {
    for (const [x, y] of points) {
      const [i, j] = [Math.min(15, Math.floor(((x - box.left) / side) * 15)), Math.min(15, Math.floor(((y - box.top) / side) * 15))];
      alpha[j * width + i] = 255;
    }
  }
  return { ink: alpha, width, height };
}

/** A vertical bar from (x, top) down to (x, top + 1), as a pen draws it. */
const bar = (x, top = 0) => Array.from({ length: 11 }, (_, i) => [x, top + i / 10]);

/** A model that answers each batch in turn with `answers[batch][image]`: [digit, p, notADigit]. */
function model(answers) {
  const batches = [];
  const predict = async (images, count) => {
    const answer = answers[batches.length];
    batches.push({ images: images.slice(), count });
    const probabilities = new Float32Array(count * contract.numClasses);
    for (let n = 0; n < count; n++) {
      const [digit, p, notADigit = 0] = answer[n];
      const row = probabilities.subarray(n * 11, (n + 1) * 11);
      row.fill((1 - p - notADigit) / 9, 0, 10);
      row[digit] = p;
      row[10] = notADigit;
    }
    return probabilities;
  };
  return { predict, batches };
}

test('two digits apart: one batch, each digit with its image, probabilities and verdict, left to right', async () => {
  const { predict, batches } = model([[[1, 0.98], [7, 0.9]]]);
  const strokes = [bar(3), bar(1)]; // the right-hand digit drawn first
  const digits = await readDigits(strokes, { predict, ink }, contract);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].count, 2);
  assert.equal(digits.length, 2);
  assert.deepEqual(digits.map(({ group }) => group.strokes), [[1], [0]], 'not left to right');
  assert.deepEqual(digits.map(({ last }) => last), [true, false], 'the latest stroke is the left digit');
  for (const [n, digit] of digits.entries()) {
    assert.equal(digit.image.length, 28 * 28);
    assert.deepEqual(Array.from(batches[0].images.subarray(n * 784, (n + 1) * 784)), Array.from(digit.image));
    assert.equal(digit.probabilities.length, 11);
    assert.deepEqual(digit.verdict, judge(digit.probabilities, contract.labels, thresholds));
  }
  assert.deepEqual(digits.map(({ verdict }) => verdict.shown), ['1', '7']);
  assert.deepEqual(digits[0].strokes[0][0], [0, 0], 'strokes are kept relative to their box');
  assert.deepEqual(digits[0].strokes[0].at(-1), [0, 1]);
});

test('no ink: no digit, and the model is not asked', async () => {
  const { predict, batches } = model([]);
  assert.deepEqual(await readDigits([], { predict, ink }, contract), []);
  assert.equal(batches.length, 0);
});

test('a doubtful digit and its close neighbour are read again as one; the surer joined reading replaces them', async () => {
  // a doubtful 6 beside a bar the model calls no digit, 0.3 of a digit apart; joined, a sure 5
  const { predict, batches } = model([[[6, 0.45], [1, 0.1, 0.8]], [[5, 0.97]]]);
  const digits = await readDigits([bar(0), bar(0.3)], { predict, ink }, contract);
  assert.deepEqual(batches.map(({ count }) => count), [2, 1]);
  assert.equal(digits.length, 1);
  assert.deepEqual(digits[0].group.strokes, [0, 1]);
  assert.deepEqual(digits[0].verdict, { shown: '5', sure: true, between: [] });
  assert.equal(digits[0].image.length, 784);
});

test('a joined reading no surer than its parts leaves them as they were', async () => {
  const { predict, batches } = model([[[6, 0.45], [1, 0.1, 0.8]], [[8, 0.4, 0.5]]]);
  const digits = await readDigits([bar(0), bar(0.3)], { predict, ink }, contract);
  assert.equal(batches.length, 2);
  assert.deepEqual(digits.map(({ verdict }) => verdict.shown), ['?', '?']);
});

test('sure digits are not read again', async () => {
  const { predict, batches } = model([[[1, 0.9], [1, 0.9]]]);
  await readDigits([bar(0), bar(0.3)], { predict, ink }, contract);
  assert.equal(batches.length, 1);
});

test('inkKey names the ink by its points per stroke; listedDigit: the picked digit, else the last written', () => {
  assert.equal(inkKey([bar(0), bar(1).slice(0, 3)]), '11,3');
  assert.equal(inkKey([]), '');
  const digits = [{ last: false }, { last: true }, { last: false }];
  assert.equal(listedDigit(digits, -1), 1);
  assert.equal(listedDigit(digits, 2), 2);
  assert.equal(listedDigit(digits, 3), 1, 'a pick beyond the reading falls back to the last written');
  assert.equal(listedDigit([{ last: false }], -1), 0);
  assert.equal(listedDigit([], 0), -1);
});
