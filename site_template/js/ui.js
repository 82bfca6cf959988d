/**
 * Everything the page shows: every DOM lookup lives here. The elements come
 * from index.html (rendered by `pipeline build`); the ten probability rows are
 * rendered there from config.labels.
 */
const $ = (id) => document.getElementById(id);

export const elements = {
  pad: $('pad'), // <canvas>: the drawing surface
  clear: $('clear'), // <button>
  prediction: $('prediction'), // <output>: the predicted label; data-strokes
  probabilities: $('probabilities'), // one child per class: data-digit, data-p
  status: $('status'), // data-state: loading | ready | error
  backend: $('backend'), // the tfjs backend's name, small print
  announcer: $('announcer'), // aria-live region: what a screen reader hears
};

const rows = [...elements.probabilities.querySelectorAll('[data-digit]')];

/** The page's contract rendered by the build: {imageSize, fitSize, numClasses, labels, modelUrl, vendorPath, backends, ...}. */
export function readConfig() {
  return JSON.parse($('app-config').textContent);
}

/** The build's content hash, for cache-busting URLs the scripts build themselves. */
export function assetVersion() {
  return document.querySelector('meta[name="asset-version"]').content;
}

/** Run `handler` on the Clear button, and on Escape or Delete anywhere on the page. */
export function onClear(handler) {
  elements.clear.addEventListener('click', handler);
  document.addEventListener('keydown', (event) => {
    if ((event.key === 'Escape' || event.key === 'Delete') && !event.repeat) {
      event.preventDefault();
      handler();
    }
  });
}

/** The model is ready: say so, and show the backend (also as body[data-backend]). */
export function showReady(backend) {
  elements.status.dataset.state = 'ready';
  elements.status.textContent = 'Ready: draw a digit.';
  elements.backend.textContent = backend;
  document.body.dataset.backend = backend;
  document.body.dataset.ready = 'true';
}

/** Loading failed: a human message in place of the status. */
export function showError(message) {
  elements.status.dataset.state = 'error';
  elements.status.textContent = message;
  elements.pad.setAttribute('aria-disabled', 'true');
}

/**
 * Show a prediction, or none.
 *
 * @param {object} result
 * @param {Float32Array | null} result.probabilities numClasses, 0–1, or null
 *   for a blank canvas
 * @param {string[]} result.labels the class labels, config.labels
 * @param {number} result.strokes completed strokes this prediction accounts for
 * @param {boolean} result.final true at pen-up (the only time a screen reader is told)
 */
export function showPrediction({ probabilities, labels, strokes, final }) {
  const best = probabilities ? argmax(probabilities) : -1;
  rows.forEach((row, i) => {
    const p = probabilities ? probabilities[i] : 0;
    row.dataset.p = String(p);
    row.style.setProperty('--p', p);
    row.toggleAttribute('data-best', i === best);
    row.querySelector('.value').textContent = percent(p);
  });
  elements.prediction.textContent = best >= 0 ? labels[best] : '';
  elements.prediction.dataset.strokes = String(strokes);
  if (final) {
    elements.announcer.textContent = best >= 0 ? `Looks like ${labels[best]}, ${percent(probabilities[best])} sure.` : '';
  }
}

/** Tell screen readers the pad was cleared. */
export function announceCleared() {
  elements.announcer.textContent = 'Cleared.';
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}
