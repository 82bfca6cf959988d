/**
 * Pure chart helpers for the model report: numbers in, SVG as plain data
 * (svg(): tag, attributes, children) or numbers out. No DOM, so they run and are tested in Node
 * (tests/js/report-charts.test.mjs). Colours are CSS variables from
 * css/style.css, so charts follow the page's light or dark scheme.
 */

/**
 * A linear map from `domain` [d0, d1] to `range` [r0, r1].
 * @returns {(value: number) => number}
 */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/**
 * About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k).
 * @returns {number[]} ascending; the first ≤ min and the last ≥ max
 */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks = [];
  for (let t = first; t < max + step - 1e-9 * step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/**
 * An SVG element as plain data: views.js makes it with createElementNS,
 * setAttribute and text nodes, so a value is never parsed as markup.
 * @typedef {{tag: string, attrs: Object<string, string|number>, children: (SvgNode|string)[]}} SvgNode
 */

/** @returns {SvgNode} `tag` with `attrs` and `children` (nodes, or strings that stay text) */
export function svg(tag, attrs = {}, ...children) {
  return { tag, attrs, children };
}

/**
 * A line chart of one or more series, as an SvgNode.
 *
 * @param {object} chart
 * @param {string} chart.title accessible name of the chart (its <title>)
 * @param {string} chart.yLabel what the y axis measures, e.g. 'loss'
 * @param {string} [chart.xLabel='epoch'] what the x axis counts, e.g. 'batch'
 * @param {{name: string, key: string, points: {x: number, y: number}[]}[]} chart.series
 *   key: a CSS-safe id (becomes data-series and a class); points: x = epoch (1, 2, …) or batch;
 *   a point whose x or y is not a finite number is left out
 * @param {number} [chart.width=480] @param {number} [chart.height=280] SVG user units: the page draws a
 *   chart at its box's width in CSS px (chart-view.js), so the text's font size (CSS) is its size on screen
 * @param {boolean} [chart.dots=true] a dot per point (false for long series: the line alone)
 * @param {string} [chart.empty] what the chart says when it has no point to draw
 * @returns {SvgNode} `<svg>`; with dots, every point is a `<circle data-series data-x data-y>`
 *   holding its exact value, and its position follows the axes' scales
 */
export function lineChart({ title, yLabel, xLabel = 'epoch', series, width = 480, height = 280, dots = true, empty = 'no per-epoch history' }) {
  const drawn = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) }));
  const places = legendPlaces(drawn.map((s) => s.name), MARGIN.left, width - MARGIN.right);
  // The legend sits in the top margin, in as many rows as it needs.
  const margin = { ...MARGIN, top: MARGIN.top + LEGEND_ROW * (places.at(-1)?.row ?? 0) };
  const points = drawn.flatMap((s) => s.points);
  if (points.length === 0) {
    return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${title}: no data` },
      svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, empty));
  }
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const xMin = Math.min(...xs, 1);
  const xMax = Math.max(...xs, xMin + 1);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const x = linearScale([xMin, xMax], [margin.left, width - margin.right]);
  const y = linearScale([yTicks[0], yTicks[yTicks.length - 1]], [height - margin.bottom, margin.top]);
  const [left, right, bottom] = [margin.left, width - margin.right, height - margin.bottom];
  const xTickCount = Math.max(1, Math.min(10, xMax - xMin, Math.floor((right - left) / X_TICK_SPACING)));
  const xTicks = niceTicks(xMin, xMax, xTickCount).filter((t) => Number.isInteger(t) && t >= xMin && t <= xMax);
  const decimals = Math.max(0, -Math.floor(Math.log10((yTicks[1] - yTicks[0]) || 1)));

  const grid = yTicks.map((t) => svg('g', { class: 'tick' },
    svg('line', { x1: left, x2: right, y1: r(y(t)), y2: r(y(t)) }),
    svg('text', { x: left - 6, y: r(y(t)), dy: '0.32em', 'text-anchor': 'end' }, t.toFixed(decimals))));
  const xAxis = xTicks.map((t) => svg('text', { class: 'tick', x: r(x(t)), y: bottom + 18, 'text-anchor': 'middle' }, String(t)));
  const lines = drawn.map((s, i) => svg('g', { class: `series series-${i} ${s.key}`, 'data-series': s.key },
    svg('polyline', { points: s.points.map((p) => `${r(x(p.x))},${r(y(p.y))}`).join(' ') }),
    ...(dots ? s.points : []).map((p) => svg('circle', { 'data-series': s.key, 'data-x': p.x, 'data-y': p.y, cx: r(x(p.x)), cy: r(y(p.y)), r: 3.5 },
      svg('title', {}, `${s.name}, ${xLabel} ${p.x}: ${p.y.toPrecision(4)}`)))));
  const legend = drawn.map((s, i) => svg('g', { class: `legend series-${i}`, transform: `translate(${places[i].x},${8 + LEGEND_ROW * places[i].row})` },
    svg('line', { x1: 0, x2: 18, y1: 6, y2: 6 }), svg('text', { x: 24, y: 6, dy: '0.32em' }, s.name)));

  return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title,
    'data-y-min': yTicks[0], 'data-y-max': yTicks[yTicks.length - 1] },
  svg('title', {}, title),
  svg('g', { class: 'grid' }, ...grid),
  svg('line', { class: 'axis', x1: left, x2: right, y1: bottom, y2: bottom }),
  ...xAxis,
  svg('text', { class: 'axis-label', x: (left + right) / 2, y: height - 6, 'text-anchor': 'middle' }, xLabel),
  svg('text', { class: 'axis-label', transform: `translate(14,${(margin.top + bottom) / 2}) rotate(-90)`, 'text-anchor': 'middle' }, yLabel),
  ...lines, ...legend);
}

const MARGIN = { top: 36, right: 16, bottom: 40, left: 56 }; // top: room for one row of legend
const LEGEND_ROW = 22; // height of a row of the legend
const LEGEND_CHAR = 8; // width allowed per character of a legend name: above the average of the charts' 13 px type
const LEGEND_GAP = 16; // between two entries of the legend
const X_TICK_SPACING = 48; // the least room per x tick label

/**
 * Where each legend entry goes: left to right from `left`, onto a new row when
 * the next would pass `right`. Widths are estimated from the names' lengths.
 * @returns {{x: number, row: number}[]} one per name, row from 0
 */
export function legendPlaces(names, left, right) {
  let [x, row] = [left, 0];
  return names.map((name) => {
    const width = 24 + LEGEND_CHAR * name.length;
    if (x > left && x + width > right) [x, row] = [left, row + 1];
    const place = { x, row };
    x += width + LEGEND_GAP;
    return place;
  });
}

/**
 * The series of one metric from metrics.json's history: training and validation.
 * @param {object[]} history rows {epoch, loss, accuracy, val_loss, val_accuracy}
 * @param {'loss' | 'accuracy'} metric
 */
export function historySeries(history, metric) {
  const series = [{ name: `training ${metric}`, key: metric }, { name: `validation ${metric}`, key: `val_${metric}` }];
  return series
    .map((s) => ({ ...s, points: history.filter((row) => Number.isFinite(row[s.key])).map((row) => ({ x: row.epoch, y: row[s.key] })) }))
    .filter((s) => s.points.length > 0);
}

/**
 * How strongly to shade a confusion-matrix cell: 0 (none) to 1 (the largest count).
 * Logarithmic, so the few mistakes off the diagonal stay visible beside ~1,000
 * correct ones on it.
 */
export function shade(count, maxCount) {
  if (!(count > 0) || !(maxCount > 0)) return 0;
  return Math.log1p(count) / Math.log1p(maxCount);
}

/**
 * How to paint a confusion-matrix cell so its number stays readable in light
 * and dark mode: `tint` (0–100, % of the accent colour over the page) and
 * `strong` (true: the text takes the page's background colour). Cells near the
 * largest count get a solid tint and inverted text; all others a light tint
 * (at most LIGHT_TINT %) under normal text, which keeps contrast ≥ 4.5:1.
 */
export function cellPaint(count, maxCount) {
  const strength = shade(count, maxCount);
  if (strength >= STRONG_FROM) return { tint: round1(100 * strength), strong: true };
  return { tint: strength > 0 ? round1(MIN_TINT + (LIGHT_TINT - MIN_TINT) * strength) : 0, strong: false };
}

const STRONG_FROM = 0.85; // shade from which a cell is painted solid
const LIGHT_TINT = 45; // the most tint under normal text, %
const MIN_TINT = 12; // the least tint of a non-zero count, %: a single mistake still shows

function round1(value) {
  return Math.round(value * 10) / 10;
}

function r(value) {
  return Math.round(value * 100) / 100;
}
