// Unit tests of the report page's pure chart helpers: `node --test tests/js/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cellPaint, historySeries, legendPlaces, lineChart, linearScale, niceTicks, shade,
} from '../../site_template/js/report/charts.js';

const HISTORY = [ // the shape of metrics.json's history
  { epoch: 1, seconds: 30, loss: 0.61, accuracy: 0.81, val_loss: 0.12, val_accuracy: 0.964 },
  { epoch: 2, seconds: 29, loss: 0.14, accuracy: 0.957, val_loss: 0.058, val_accuracy: 0.983 },
  { epoch: 3, seconds: 29, loss: 0.09, accuracy: 0.972, val_loss: 0.041, val_accuracy: 0.9884 },
];

/** Every node of a chart (lineChart's SvgNode tree), depth first. */
function nodes(node) {
  return typeof node === 'string' ? [] : [node, ...node.children.flatMap(nodes)];
}

/** Every string of a chart: attribute values and text. */
function strings(node) {
  return typeof node === 'string' ? [node] : [...Object.values(node.attrs).map(String), ...node.children.flatMap(strings)];
}

/** Every <circle> of a chart as {series, x, y, cx, cy}. */
function circles(chart) {
  return nodes(chart).filter((n) => n.tag === 'circle').map(({ attrs: a }) => ({
    series: a['data-series'], x: Number(a['data-x']), y: Number(a['data-y']), cx: Number(a.cx), cy: Number(a.cy),
  }));
}

test('linearScale maps the ends of the domain to the ends of the range, inverted ranges too', () => {
  const y = linearScale([0, 2], [100, 0]);
  assert.equal(y(0), 100);
  assert.equal(y(2), 0);
  assert.equal(y(0.5), 75);
});

test('niceTicks covers the data with round steps', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const ticks = niceTicks(0.81, 0.9884, 5);
  assert.ok(ticks[0] <= 0.81 && ticks.at(-1) >= 0.9884, ticks.join());
  const steps = ticks.slice(1).map((t, i) => Number((t - ticks[i]).toFixed(10)));
  assert.equal(new Set(steps).size, 1, `even steps: ${steps}`);
  assert.ok([0.02, 0.05].includes(steps[0]), `round step: ${steps[0]}`);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('historySeries takes training and validation values per epoch', () => {
  const loss = historySeries(HISTORY, 'loss');
  assert.deepEqual(loss.map((s) => s.key), ['loss', 'val_loss']);
  assert.deepEqual(loss[1].points, [{ x: 1, y: 0.12 }, { x: 2, y: 0.058 }, { x: 3, y: 0.041 }]);
  const noValidation = historySeries(HISTORY.map(({ epoch, accuracy }) => ({ epoch, accuracy })), 'accuracy');
  assert.deepEqual(noValidation.map((s) => s.key), ['accuracy']);
});

test('lineChart draws one dot per value, at the position its value dictates', () => {
  const svg = lineChart({ title: 'Loss per epoch', yLabel: 'loss', series: historySeries(HISTORY, 'loss') });
  assert.equal(svg.tag, 'svg');
  assert.equal(svg.attrs.role, 'img');
  assert.equal(svg.attrs['aria-label'], 'Loss per epoch');
  const dots = circles(svg);
  assert.equal(dots.length, 6);
  const expected = HISTORY.flatMap((row) => [['loss', row.epoch, row.loss], ['val_loss', row.epoch, row.val_loss]]);
  for (const [series, x, y] of expected) {
    assert.ok(dots.some((d) => d.series === series && d.x === x && d.y === y), `${series} epoch ${x} = ${y}`);
  }
  // Positions: x grows with the epoch; lower loss sits lower on screen (larger cy), linearly.
  const train = dots.filter((d) => d.series === 'loss');
  assert.ok(train[0].cx < train[1].cx && train[1].cx < train[2].cx);
  assert.ok(train[0].cy < train[1].cy && train[1].cy < train[2].cy);
  const [yMin, yMax] = [svg.attrs['data-y-min'], svg.attrs['data-y-max']];
  const top = 36;
  const bottom = 280 - 40;
  for (const d of dots) {
    assert.ok(Math.abs(d.cy - (bottom - ((d.y - yMin) / (yMax - yMin)) * (bottom - top))) < 0.02, `dot ${d.series} ${d.x}`);
  }
});

test('lineChart keeps names as text and skips values that are not numbers', () => {
  const hostile = '<img src=x onerror=alert(1)></svg><h1>';
  const svg = lineChart({
    title: hostile, yLabel: hostile,
    series: [{ name: hostile, key: 'k', points: [{ x: 1, y: 1 }, { x: 2, y: NaN }, { x: hostile, y: 3 }, { x: 3, y: 2 }] }],
  });
  assert.equal(svg.attrs['aria-label'], hostile);
  assert.ok(nodes(svg).every((n) => /^(svg|g|title|line|polyline|circle|text)$/.test(n.tag)), 'only chart elements');
  assert.deepEqual(circles(svg).map((c) => c.x), [1, 3]);
  assert.ok(strings(svg).filter((t) => t.includes(hostile)).length >= 3, 'title, axis label and legend keep the text');
  assert.ok(!strings(svg).some((t) => t.includes('NaN')));
});

test('shade is 0 for nothing, 1 for the largest count, and keeps small counts visible', () => {
  assert.equal(shade(0, 1000), 0);
  assert.equal(shade(1000, 1000), 1);
  assert.ok(shade(1, 1000) > 0.09 && shade(1, 1000) < shade(5, 1000));
  assert.equal(shade(3, 0), 0);
});

test('cellPaint: solid with inverted text near the largest count, a light tint below', () => {
  assert.deepEqual(cellPaint(1135, 1135), { tint: 100, strong: true });
  assert.deepEqual(cellPaint(0, 1135), { tint: 0, strong: false });
  const few = cellPaint(4, 1135);
  assert.equal(few.strong, false);
  assert.ok(few.tint >= 12 && few.tint <= 45, `${few.tint}`);
  assert.ok(cellPaint(1, 1135).tint >= 12, 'a single mistake still shows');
  const many = cellPaint(600, 1135);
  assert.equal(many.strong, true);
  assert.ok(many.tint >= 85);
  assert.ok(cellPaint(3, 1135).tint < cellPaint(30, 1135).tint);
});

test('lineChart without data says so instead of drawing NaNs', () => {
  const svg = lineChart({ title: 'Loss', yLabel: 'loss', series: historySeries([], 'loss') });
  assert.ok(strings(svg).includes('no per-epoch history'));
  assert.ok(!strings(svg).some((t) => t.includes('NaN') || t.includes('Infinity')));
});

test('legendPlaces wraps the legend onto a new row where the chart is too narrow for it', () => {
  const names = ['training accuracy', 'validation accuracy'];
  assert.deepEqual(legendPlaces(names, 56, 464).map((p) => p.row), [0, 0]);
  const narrow = legendPlaces(names, 56, 300);
  assert.deepEqual(narrow.map((p) => p.row), [0, 1]);
  assert.deepEqual(narrow.map((p) => p.x), [56, 56]);
});

test('lineChart on a phone-width chart makes room above the plot for a two-row legend', () => {
  const wide = lineChart({ title: 'A', yLabel: 'accuracy', series: historySeries(HISTORY, 'accuracy') });
  const narrow = lineChart({ title: 'A', yLabel: 'accuracy', series: historySeries(HISTORY, 'accuracy'), width: 300 });
  const top = (chart) => Math.min(...circles(chart).map((d) => d.cy));
  assert.ok(top(narrow) > top(wide), 'the plot starts lower under two rows of legend');
  const legendRows = nodes(narrow).filter((n) => n.attrs.class?.startsWith('legend')).map((n) => n.attrs.transform);
  assert.equal(new Set(legendRows).size, 2);
});

test('lineChart names its x axis and can leave the dots out of a long series', () => {
  const points = Array.from({ length: 150 }, (_, i) => ({ x: i + 1, y: 1 / (i + 1) }));
  const chart = lineChart({ title: 'Loss per batch', yLabel: 'loss', xLabel: 'batch', series: [{ name: 'loss', key: 'loss', points }], dots: false });
  assert.ok(strings(chart).includes('batch'));
  assert.equal(circles(chart).length, 0);
  const line = nodes(chart).find((n) => n.tag === 'polyline');
  assert.equal(line.attrs.points.split(' ').length, 150);
});
