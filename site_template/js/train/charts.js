/**
 * Live training charts with tfjs-vis (vendor/tfjs-vis.umd.min.js, a classic
 * script that defines the global `tfvis`).
 *
 * Drawing a chart costs as much as several training batches on a slow
 * machine, so per-batch charts are redrawn at most every REDRAW_MS; per-epoch
 * charts after every epoch.
 */
const tfvis = globalThis.tfvis;

const REDRAW_MS = 1500; // between redraws of the per-batch charts
const MAX_POINTS = 200; // points drawn per line: longer runs are averaged down (drawing time grows with points)
const HEIGHT = 200; // chart height, CSS pixels

/**
 * @param {{batchLoss: HTMLElement, batchAccuracy: HTMLElement, epochLoss: HTMLElement, epochAccuracy: HTMLElement}} containers
 * @returns {{addBatch: function(number, number, number): void, addEpoch: function(number, number, number): void,
 *   flush: function(): Promise<void>, reset: function(): void}}
 *   addBatch(step, loss, accuracy); addEpoch(epoch (1-based), loss, accuracy)
 */
export function createCharts(containers) {
  let batches = { loss: [], accuracy: [] };
  let epochs = { loss: [], accuracy: [] };
  let timer = 0;
  let drawing = Promise.resolve();

  const width = (element) => Math.max(element.clientWidth, 240);
  const lineChart = (element, values, label, yLabel, xLabel, domain) => tfvis.render.linechart(
    element, { values: [values], series: [label] },
    { xLabel, yLabel, width: width(element), height: HEIGHT, zoomToFit: !domain, yAxisDomain: domain },
  );
  const draw = (which) => {
    drawing = drawing.then(() => Promise.all(which === 'batch'
      ? [lineChart(containers.batchLoss, downsample(batches.loss, MAX_POINTS), 'loss', 'loss', 'batch'),
        lineChart(containers.batchAccuracy, downsample(batches.accuracy, MAX_POINTS), 'accuracy', 'accuracy', 'batch', [0, 1])]
      : [lineChart(containers.epochLoss, epochs.loss, 'loss', 'loss', 'epoch'),
        lineChart(containers.epochAccuracy, epochs.accuracy, 'accuracy', 'accuracy', 'epoch', [0, 1])]))
      .then(() => {
        for (const element of Object.values(containers)) element.dataset.rendered = 'true';
      });
    return drawing;
  };

  return {
    addBatch(step, loss, accuracy) {
      batches.loss.push({ x: step, y: loss });
      batches.accuracy.push({ x: step, y: accuracy });
      timer ||= setTimeout(() => { timer = 0; draw('batch'); }, REDRAW_MS);
    },
    addEpoch(epoch, loss, accuracy) {
      epochs.loss.push({ x: epoch, y: loss });
      epochs.accuracy.push({ x: epoch, y: accuracy });
      draw('epoch');
    },
    /** Draw what is pending now; resolves when every chart is drawn. */
    flush() {
      clearTimeout(timer);
      timer = 0;
      draw('batch');
      return epochs.loss.length ? draw('epoch') : drawing;
    },
    reset() {
      clearTimeout(timer);
      timer = 0;
      batches = { loss: [], accuracy: [] };
      epochs = { loss: [], accuracy: [] };
      for (const element of Object.values(containers)) {
        element.replaceChildren();
        delete element.dataset.rendered;
      }
    },
  };
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
