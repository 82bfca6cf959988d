// Learning a visitor's hand on the model's features (site_template/js/adapt.js), on small made-up features.
import assert from 'node:assert/strict';
import test from 'node:test';

import {
  AUGMENTED_COPIES, RECIPE, augment, blockFeatures, headFault, headProbabilities, joinFeatures, learnHead, projection, readBase, replayParts,
} from '../../site_template/js/adapt.js';

const F = 4, C = 3;
// The shipped head reads feature k as class k (k < 3); feature 3, which no MNIST digit has, it reads as 0.
const WEIGHTS = [[4, 0, 0], [0, 4, 0], [0, 0, 4], [1, 0, 0]];

/** adapt.json and adapt.bin for replayed digits: `perClass` of each class, feature k = 200 (× scale) for class k. */
function files(perClass = 20) {
  const count = perClass * C;
  const bytes = new Uint8Array(count * (F + 1));
  for (let i = 0; i < count; i++) {
    const label = Math.floor(i / perClass);
    bytes[i * F + label] = 200;
    bytes[i * F + 3] = i % 7; // a little of the feature the visitor's digits have
    bytes[count * F + i] = label;
  }
  const json = { features_version: 'v1', features: F, classes: C, weights: WEIGHTS, bias: [0, 0, 0], replay: { count, scale: 0.01 } };
  return { json, buffer: bytes.buffer };
}

const argmax = (row) => row.indexOf(Math.max(...row));
const rows = (values, width) => Array.from({ length: values.length / width }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)));

test('readBase dequantizes the replayed features and keeps the labels', () => {
  const { json, buffer } = files(2);
  const base = readBase(json, buffer);
  assert.equal(base.featuresVersion, 'v1');
  assert.deepEqual(Array.from(base.replay.subarray(0, F)).map((v) => +v.toFixed(4)), [2, 0, 0, 0]);
  assert.deepEqual(Array.from(base.replayLabels), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(base.weights.subarray(0, C)), [4, 0, 0]);
});

test('readBase refuses files that do not fit together', () => {
  const { json, buffer } = files(2);
  assert.throws(() => readBase(json, buffer.slice(1)), /adapt.bin: 29 bytes, expected 30/);
  assert.throws(() => readBase({ ...json, weights: WEIGHTS.slice(1) }, buffer), /weights are not 4×3 with 3 biases/);
  assert.throws(() => readBase({ ...json, bias: [0, NaN, 0] }, buffer), /not finite/);
  assert.throws(() => readBase({ ...json, replay: { count: 6, scale: 0 } }, buffer), /not positive/);
  const notPositive = /features, classes, replay.count or replay.scale missing or not positive/;
  for (const bad of [{ features: 0 }, { features: 4.5 }, { classes: -3 }, { classes: undefined }, { replay: undefined },
    { replay: { count: 6 } }, { replay: { count: '6', scale: 0.01 } }]) {
    assert.throws(() => readBase({ ...json, ...bad }, buffer), notPositive, JSON.stringify(bad));
  }
  assert.throws(() => readBase({ ...json, replay: { count: 6, scale: 1e307 } }, buffer), /replay.scale 1e\+307 makes features too large for float32/);
  const notFxC = /weights are not 4×3 with 3 biases/;
  for (const bad of [{ weights: 'no' }, { weights: [...WEIGHTS.slice(1), [1, 2]] }, { weights: [...WEIGHTS.slice(1), null] },
    { bias: undefined }, { bias: [0, 0] }]) {
    assert.throws(() => readBase({ ...json, ...bad }, buffer), notFxC, JSON.stringify(bad));
  }
  const badLabel = new Uint8Array(buffer.slice(0));
  badLabel[badLabel.length - 1] = 3;
  assert.throws(() => readBase(json, badLabel.buffer), /a label outside 0–2/);
});

test('headProbabilities is the softmax of features · weights + bias', () => {
  const { json, buffer } = files(2);
  const base = readBase(json, buffer);
  const x = Float32Array.from([1, 0.5, 0, 2]);
  const logits = [4 + 2, 2, 0];
  const sum = logits.reduce((a, z) => a + Math.exp(z), 0);
  const p = headProbabilities(x, 1, { ...base, bias: Float32Array.from([0, 0, 0]) });
  logits.forEach((z, c) => assert.ok(Math.abs(p[c] - Math.exp(z) / sum) < 1e-6));
});

test('headProbabilities stays finite and exact for logits far beyond exp\'s range', () => {
  const head = { features: 1, classes: 2, weights: Float32Array.from([1000, 998]), bias: Float32Array.from([0, 0]) };
  const p = headProbabilities(Float32Array.from([1]), 1, head);
  assert.ok(Math.abs(p[0] - 1 / (1 + Math.exp(-2))) < 1e-6 && Math.abs(p[1] - 1 / (1 + Math.exp(2))) < 1e-6, String(p));
});

test('one step of learnHead is one Adam step: every weight with a gradient moves by the learning rate against it', () => {
  // Adam's first step, bias-corrected, is learningRate · sign(gradient) for every parameter whose gradient is not 0
  const base = readBase(...Object.values(files(2)));
  const features = Float32Array.from([0.5, 1, 1.5, 2]); // dense: every feature carries a gradient
  const head = learnHead(base, features, [2], { steps: 1, learningRate: 0.01 });
  const dense = { ...base, replay: new Float32Array(0), replayLabels: new Uint8Array(0) };
  const alone = learnHead(dense, features, [2], { steps: 1, learningRate: 0.01 });
  // with only the visitor's digit: class 2's logit goes up, the others' down, on every feature and bias
  const moved = (after, before) => Array.from(after, (w, k) => Math.round((w - before[k]) / 0.01 * 1e4) / 1e4);
  assert.deepEqual(moved(alone.weights, base.weights), [-1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1]);
  assert.deepEqual(moved(alone.bias, base.bias), [-1, -1, 1]);
  assert.ok(moved(head.weights, base.weights).every((d) => d === 0 || Math.abs(d) === 1), 'with the replay: still ±rate');
  const two = learnHead(dense, features, [2], { steps: 2, learningRate: 0.01 });
  // two steps of a gradient that barely changes: close to twice the rate, short of it by its change
  assert.ok(moved(two.bias, base.bias).every((d, c) => Math.abs(Math.abs(d) - 2) < 0.01 && Math.sign(d) === [-1, -1, 1][c]), String(moved(two.bias, base.bias)));
});

test('the head learns the visitor\'s digits and keeps reading the replayed ones', () => {
  const base = readBase(...Object.values(files()));
  const visitor = Float32Array.from({ length: 10 * F }, (_, k) => (k % F === 3 ? 2 + (k % 3) * 0.1 : 0)); // feature 3 only
  const labels = Array(10).fill(2);
  assert.ok(rows(headProbabilities(visitor, 10, base), C).every((row) => argmax(row) === 0), 'the shipped head misreads them');
  const head = learnHead(base, visitor, labels);
  assert.ok(rows(headProbabilities(visitor, 10, head), C).every((row) => argmax(row) === 2), 'learnt');
  const replayed = rows(headProbabilities(base.replay, base.replayLabels.length, head), C);
  assert.ok(replayed.every((row, i) => argmax(row) === base.replayLabels[i]), 'not forgotten');
  const again = learnHead(base, visitor, labels);
  assert.deepEqual(again.weights, head.weights, 'the same examples give the same head');
  assert.equal(head.featuresVersion, 'v1');
});

test('the replay is what keeps the shipped digits: on features the visitor\'s digits share, learning without it forgets', () => {
  // The shipped head reads feature k as class k with weight 1 and feature 3 a little as 0. The visitor's 2s
  // carry feature 0 as strongly as the replayed 0s do, and feature 3 besides: only feature 3 tells them apart.
  const weights = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0, 0]];
  const { json, buffer } = files();
  const base = readBase({ ...json, weights }, buffer);
  const visitor = Float32Array.from({ length: 10 * F }, (_, k) => [2, 0, 0, 1 + (Math.floor(k / F) % 3) * 0.1][k % F]);
  const labels = Array(10).fill(2);
  const zeros = (head) => rows(headProbabilities(base.replay, base.replayLabels.length, head), C)
    .filter((row, i) => base.replayLabels[i] === 0 && argmax(row) === 0).length;
  assert.ok(rows(headProbabilities(visitor, 10, base), C).every((row) => argmax(row) === 0), 'the shipped head misreads them');
  const alone = learnHead({ ...base, replay: new Float32Array(0), replayLabels: new Uint8Array(0) }, visitor, labels);
  assert.ok(zeros(alone) < 20, 'without the replay, learning the visitor\'s 2s turns replayed 0s into 2s');
  const head = learnHead(base, visitor, labels);
  assert.ok(rows(headProbabilities(visitor, 10, head), C).every((row) => argmax(row) === 2), 'learnt');
  const replayed = rows(headProbabilities(base.replay, base.replayLabels.length, head), C);
  assert.ok(replayed.every((row, i) => argmax(row) === base.replayLabels[i]), 'not forgotten');
});

test('augment: the image itself first, then different variants; the same seed, the same copies', () => {
  const size = 28;
  const image = new Float32Array(size * size);
  for (let y = 8; y < 20; y++) image[y * size + 13] = image[y * size + 14] = 1; // a thick "1"
  const copies = augment(image, size, 7);
  assert.equal(copies.length, AUGMENTED_COPIES * size * size);
  assert.deepEqual(copies.subarray(0, size * size), image);
  const mass = (k) => copies.subarray(k * size * size, (k + 1) * size * size).reduce((a, b) => a + b, 0);
  for (let k = 1; k < AUGMENTED_COPIES; k++) {
    assert.notDeepEqual(copies.subarray(k * size * size, (k + 1) * size * size), image);
    assert.ok(mass(k) > 0.6 * mass(0) && mass(k) < 1.5 * mass(0), `copy ${k} keeps the ink (${mass(k)} vs ${mass(0)})`);
  }
  assert.ok(copies.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(augment(image, size, 7), copies);
  assert.notDeepEqual(augment(image, size, 8), copies);
});

test('headFault: a head learnt by learnHead is whole; each way a kept head can be damaged is named', () => {
  const base = readBase(...Object.values(files(2)));
  const model = { featuresVersion: 'v1', features: F, classes: C };
  const head = { ...learnHead(base, new Float32Array(F), [1], { steps: 2 }), examples: 1 };
  assert.equal(headFault(head, model), '');
  const damaged = {
    'not an object': ['a string', null, undefined, 3, [head]],
    'learnt on other features': [{ ...head, featuresVersion: 'v0' }, { ...head, featuresVersion: undefined }],
    '5 features, the model has 4': [{ ...head, features: 5, weights: new Float32Array(5 * C) }],
    'string features, the model has 4': [{ ...head, features: '4' }],
    '2 classes, the model has 3': [{ ...head, classes: 2, weights: head.weights.slice(0, F * 2), bias: head.bias.slice(0, 2) }],
    'undefined classes, the model has 3': [{ ...head, classes: undefined }],
    'weights are not a Float32Array of 4×3': [
      { ...head, weights: Array.from(head.weights) },
      { ...head, weights: Float64Array.from(head.weights) },
      { ...head, weights: head.weights.slice(1) },
      { ...head, weights: new Float32Array(50_000_000) }, // refused from its length, before any value is read
      { ...head, weights: undefined },
    ],
    'bias is not a Float32Array of 3': [{ ...head, bias: head.bias.slice(0, 2) }, { ...head, bias: [0, 0, 0] }],
    'values that are not finite numbers': [NaN, Infinity, -Infinity].flatMap((bad) => [
      { ...head, weights: Float32Array.from(head.weights, (w, k) => (k === 5 ? bad : w)) },
      { ...head, bias: Float32Array.from(head.bias, (b, k) => (k === 2 ? bad : b)) },
    ]),
  };
  for (const [fault, heads] of Object.entries(damaged)) {
    for (const bad of heads) assert.equal(headFault(bad, model), fault);
  }
});

test('augment follows the recipe it is given: its number of copies, and squashing changes the width', () => {
  const size = 28;
  const image = new Float32Array(size * size);
  for (let y = 6; y < 22; y++) for (let x = 10; x < 18; x++) image[y * size + x] = 1; // a block 8 wide, 16 high
  const still = { ...RECIPE, copies: 12, turn: 0, scale: [1, 1], squash: 0, shear: 0, shift: 0 };
  const width = (copies, k) => {
    const columns = new Set();
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (copies[k * size * size + y * size + x] > 0.5) columns.add(x);
    return columns.size;
  };
  const plain = augment(image, size, 3, still);
  assert.equal(plain.length, 12 * size * size);
  for (let k = 0; k < 12; k++) assert.equal(width(plain, k), 8, 'nothing moves without a range to move in');
  const squashed = augment(image, size, 3, { ...still, squash: 0.4 });
  const widths = Array.from({ length: 11 }, (_, k) => width(squashed, k + 1));
  assert.ok(Math.min(...widths) <= 7 && Math.max(...widths) >= 9, `narrower and wider copies: ${widths}`);
  assert.equal(AUGMENTED_COPIES, RECIPE.copies);
});

test('learnHead: the more the replay weighs, the closer the replayed digits stay to the shipped head', () => {
  const base = readBase(...Object.values(files()));
  const visitor = Float32Array.from({ length: 10 * F }, (_, k) => (k % F === 3 ? 2 + (k % 3) * 0.1 : 0));
  const labels = Array(10).fill(2);
  const shipped = headProbabilities(base.replay, base.replayLabels.length, base);
  const moved = (replayWeight) => {
    const p = headProbabilities(base.replay, base.replayLabels.length, learnHead(base, visitor, labels, { replayWeight }));
    return p.reduce((sum, v, k) => sum + Math.abs(v - shipped[k]), 0);
  };
  const [heavy, light] = [moved(10), moved(0.3)];
  assert.ok(heavy < light, `${heavy} vs ${light}`);
});

test('replayParts deals every index into one part, each part in order, the same way every time', () => {
  for (const [count, parts] of [[10, 3], [60, 4], [5, 1], [3, 5]]) {
    const dealt = replayParts(count, parts);
    assert.equal(dealt.length, parts);
    assert.deepEqual(dealt.flatMap((part) => Array.from(part)).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
    const sizes = dealt.map((part) => part.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, String(sizes));
    for (const part of dealt) assert.ok(part.every((v, k) => k === 0 || v > part[k - 1]), 'in increasing order');
    assert.deepEqual(replayParts(count, parts), dealt);
  }
  const [first] = replayParts(60, 4);
  assert.notDeepEqual(Array.from(first), Array.from({ length: 15 }, (_, i) => i), 'shuffled, not the first ones');
  assert.notDeepEqual(Array.from(first), Array.from({ length: 15 }, (_, i) => 4 * i), 'shuffled, not every fourth');
});

test('learnHead with a replay share: each step replays one part, weighing as much as the whole replay', () => {
  const base = readBase(...Object.values(files()));
  const n = base.replayLabels.length;
  const visitor = Float32Array.from({ length: 10 * F }, (_, k) => (k % F === 3 ? 2 + (k % 3) * 0.1 : 0));
  const labels = Array(10).fill(2);
  // the first step of a quarter share is the first step on the first part alone, its digits weighing 4 times
  const [part] = replayParts(n, 4);
  const partBase = { ...base, replay: Float32Array.from(Array.from(part).flatMap((i) => Array.from(base.replay.subarray(i * F, (i + 1) * F)))),
    replayLabels: Uint8Array.from(part, (i) => base.replayLabels[i]) };
  const one = { steps: 1, learningRate: 0.05 };
  assert.deepEqual(learnHead(base, visitor, labels, { ...one, replayShare: 0.25 }),
    learnHead(partBase, visitor, labels, { ...one, replayWeight: 4 * RECIPE.replayWeight, replayShare: 1 }));
  assert.notDeepEqual(learnHead(base, visitor, labels, { ...one, replayShare: 0.25 }), learnHead(base, visitor, labels, { ...one, replayShare: 1 }));
  // over the steps, every part in turn: learnt, not forgotten, as close to the shipped head as the whole replay keeps it
  const quarter = learnHead(base, visitor, labels, { replayShare: 0.25 });
  assert.ok(rows(headProbabilities(visitor, 10, quarter), C).every((row) => argmax(row) === 2), 'learnt');
  const replayed = rows(headProbabilities(base.replay, n, quarter), C);
  assert.ok(replayed.every((row, i) => argmax(row) === base.replayLabels[i]), 'not forgotten');
  const shipped = headProbabilities(base.replay, n, base);
  const moved = (head) => headProbabilities(base.replay, n, head).reduce((sum, v, k) => sum + Math.abs(v - shipped[k]), 0);
  const ratio = moved(quarter) / moved(learnHead(base, visitor, labels, { replayShare: 1 }));
  assert.ok(ratio > 0.5 && ratio < 2, `moved ${ratio} times as far as with the whole replay each step`);
  assert.deepEqual(learnHead(base, visitor, labels, { steps: 5, replayShare: RECIPE.replayShare }), learnHead(base, visitor, labels, { steps: 5 }));
});

// The block: an earlier node's values, projected (js/adapt.js projection, blockFeatures), after the features.
const BLOCK = { node: 'pool', relu: true, inputs: 3, directions: 2, seed: 5, factor: 0.5, scale: 0.25 };

/** files(perClass) with a block: replayed digit i's block values are ±(i % 5) (× scale), the sign its class's parity. */
function filesWithBlock(perClass = 2, block = BLOCK) {
  const { json, buffer } = files(perClass);
  const count = perClass * C, E = block.directions;
  const old = new Uint8Array(buffer), bytes = new Uint8Array(count * (F + E + 1));
  bytes.set(old.subarray(0, count * F));
  const signed = new Int8Array(bytes.buffer, count * F, count * E);
  for (let i = 0; i < count; i++) for (let e = 0; e < E; e++) signed[i * E + e] = (Math.floor(i / perClass) % 2 ? -1 : 1) * (i % 5) * (e + 1);
  bytes.set(old.subarray(count * F), count * (F + E));
  return { json: { ...json, block }, buffer: bytes.buffer };
}

test('projection is a fixed Gaussian matrix: the same for the same arguments, about 1/directions in variance', () => {
  const matrix = projection(400, 100, 1);
  assert.equal(matrix.length, 400 * 100);
  assert.deepEqual(projection(400, 100, 1), matrix);
  const small = projection(10, 10, 1); // the same normals, in the same order, over √10 instead of √100
  small.forEach((v, k) => assert.ok(Math.abs(v - matrix[k] * Math.sqrt(10)) < 1e-6, `${k}: ${v} vs ${matrix[k]}`));
  assert.notDeepEqual(projection(10, 10, 2), small);
  const half = projection(10, 5, 1); // the same normals over √5 instead of √10
  half.forEach((v, k) => assert.ok(Math.abs(v - small[k] * Math.SQRT2) < 1e-6, `${k}: ${v} vs ${small[k]}`));
  const mean = matrix.reduce((a, v) => a + v, 0) / matrix.length;
  const variance = matrix.reduce((a, v) => a + (v - mean) ** 2, 0) / matrix.length;
  assert.ok(Math.abs(mean) < 0.002 && Math.abs(variance * 100 - 1) < 0.03, `mean ${mean}, variance × 100 ${variance * 100}`);
  const within = matrix.filter((v) => Math.abs(v * 10) < 1).length / matrix.length; // standard normal: 68.27 % within ±1
  assert.ok(Math.abs(within - 0.6827) < 0.012, String(within));
});

test('blockFeatures is the ReLU of the node values times the projection, times the factor', () => {
  const values = Float32Array.from([1, -2, 3, 0, 0.5, -1]); // 2 images × 3 inputs
  const matrix = projection(3, 2, 5);
  const expected = (relu) => [0, 1].flatMap((i) => [0, 1].map((d) => 0.5 * [0, 1, 2].reduce(
    (sum, k) => sum + (relu ? Math.max(values[i * 3 + k], 0) : values[i * 3 + k]) * matrix[k * 2 + d], 0)));
  for (const relu of [true, false]) {
    const got = blockFeatures(values, 2, { ...BLOCK, relu });
    assert.equal(got.length, 4);
    got.forEach((v, k) => assert.ok(Math.abs(v - expected(relu)[k]) < 1e-6, `relu ${relu}: ${Array.from(got)} vs ${expected(relu)}`));
  }
  assert.notDeepEqual(Array.from(blockFeatures(values, 2, BLOCK)), Array.from(blockFeatures(values, 2, { ...BLOCK, relu: false })));
});

test('joinFeatures puts each image\'s block after its features', () => {
  const joined = joinFeatures(Float32Array.from([1, 2, 3, 4]), Float32Array.from([10, 20, 30, 40, 50, 60]), 2);
  assert.deepEqual(Array.from(joined), [1, 2, 10, 20, 30, 3, 4, 40, 50, 60]);
});

test('readBase reads a block: int8 values after the features, the shipped head\'s rows for them 0', () => {
  const { json, buffer } = filesWithBlock();
  const base = readBase(json, buffer);
  const { scale, ...block } = BLOCK;
  assert.deepEqual(base.block, block);
  assert.equal(base.features, F + 2);
  assert.deepEqual(rows(base.replay, F + 2).map((row) => row.map((v) => +v.toFixed(4))), [
    [2, 0, 0, 0, 0, 0], [2, 0, 0, 0.01, 0.25, 0.5], [0, 2, 0, 0.02, -0.5, -1], [0, 2, 0, 0.03, -0.75, -1.5],
    [0, 0, 2, 0.04, 1, 2], [0, 0, 2, 0.05, 0, 0]]);
  assert.deepEqual(Array.from(base.replayLabels), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(rows(base.weights, C), [...WEIGHTS, [0, 0, 0], [0, 0, 0]]);
  assert.equal(readBase(...Object.values(files(2))).block, null);
});

test('readBase refuses a block that is not whole, or adapt.bin without its values', () => {
  const { json, buffer } = filesWithBlock();
  assert.throws(() => readBase({ ...json, block: undefined }, buffer), /adapt.bin: 42 bytes, expected 30/);
  assert.throws(() => readBase(json, buffer.slice(1)), /adapt.bin: 41 bytes, expected 42/);
  const notWhole = /adapt.json: block is not \{node, relu, inputs, directions, seed, factor, scale\}/;
  for (const bad of [null, 'pool', {}, { node: 3 }, { relu: 'yes' }, { inputs: 0 }, { inputs: 2.5 }, { directions: -2 },
    { seed: 1.5 }, { seed: '1' }, { factor: 0 }, { factor: Infinity }, { scale: 0 }, { scale: -1 }, { scale: 1e308 }, { factor: undefined }]) {
    const block = bad !== null && typeof bad === 'object' && Object.keys(bad).length ? { ...BLOCK, ...bad } : bad;
    assert.throws(() => readBase({ ...json, block }, buffer), notWhole, JSON.stringify(bad));
  }
});

test('a head learns from the block what the features cannot tell apart', () => {
  // The visitor's 1s and 2s have the same features (feature 3 alone, which the shipped head reads as 0) and differ
  // only in their block: only the block's rows can tell them apart, and they start at 0.
  const base = readBase(...Object.values(filesWithBlock(20)));
  const example = (sign) => [0, 0, 0, 2, sign * 1.5, sign * 0.5];
  const visitor = Float32Array.from([...example(1), ...example(1), ...example(-1), ...example(-1)]);
  const labels = [1, 1, 2, 2];
  const head = learnHead(base, visitor, labels);
  assert.equal(head.features, F + 2);
  assert.deepEqual(rows(headProbabilities(visitor, 4, head), C).map(argmax), labels);
  assert.ok(rows(head.weights, C).slice(F).flat().some((w) => Math.abs(w) > 0.1), 'the block\'s rows have learnt');
  const replayRead = rows(headProbabilities(base.replay, base.replayLabels.length, head), C).map(argmax);
  assert.ok(replayRead.filter((c, i) => c === base.replayLabels[i]).length >= 0.95 * replayRead.length, 'MNIST still read');
});
