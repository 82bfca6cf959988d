// The train page's model code in Node, on the real tfjs runtime: `node --test tests/js/`.
//
// The wasm backend gets its convolution filter gradient from
// site_template/js/train/backend.js; here it is checked against tfjs's own
// cpu backend (which has the kernel), and a real training step on wasm is
// checked against the same step on cpu.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(new URL('../../package.json', import.meta.url));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
globalThis.tf = tf; // the page's modules use the global tf, as in the browser

const { conv2dFilterGradient, registerWasmConvGradients, backendOrder } = await import('../../site_template/js/train/backend.js');
const { createModel, cosineLearningRate, summarise, pickGrid, train, predictLabels, shiftImages } = await import('../../site_template/js/train/model.js');
const { seededRandom } = await import('../../site_template/js/random.js');

registerWasmConvGradients(tf);

/** Run `fn` on `backend`, return its result as nested arrays. */
async function on(backend, fn) {
  await tf.setBackend(backend);
  return tf.tidy(fn).array();
}

/** Seeded pseudo-random floats in [-1, 1) (Park–Miller), so both backends see the same numbers. */
function seeded(count, seed) {
  let state = seed;
  return Float32Array.from({ length: count }, () => ((state = (state * 48271) % 2147483647) / 2147483647) * 2 - 1);
}

function maxAbsDiff(a, b) {
  const [fa, fb] = [a.flat(Infinity), b.flat(Infinity)];
  assert.equal(fa.length, fb.length);
  return Math.max(...fa.map((v, i) => Math.abs(v - fb[i])));
}

const CASES = [ // x shape, filter shape, strides, padding
  { x: [2, 28, 28, 1], w: [5, 5, 1, 16], strides: 2, pad: 'same' }, // the model's first layer
  { x: [2, 14, 14, 16], w: [3, 3, 16, 32], strides: 2, pad: 'same' }, // its second
  { x: [3, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 10, 11, 2], w: [3, 2, 2, 3], strides: [2, 3], pad: 'valid' }, // rows/columns left over
  { x: [1, 7, 7, 2], w: [4, 4, 2, 2], strides: 3, pad: 'same' }, // even filter, uneven padding
];

for (const { x: xShape, w: wShape, strides, pad } of CASES) {
  test(`wasm filter and input gradients match the cpu backend: x ${xShape}, filter ${wShape}, strides ${strides}, ${pad}`, async () => {
    const count = (shape) => shape.reduce((a, b) => a * b, 1);
    const [xv, wv] = [seeded(count(xShape), 7), seeded(count(wShape), 11)];
    const gradients = () => {
      const x = tf.tensor(xv, xShape), w = tf.tensor(wv, wShape);
      const out = tf.conv2d(x, w, strides, pad);
      const weights = tf.tensor(seeded(out.size, 13), out.shape); // a loss that weighs every output differently
      const [dx, dw] = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a, b, strides, pad), weights)))([x, w]);
      return tf.concat([dx.flatten(), dw.flatten()]);
    };
    const expected = await on('cpu', gradients);
    const actual = await on('wasm', gradients);
    const scale = Math.max(...expected.map(Math.abs));
    assert.ok(scale > 0.1, 'the gradients are not trivially zero');
    assert.ok(maxAbsDiff(actual, expected) <= 1e-4 * scale, `max difference ${maxAbsDiff(actual, expected)} (scale ${scale})`);
  });
}

test('the kernel is only added once and refuses a layout it does not implement', () => {
  registerWasmConvGradients(tf); // again: no error, no duplicate-registration warning path
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  assert.throws(() => conv2dFilterGradient(tf, { x: tf.zeros([1, 1, 4, 4]), dy: tf.zeros([1, 1, 4, 4]) },
    { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [1, 1, 1, 1] }), /NCHW/);
});

test('one training step of the page model on wasm gives the same weights as on cpu', async () => {
  const count = 64, imageSize = 28, numClasses = 10;
  const images = seeded(count * imageSize * imageSize, 3).map((v) => (v + 1) / 2);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % numClasses);
  const weightsAfterOneStep = async (backend) => {
    await tf.setBackend(backend);
    const model = createModel({ imageSize, numClasses, learningRate: 0.005, seed: 42 });
    const { done } = train(model, { images, labels, count }, { epochs: 1, learningRate: 0.005, imageSize, numClasses });
    await done;
    const values = await Promise.all(model.getWeights().map((w) => w.array()));
    model.dispose();
    return values;
  };
  const cpu = await weightsAfterOneStep('cpu');
  const wasm = await weightsAfterOneStep('wasm');
  assert.equal(wasm.length, 6); // kernel and bias of three layers
  for (let i = 0; i < cpu.length; i++) assert.ok(maxAbsDiff(wasm[i], cpu[i]) < 1e-4, `weight ${i} differs`);
});

test('the model has the documented size and learns a separable toy task on wasm', async () => {
  await tf.setBackend('wasm');
  const imageSize = 28, numClasses = 10, count = 320;
  // Digit d = a bright square at one of ten positions: learnable in a few epochs.
  const labels = Uint8Array.from({ length: count }, (_, i) => i % numClasses);
  const images = new Float32Array(count * imageSize * imageSize);
  labels.forEach((d, i) => {
    const [top, left] = [4 + 10 * Math.floor(d / 5), 2 + 5 * (d % 5)];
    for (let y = top; y < top + 6; y++) images.fill(1, i * 784 + y * imageSize + left, i * 784 + y * imageSize + left + 4);
  });
  const model = createModel({ imageSize, numClasses, learningRate: 0.01, seed: 1 });
  assert.equal(model.countParams(), 20746);
  const batches = [];
  const { done } = train(model, { images, labels, count }, { epochs: 4, learningRate: 0.01, imageSize, numClasses, onBatch: (b) => batches.push(b) });
  const result = await done;
  assert.equal(result.images, 4 * count);
  assert.equal(batches.at(-1).step, 4 * Math.ceil(count / 64));
  const before = tf.memory().numTensors; // now with the optimizer's moment estimates
  await train(model, { images, labels, count }, { epochs: 1, learningRate: 0.001, imageSize, numClasses }).done;
  assert.equal(tf.memory().numTensors, before, 'training leaks no tensors');
  const predicted = await predictLabels(model, { images, count }, imageSize);
  assert.ok(summarise(labels, predicted, numClasses).accuracy > 0.9);
  model.dispose();
});

test('stop() ends training after the current batch', async () => {
  await tf.setBackend('wasm');
  const count = 640;
  const model = createModel({ imageSize: 28, numClasses: 10, learningRate: 0.005 });
  let run;
  run = train(model, { images: new Float32Array(count * 784), labels: new Uint8Array(count), count },
    { epochs: 5, learningRate: 0.005, imageSize: 28, numClasses: 10, onBatch: ({ step }) => { if (step === 3) run.stop(); } });
  const result = await run.done;
  assert.equal(result.stopped, true);
  assert.equal(result.images, 3 * 64);
  model.dispose();
});

test('cosine learning rate: peak at the start, half way at the middle, zero at the end', () => {
  assert.equal(cosineLearningRate(0, 100, 0.005), 0.005);
  assert.ok(Math.abs(cosineLearningRate(50, 100, 0.005) - 0.0025) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(100, 100, 0.005)) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(150, 100, 0.005)) < 1e-12);
});

test('summarise: accuracy, per-class accuracy and a confusion matrix that sums to the count', () => {
  const labels = [0, 0, 1, 1, 2, 2, 2];
  const predicted = [0, 1, 1, 1, 2, 0, 2];
  const { accuracy, perClass, confusion, total } = summarise(labels, predicted, 3);
  assert.deepEqual(confusion, [[1, 1, 0], [0, 2, 0], [1, 0, 2]]);
  assert.equal(total, 7);
  assert.equal(accuracy, 5 / 7);
  assert.deepEqual(perClass.map((c) => c.accuracy), [0.5, 1, 2 / 3]);
});

test('pickGrid: up to half mistakes, the rest right answers, in data order', () => {
  const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const predicted = [0, 2, 2, 0, 4, 0, 6, 0, 8, 9]; // wrong at 1, 3, 5, 7
  assert.deepEqual(pickGrid(labels, predicted, 6), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(pickGrid(labels, predicted, 4), [0, 1, 2, 3]);
  assert.deepEqual(pickGrid(labels, labels, 3), [0, 1, 2]);
});

test('backendOrder: webgl only on a real GPU, ?backend= wins', () => {
  assert.deepEqual(backendOrder(null, { webgl: true, software: false }), ['webgl', 'wasm', 'cpu']);
  assert.deepEqual(backendOrder(null, { webgl: true, software: true }), ['wasm', 'cpu']);
  assert.deepEqual(backendOrder(null, { webgl: false, software: true }), ['wasm', 'cpu']);
  assert.deepEqual(backendOrder('cpu', { webgl: true, software: false }), ['cpu']);
});

test('charts: long runs are averaged down to at most the given number of points', async () => {
  const { downsample } = await import('../../site_template/js/train/charts.js');
  const points = Array.from({ length: 10 }, (_, i) => ({ x: i + 1, y: i }));
  assert.equal(downsample(points, 10), points);
  assert.deepEqual(downsample(points, 5), [{ x: 2, y: 0.5 }, { x: 4, y: 2.5 }, { x: 6, y: 4.5 }, { x: 8, y: 6.5 }, { x: 10, y: 8.5 }]);
  assert.equal(downsample(points, 3).length, 3);
});

test('shiftImages moves each image by at most one pixel each way, filling with black', () => {
  const size = 5;
  const image = Float32Array.from({ length: size * size }, (_, i) => (i % size === 2 && i >= size && i < 4 * size ? 1 : 0)); // a bar
  const count = 200;
  const images = new Float32Array(count * size * size);
  for (let i = 0; i < count; i++) images.set(image, i * size * size);
  const out = shiftImages(images, count, size, seededRandom(3));
  const offsets = new Set();
  for (let i = 0; i < count; i++) {
    const moved = out.subarray(i * size * size, (i + 1) * size * size);
    assert.equal(moved.reduce((a, b) => a + b, 0), 3, 'the bar is whole: it has room to move');
    const cells = [...moved.keys()].filter((k) => moved[k] === 1);
    const [dx, dy] = [(cells[0] % size) - 2, Math.floor(cells[0] / size) - 1];
    assert.ok(Math.abs(dx) <= 1 && Math.abs(dy) <= 1);
    assert.deepEqual(cells, [1, 2, 3].map((row) => (row + dy) * size + 2 + dx));
    offsets.add(`${dx},${dy}`);
  }
  assert.equal(offsets.size, 9, 'all nine shifts happen');
  assert.deepEqual(shiftImages(images, count, size, seededRandom(3)), out, 'the same seed, the same shifts');
  const edge = shiftImages(Float32Array.from({ length: 4 }, () => 1), 1, 2, () => 0); // moved up-left by one
  assert.deepEqual(Array.from(edge), [1, 0, 0, 0], 'what comes in is black');
});
