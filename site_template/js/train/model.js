/**
 * The model trained in the visitor's browser: build, train, evaluate, predict.
 * No DOM.
 *
 * Chosen for 2 CPU cores without a GPU, where every multiply counts: two
 * strided convolutions do the downsampling a pooling layer would (so no
 * pooling kernels and a quarter of the work per layer), then one dense
 * layer: 20,746 parameters. Its speed and accuracy in the browser are in
 * BENCHMARKS.md and docs/lab.md "Train in the browser".
 *
 *   input 28×28×1 → conv 5×5, stride 2, 16 filters, ReLU → 14×14×16
 *                 → conv 3×3, stride 2, 32 filters, ReLU →  7×7×32
 *                 → flatten → dense 10, softmax
 *
 * Adam with a cosine-decayed learning rate (per batch), batch 64. Each epoch
 * sees every image moved by up to SHIFT pixels in x and y (`shiftImages`):
 * from 12,000 images the model otherwise learns them by heart.
 *
 * Uses the global `tf` (vendor/tf.min.js, a classic script loaded first).
 */
import { seededRandom } from '../random.js';

const tf = globalThis.tf;

export const BATCH_SIZE = 64; // images per gradient step
export const SHIFT = 1; // pixels an image may move each way, each epoch (augmentation)
const EVAL_BATCH = 500; // images per forward pass when evaluating (bounds memory)
const YIELD_MS = 100; // training gives the page its event loop back at least this often (progress, charts, Stop)

/**
 * A freshly initialised, compiled model.
 * @param {{imageSize: number, numClasses: number, learningRate: number, seed?: number}} options
 *   learningRate: Adam's peak step size; seed: weight initialisation (default: random)
 * @returns {tf.Sequential}
 */
export function createModel({ imageSize, numClasses, learningRate, seed }) {
  const init = () => tf.initializers.heNormal({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [imageSize, imageSize, 1], filters: 16, kernelSize: 5, strides: 2, padding: 'same',
        activation: 'relu', kernelInitializer: init() }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.flatten(),
      tf.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/**
 * Cosine decay from `peak` at step 0 to 0 at `totalSteps`.
 * @param {number} step gradient steps taken so far
 * @param {number} totalSteps steps of the whole run
 * @param {number} peak learning rate at the start
 * @returns {number}
 */
export function cosineLearningRate(step, totalSteps, peak) {
  const progress = Math.min(Math.max(step / Math.max(totalSteps, 1), 0), 1);
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}

/**
 * Train `model` on `data`, reporting after every batch and epoch.
 *
 * @param {tf.Sequential} model from `createModel`
 * @param {{images: Float32Array, labels: Uint8Array, count: number}} data
 *   images: count·imageSize², 0–1, white ink on black; labels: 0…numClasses−1
 * @param {object} options
 * @param {number} options.epochs passes over `data`
 * @param {number} options.learningRate peak of the cosine schedule
 * @param {number} options.imageSize side of an image, pixels
 * @param {number} options.numClasses
 * @param {function(object): (void|Promise<void>)} [options.onBatch] after each batch:
 *   {epoch, step, totalSteps, images, seconds, loss, accuracy} (epoch from 0;
 *   step: batches done; images: images trained on so far; seconds since start);
 *   training waits for the promise it returns
 * @param {function(object): void} [options.onEpoch] after each epoch: {epoch, loss, accuracy}
 * @returns {{done: Promise<{images: number, seconds: number, stopped: boolean}>, stop: function(): void}}
 *   stop() ends training after the batch in progress
 */
export function train(model, data, { epochs, learningRate, imageSize, numClasses, onBatch = () => {}, onEpoch = () => {} }) {
  const stepsPerEpoch = Math.ceil(data.count / BATCH_SIZE);
  const totalSteps = epochs * stepsPerEpoch;
  let stopped = false;
  let step = 0;
  let images = 0;
  let epoch = 0;
  let start = 0;
  let lastYield = 0;

  const done = (async () => {
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, 'int32'), numClasses));
    const random = seededRandom(1);
    start = performance.now();
    try {
      for (epoch = 0; epoch < epochs && !stopped; epoch++) {
        const xs = tf.tensor4d(shiftImages(data.images, data.count, imageSize, random), [data.count, imageSize, imageSize, 1]);
        try {
          await model.fit(xs, ys, {
            batchSize: BATCH_SIZE,
            epochs: 1,
            shuffle: true,
            // tfjs's own yielding waits for an animation frame, which never comes in
            // a background tab: training would freeze when the visitor looks away.
            yieldEvery: 'never',
            callbacks: {
              onBatchBegin: async () => { model.optimizer.learningRate = cosineLearningRate(step, totalSteps, learningRate); },
              onBatchEnd: async (_batch, logs) => {
                step += 1;
                images += logs.size;
                await onBatch({ epoch, step, totalSteps, images, seconds: (performance.now() - start) / 1000, loss: logs.loss, accuracy: logs.acc });
                if (performance.now() - lastYield > YIELD_MS) {
                  await yieldToEventLoop();
                  lastYield = performance.now();
                }
                if (stopped) model.stopTraining = true;
              },
              onEpochEnd: async (_index, logs) => onEpoch({ epoch, loss: logs.loss, accuracy: logs.acc }),
            },
          });
        } finally {
          xs.dispose();
        }
      }
    } finally {
      ys.dispose();
    }
    return { images, seconds: (performance.now() - start) / 1000, stopped };
  })();
  return { done, stop: () => { stopped = true; } };
}

/**
 * The images, each moved by a whole number of pixels in x and y, each in [−shift, shift] (what moves out
 * of the image is lost, what comes in is black). Pure.
 * @param {Float32Array} images count·size², row-major
 * @param {number} count
 * @param {number} size side of an image
 * @param {function(): number} random uniform in [0, 1)
 * @param {number} [shift]
 * @returns {Float32Array} count·size²
 */
export function shiftImages(images, count, size, random, shift = SHIFT) {
  const out = new Float32Array(count * size * size);
  for (let i = 0; i < count; i++) {
    const dx = Math.floor(random() * (2 * shift + 1)) - shift, dy = Math.floor(random() * (2 * shift + 1)) - shift;
    const base = i * size * size;
    for (let y = Math.max(0, dy); y < Math.min(size, size + dy); y++) {
      const from = base + (y - dy) * size;
      const x0 = Math.max(0, dx), x1 = Math.min(size, size + dx);
      out.set(images.subarray(from + x0 - dx, from + x1 - dx), base + y * size + x0);
    }
  }
  return out;
}

/** Resolve after the event loop has run what is waiting (input, rendering); a message, unlike a timer or
 * an animation frame, is not throttled in a background tab. */
function yieldToEventLoop() {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * Predicted class of every image.
 * @param {tf.LayersModel} model
 * @param {{images: Float32Array, count: number}} data as for `train`
 * @param {number} imageSize
 * @returns {Promise<Int32Array>} count predicted labels
 */
export async function predictLabels(model, data, imageSize) {
  const size = imageSize * imageSize;
  const predicted = new Int32Array(data.count);
  for (let first = 0; first < data.count; first += EVAL_BATCH) {
    const count = Math.min(EVAL_BATCH, data.count - first);
    const labels = tf.tidy(() => {
      const x = tf.tensor4d(data.images.subarray(first * size, (first + count) * size), [count, imageSize, imageSize, 1]);
      return model.predict(x).argMax(-1);
    });
    predicted.set(await labels.data(), first);
    labels.dispose();
  }
  return predicted;
}

/**
 * Class probabilities of one image.
 * @param {tf.LayersModel} model
 * @param {Float32Array} image imageSize², 0–1, white ink on black (as from preprocess.js `toMnist`)
 * @param {number} imageSize
 * @returns {Promise<Float32Array>} numClasses probabilities
 */
export async function predictImage(model, image, imageSize) {
  const probabilities = tf.tidy(() => model.predict(tf.tensor4d(image, [1, imageSize, imageSize, 1])));
  try {
    return await probabilities.data();
  } finally {
    probabilities.dispose();
  }
}

/**
 * Accuracy, per-class accuracy and confusion matrix. Pure.
 * @param {ArrayLike<number>} labels true classes
 * @param {ArrayLike<number>} predicted predicted classes, same length
 * @param {number} numClasses
 * @returns {{accuracy: number, correct: number, total: number,
 *   perClass: {correct: number, total: number, accuracy: number}[],
 *   confusion: number[][]}} confusion[true][predicted] = count
 */
export function summarise(labels, predicted, numClasses) {
  const confusion = Array.from({ length: numClasses }, () => new Array(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) confusion[labels[i]][predicted[i]] += 1;
  const perClass = confusion.map((row, digit) => {
    const total = row.reduce((a, b) => a + b, 0);
    return { correct: row[digit], total, accuracy: total ? row[digit] / total : 0 };
  });
  const correct = perClass.reduce((sum, c) => sum + c.correct, 0);
  return { accuracy: labels.length ? correct / labels.length : 0, correct, total: labels.length, perClass, confusion };
}

/**
 * Which test images to show in the grid: up to half of them mistakes (so
 * they can be seen), the rest right answers, each group in data order. Pure.
 * @param {ArrayLike<number>} labels
 * @param {ArrayLike<number>} predicted
 * @param {number} size cells in the grid
 * @returns {number[]} indices into the test set, ascending
 */
export function pickGrid(labels, predicted, size) {
  const wrong = [], right = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === predicted[i] ? right : wrong).push(i);
  const mistakes = wrong.slice(0, Math.floor(size / 2));
  return [...mistakes, ...right.slice(0, size - mistakes.length)].sort((a, b) => a - b);
}
