/**
 * Every DOM lookup and update of the report page (report.html). The data is
 * dist/report.json, written by `pipeline build` (pipeline/report.py):
 *   history      [{epoch, loss, accuracy, val_loss, val_accuracy}], from metrics.json
 *   evaluation   {images, accuracy, loss, per_class: [{digit, precision, recall, support}],
 *                 confusion_matrix: int[10][11] (rows: true digit, columns: read as, the last "?"), runtime}
 *   grid, mistakes  [{index, true, predicted, confidence, cell}]; cell: position in the sprite
 *   architecture {layers: [{name, type, output_shape, parameters}], parameters}
 *   model        {model_bytes, weight_bytes, quantize}; sprite {url, cell_size, cells}
 */
import { cellPaint, historySeries } from './charts.js';
import { drawLineChart } from './chart-view.js';

const $ = (id) => document.getElementById(id);

/** The report page's settings rendered by the build: {reportUrl, ...}. */
export function readConfig() {
  return JSON.parse($('app-config').textContent);
}

/** The build's content hash, for cache-busting URLs built here. */
export function assetVersion() {
  return document.querySelector('meta[name="asset-version"]').content;
}

/** Show the page as loaded: hide the status, mark body[data-ready]. */
export function showReady() {
  const status = $('report-status');
  status.dataset.state = 'ready';
  status.textContent = '';
  document.body.dataset.ready = 'true';
}

/** A human message in place of the report. */
export function showError(message) {
  const status = $('report-status');
  status.dataset.state = 'error';
  status.textContent = message;
  document.querySelectorAll('[data-needs-report]').forEach((section) => { section.hidden = true; });
}

/** The headline figures: accuracy, test images, download size, parameters. */
export function renderSummary(report) {
  const { evaluation, model, architecture, keras_test_accuracy: kerasAccuracy } = report;
  const facts = [
    ['Test accuracy (this model, in TensorFlow.js)', percent(evaluation.accuracy, 2), 'accuracy'],
    ['Test digits', evaluation.images.toLocaleString('en'), 'images'],
    ['Keras test accuracy before conversion', kerasAccuracy == null ? '–' : percent(kerasAccuracy, 2), 'keras-accuracy'],
    [`Model download${model.quantize ? ` (${model.quantize} weights)` : ''}`, model.model_bytes ? `${(model.model_bytes / 1000).toFixed(0)} kB` : '–', 'model-bytes'],
    ['Parameters', architecture.parameters.toLocaleString('en'), 'parameters'],
  ];
  $('summary-facts').replaceChildren(...facts.map(([term, value, key]) => el('div', {}, el('dt', {}, term), el('dd', { 'data-fact': key }, value))));
}

/** Loss and accuracy per epoch, training and validation: two SVG charts and the same numbers as a table. */
export function renderCurves(history) {
  drawLineChart($('loss-chart'), { title: 'Loss per epoch, training and validation', yLabel: 'loss', series: historySeries(history, 'loss') });
  drawLineChart($('accuracy-chart'), { title: 'Accuracy per epoch, training and validation', yLabel: 'accuracy', series: historySeries(history, 'accuracy') });
  const value = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
  $('history-table').querySelector('tbody').replaceChildren(...history.map((row) => el('tr', {},
    el('th', { scope: 'row' }, String(row.epoch)),
    ...[[row.loss, 4], [row.accuracy, 4], [row.val_loss, 4], [row.val_accuracy, 4]].map(([v, d]) => el('td', { class: 'num' }, value(v, d))))));
}

/**
 * The confusion matrix as a table: a header row of predicted digits, a header
 * cell per true digit, each count a <td data-true data-pred>, shaded by count;
 * plus each digit's recall (last column) and precision (last row). The
 * matrix has a column more than rows: "?", the digits read as not a digit.
 */
export function renderConfusion(labels, matrix, perClass) {
  const max = Math.max(...matrix.flat());
  const head = el('tr', {}, el('td', {}), ...labels.map((label) => el('th', { scope: 'col' }, label)), el('th', { scope: 'col', class: 'rate' }, 'recall'));
  const rows = matrix.map((row, t) => el('tr', {},
    el('th', { scope: 'row' }, labels[t]),
    ...row.map((count, p) => {
      const cell = el('td', { 'data-true': labels[t], 'data-pred': labels[p], class: t === p ? 'hit' : count ? 'miss' : 'none' }, String(count));
      const { tint, strong } = cellPaint(count, max);
      cell.style.setProperty('--shade', `${tint}%`);
      cell.classList.toggle('strong', strong);
      return cell;
    }),
    el('td', { class: 'rate' }, percent(perClass[t].recall, 1))));
  const precision = el('tr', { class: 'rate' }, el('th', { scope: 'row' }, 'precision'),
    ...perClass.map((c) => el('td', {}, percent(c.precision, 1))), ...labels.slice(perClass.length).map(() => el('td', {})),
    el('td', {}));
  $('confusion').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows, precision));
}

/**
 * A list of test digits, each its image from the sprite with its true and predicted labels.
 * @param {HTMLElement} list an <ol>; @param {object[]} digits report.grid or report.mistakes
 */
export function renderDigits(list, digits, labels, sprite, spriteUrl) {
  list.replaceChildren(...digits.map((d) => {
    const wrong = d.true !== d.predicted;
    const image = el('span', { class: 'digit-image', role: 'img', 'aria-label': `MNIST test image ${d.index}` });
    // The sprite is one row of cells; stretch it so one cell fills the box, then slide to this one.
    image.style.backgroundImage = `url("${new URL(spriteUrl, document.baseURI).href}")`;
    image.style.backgroundSize = `${sprite.cells * 100}% 100%`;
    image.style.backgroundPositionX = `${sprite.cells > 1 ? (100 * d.cell) / (sprite.cells - 1) : 0}%`;
    const caption = el('span', { class: 'labels' },
      el('span', { class: 'predicted' }, `read as ${labels[d.predicted]}`),
      el('span', { class: 'true' }, `true ${labels[d.true]}`),
      el('span', { class: 'confidence' }, `${d.confidence > 0.999 ? '> 99.9%' : percent(d.confidence, 1)} sure`));
    return el('li', {
      'data-index': String(d.index), 'data-true': labels[d.true], 'data-pred': labels[d.predicted],
      'data-confidence': String(d.confidence), class: wrong ? 'wrong' : 'right',
    }, image, caption);
  }));
}

/** The layers: name, type, output shape and parameters, with the total. */
export function renderArchitecture(architecture) {
  const shape = (s) => `(${s.map((d) => (d == null ? 'N' : d)).join(', ')})`;
  const rows = architecture.layers.map((layer) => el('tr', {},
    el('th', { scope: 'row' }, layer.name), el('td', {}, layer.type), el('td', { class: 'shape' }, shape(layer.output_shape)),
    el('td', { class: 'num' }, layer.parameters.toLocaleString('en'))));
  // "Total" in the first column alone, so it stays in view with the layer names when the table scrolls sideways.
  const total = el('tr', { class: 'total' }, el('th', { scope: 'row' }, 'Total'), el('td', { colspan: '2' }),
    el('td', { class: 'num' }, architecture.parameters.toLocaleString('en')));
  $('architecture').querySelector('tbody').replaceChildren(...rows, total);
}

/** Say what evaluated the model: the runtime and the test set. */
export function renderEvaluationNote(evaluation) {
  $('evaluation-note').textContent = `Evaluated by ${evaluation.runtime} on all ${evaluation.images.toLocaleString('en')} MNIST test digits, none of which the model trained on.`;
}

export const lists = { grid: $('grid'), mistakes: $('mistakes') };

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function percent(p, decimals) {
  return `${(100 * p).toFixed(decimals)}%`;
}
