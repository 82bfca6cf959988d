/**
 * Everything train.html shows: every DOM lookup of the page lives here.
 *
 * Test hooks (stable): body[data-state] and #status[data-state], one of
 * loading | idle | training | evaluating | done | error; #start, #stop,
 * #epochs, #learning-rate, #progress (value 0–1), #time-left; the chart
 * containers #chart-batch-loss, #chart-batch-accuracy, #chart-epoch-loss,
 * #chart-epoch-accuracy (data-rendered="true" once drawn, an svg.chart inside);
 * #epoch-table rows tr[data-epoch] (epoch, loss, accuracy); #time-left says
 * "Stopped after epoch k of n" after Stop and is empty after a finished run;
 * #test-accuracy[data-value] (0–1); #per-class rows [data-digit][data-correct][data-total];
 * #confusion td[data-true][data-predicted][data-count]; #grid > li[data-index]
 * [data-predicted][data-true] with [data-mistake] on mistakes;
 * #draw-with-model, canvas#train-pad, #train-clear and
 * output#train-prediction (the digit; data-strokes as on the main page).
 */
const $ = (id) => document.getElementById(id);

export const elements = {
  settings: $('settings'), // <form>: epochs, learning rate, Start
  epochs: $('epochs'),
  learningRate: $('learning-rate'),
  start: $('start'),
  stop: $('stop'),
  status: $('status'),
  progress: $('progress'),
  timeLeft: $('time-left'),
  backend: $('backend'),
  charts: {
    batchLoss: $('chart-batch-loss'),
    batchAccuracy: $('chart-batch-accuracy'),
    epochLoss: $('chart-epoch-loss'),
    epochAccuracy: $('chart-epoch-accuracy'),
  },
  epochRows: $('epoch-table').tBodies[0],
  evaluation: $('evaluation'),
  testAccuracy: $('test-accuracy'),
  perClass: $('per-class'),
  confusion: $('confusion'),
  grid: $('grid'),
  drawWithModel: $('draw-with-model'),
  drawArea: $('draw-area'),
  pad: $('train-pad'),
  clear: $('train-clear'),
  prediction: $('train-prediction'),
  probability: $('train-probability'),
};

const BUSY = new Set(['loading', 'training', 'evaluating']);
const percent = (x, digits = 1) => `${(x * 100).toFixed(digits)} %`;

/** The build's contract for the page: {imageSize, fitSize, numClasses, labels, vendorPath, subsetUrl, ...}. */
export function readConfig() {
  return JSON.parse($('app-config').textContent);
}

/** The build's content hash, for cache-busting URLs the scripts build themselves. */
export function assetVersion() {
  return document.querySelector('meta[name="asset-version"]').content;
}

/** `?backend=NAME` from the page's URL (tests, benchmarks), or null. */
export function requestedBackend() {
  return new URLSearchParams(location.search).get('backend');
}

/** `?hold-at-batch=N` from the page's URL (tests): the batch after which training waits, or null. */
export function requestedHold() {
  const value = Number.parseInt(new URLSearchParams(location.search).get('hold-at-batch'), 10);
  return value > 0 ? value : null;
}

/** Epochs and learning rate as entered, or null (with the browser's message shown) if invalid. */
export function readSettings() {
  if (!elements.settings.reportValidity()) return null;
  return { epochs: elements.epochs.valueAsNumber, learningRate: elements.learningRate.valueAsNumber };
}

export function onStart(handler) {
  elements.settings.addEventListener('submit', (event) => {
    event.preventDefault();
    handler();
  });
}

export const onStop = (handler) => elements.stop.addEventListener('click', handler);
export const onDrawWithModel = (handler) => elements.drawWithModel.addEventListener('click', handler);
export const onClearPad = (handler) => elements.clear.addEventListener('click', handler);

/**
 * Show what the page is doing; enables the controls that make sense now.
 * @param {'loading'|'idle'|'training'|'evaluating'|'done'|'error'} state
 * @param {string} message for people (also read out by screen readers)
 */
export function setState(state, message) {
  document.body.dataset.state = state;
  elements.status.dataset.state = state;
  elements.status.textContent = message;
  const busy = BUSY.has(state);
  elements.start.disabled = busy || state === 'error';
  elements.stop.disabled = state !== 'training';
  elements.epochs.disabled = elements.learningRate.disabled = busy;
}

export function showBackend(name, why) {
  elements.backend.textContent = `${name} (${why})`;
  elements.backend.dataset.backend = name;
}

/**
 * @param {{fraction: number, secondsLeft: number|null, epoch: number, epochs: number, imagesPerSecond: number}} progress
 *   fraction 0–1 of the run; epoch from 1
 */
export function showProgress({ fraction, secondsLeft, epoch, epochs, imagesPerSecond }) {
  elements.progress.value = fraction;
  const left = secondsLeft == null ? '' : `, about ${formatDuration(secondsLeft)} left`;
  elements.timeLeft.textContent = `Epoch ${epoch} of ${epochs} · ${Math.round(imagesPerSecond)} images/s${left}`;
}

/**
 * The progress line once a run has ended: empty after a finished run (the status says "Done"), or how far a
 * stopped run got.
 * @param {{stopped: boolean, epochsDone?: number, epochs?: number}} end epochsDone: epochs completed
 */
export function showProgressEnd({ stopped, epochsDone = 0, epochs = 0 }) {
  if (!stopped) {
    elements.timeLeft.textContent = '';
    return;
  }
  elements.timeLeft.textContent = epochsDone > 0
    ? `Stopped after epoch ${epochsDone} of ${epochs}`
    : `Stopped during epoch 1 of ${epochs}`;
}

/** "1 min 05 s" / "42 s". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/**
 * Show the evaluation on the held-out images.
 * @param {ReturnType<import('./model.js').summarise>} summary
 * @param {{images: Float32Array, labels: Uint8Array}} test
 * @param {Int32Array} predicted one label per test image
 * @param {number[]} gridIndices test images to show (from model.js `pickGrid`)
 * @param {{imageSize: number, labels: string[]}} config
 */
export function showEvaluation(summary, test, predicted, gridIndices, { imageSize, labels }) {
  elements.testAccuracy.textContent = `${percent(summary.accuracy, 2)} (${summary.correct.toLocaleString('en')} of ${summary.total.toLocaleString('en')})`;
  elements.testAccuracy.dataset.value = String(summary.accuracy);

  elements.perClass.tBodies[0].replaceChildren(...summary.perClass.map((c, digit) => row([
    cell('th', labels[digit], { scope: 'row' }), cell('td', `${c.correct} / ${c.total}`), cell('td', percent(c.accuracy)),
  ], { digit, correct: c.correct, total: c.total })));

  const largest = Math.max(...summary.confusion.flat(), 1);
  const corner = cell('td', '');
  corner.className = 'corner'; // two short lines, so the sticky first column stays narrow on a phone
  corner.append(...['true ↓', 'predicted →'].map((text) => cell('span', text)));
  elements.confusion.tHead.replaceChildren(row([corner, ...labels.map((l) => cell('th', l, { scope: 'col' }))]));
  elements.confusion.tBodies[0].replaceChildren(...summary.confusion.map((counts, truth) => row([
    cell('th', labels[truth], { scope: 'row' }),
    ...counts.map((count, guess) => {
      const td = cell('td', String(count));
      Object.assign(td.dataset, { true: truth, predicted: guess, count });
      td.className = truth === guess ? 'right' : count ? 'wrong' : '';
      td.style.setProperty('--share', (count / largest).toFixed(3));
      return td;
    }),
  ])));

  elements.grid.replaceChildren(...gridIndices.map((i) => gridCell(test, i, predicted[i], imageSize, labels)));
  elements.evaluation.hidden = false;
}

function gridCell(test, index, guess, imageSize, labels) {
  const truth = test.labels[index];
  const item = document.createElement('li');
  Object.assign(item.dataset, { index, predicted: guess, true: truth });
  if (guess !== truth) item.dataset.mistake = '';
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = imageSize;
  const pixels = new ImageData(imageSize, imageSize);
  const offset = index * imageSize * imageSize;
  for (let p = 0; p < imageSize * imageSize; p++) {
    const v = Math.round(test.images[offset + p] * 255);
    pixels.data.set([v, v, v, 255], 4 * p);
  }
  canvas.getContext('2d').putImageData(pixels, 0, 0);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `test digit ${index}: a ${labels[truth]}`);
  const caption = document.createElement('span');
  caption.textContent = guess === truth ? `${labels[guess]} / ${labels[truth]}` : `${labels[guess]} / ${labels[truth]} ✗`;
  caption.title = guess === truth ? 'right' : `mistake: predicted ${labels[guess]}, true ${labels[truth]}`;
  item.append(canvas, caption);
  return item;
}

function row(cells, data = {}) {
  const tr = document.createElement('tr');
  Object.assign(tr.dataset, data);
  tr.append(...cells);
  return tr;
}

function cell(tag, text, attributes = {}) {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

/** Allow drawing once a model is trained. */
export function enableDrawing(enabled) {
  elements.drawWithModel.disabled = !enabled;
}

export function showDrawArea() {
  elements.drawArea.hidden = false;
  elements.pad.scrollIntoView({ block: 'nearest' });
}

/**
 * @param {{probabilities: Float32Array|null, labels: string[], strokes: number}} prediction
 *   probabilities null: the pad is blank
 */
export function showDrawPrediction({ probabilities, labels, strokes }) {
  elements.prediction.dataset.strokes = String(strokes);
  if (!probabilities) {
    elements.prediction.textContent = '';
    elements.probability.textContent = '';
    return;
  }
  const best = probabilities.indexOf(Math.max(...probabilities));
  elements.prediction.textContent = labels[best];
  elements.probability.textContent = `${percent(probabilities[best])} sure`;
}
