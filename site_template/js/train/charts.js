/**
 * Live training charts, drawn as report.html's are (../report/charts.js and
 * chart-view.js: SVG at the box's width, the page's colours), with the
 * per-epoch numbers as a table beside them.
 *
 * Per-batch charts are redrawn at most every REDRAW_MS, so drawing never takes
 * time from training; per-epoch charts and the table after every epoch.
 */
import { clearChart, drawLineChart } from '../report/chart-view.js';

const REDRAW_MS = 1000; // between redraws of the per-batch charts
const MAX_POINTS = 200; // points drawn per per-batch line: longer runs are averaged down

/**
 * @param {{batchLoss: HTMLElement, batchAccuracy: HTMLElement, epochLoss: HTMLElement, epochAccuracy: HTMLElement}} containers
 * @param {HTMLTableSectionElement} epochRows the <tbody> of the per-epoch table
 * @returns {{addBatch: function(number, number, number): void, addEpoch: function(number, number, number): void,
 *   flush: function(): void, reset: function(): void}}
 *   addBatch(step, loss, accuracy); addEpoch(epoch (1-based), loss, accuracy)
 */
export function createCharts(containers, epochRows) {
  let batches = { loss: [], accuracy: [] };
  let epochs = { loss: [], accuracy: [] };
  let timer = 0;

  const chart = (box, metric, per, points) => {
    const last = points.at(-1);
    drawLineChart(box, {
      title: `${capitalise(metric)} per ${per}${last ? `: ${points.length} ${per}${points.length === 1 ? '' : 's'}, the last ${last.y.toFixed(4)}` : ''}`,
      yLabel: metric,
      xLabel: per,
      series: [{ name: `training ${metric}`, key: metric, points }],
      dots: per === 'epoch',
      empty: 'no data yet',
    });
    box.dataset.rendered = 'true';
  };
  const drawBatches = () => {
    chart(containers.batchLoss, 'loss', 'batch', downsample(batches.loss, MAX_POINTS));
    chart(containers.batchAccuracy, 'accuracy', 'batch', downsample(batches.accuracy, MAX_POINTS));
  };
  const drawEpochs = () => {
    chart(containers.epochLoss, 'loss', 'epoch', epochs.loss);
    chart(containers.epochAccuracy, 'accuracy', 'epoch', epochs.accuracy);
  };

  return {
    addBatch(step, loss, accuracy) {
      batches.loss.push({ x: step, y: loss });
      batches.accuracy.push({ x: step, y: accuracy });
      timer ||= setTimeout(() => { timer = 0; drawBatches(); }, REDRAW_MS);
    },
    addEpoch(epoch, loss, accuracy) {
      epochs.loss.push({ x: epoch, y: loss });
      epochs.accuracy.push({ x: epoch, y: accuracy });
      drawEpochs();
      epochRows.append(epochRow(epoch, loss, accuracy));
    },
    /** Draw what is pending now. */
    flush() {
      clearTimeout(timer);
      timer = 0;
      drawBatches();
      if (epochs.loss.length) drawEpochs();
    },
    reset() {
      clearTimeout(timer);
      timer = 0;
      batches = { loss: [], accuracy: [] };
      epochs = { loss: [], accuracy: [] };
      for (const box of Object.values(containers)) {
        clearChart(box);
        delete box.dataset.rendered;
      }
      epochRows.replaceChildren();
    },
  };
}

/** A row of the per-epoch table: <tr data-epoch> with the epoch, loss and accuracy (4 decimals). */
function epochRow(epoch, loss, accuracy) {
  const row = document.createElement('tr');
  row.dataset.epoch = String(epoch);
  const head = document.createElement('th');
  head.scope = 'row';
  head.textContent = String(epoch);
  const cells = [loss, accuracy].map((value) => {
    const cell = document.createElement('td');
    cell.className = 'num';
    cell.textContent = Number.isFinite(value) ? value.toFixed(4) : '–';
    return cell;
  });
  row.append(head, ...cells);
  return row;
}

function capitalise(text) {
  return text[0].toUpperCase() + text.slice(1);
}

/**
 * At most `max` points: runs of consecutive points averaged into one (at the
 * run's last x). Pure.
 * @param {{x: number, y: number}[]} points in x order
 * @param {number} max
 * @returns {{x: number, y: number}[]}
 */
export function downsample(points, max) {
  if (points.length <= max) return points;
  const run = Math.ceil(points.length / max);
  const out = [];
  for (let i = 0; i < points.length; i += run) {
    const group = points.slice(i, i + run);
    out.push({ x: group.at(-1).x, y: group.reduce((sum, p) => sum + p.y, 0) / group.length });
  }
  return out;
}
