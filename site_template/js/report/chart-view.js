/**
 * Charts on the page: charts.js's SvgNodes made into SVG elements, drawn at
 * their box's width in CSS px, so the text's CSS font size is its size on
 * screen at any width (a chart scaled down to a phone would shrink its text
 * with it). Used by report.html and train.html.
 */
import { lineChart } from './charts.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const HEIGHT = { min: 220, max: 280, ofWidth: 0.62 }; // chart height, CSS px: a share of the width, within bounds
const MIN_WIDTH = 240; // CSS px: narrower boxes get a chart this wide, scaled down

const redraws = new WeakMap(); // box -> its latest chart's draw(), for the resize observer
const observer = typeof ResizeObserver === 'function' ? new ResizeObserver((entries) => {
  for (const { target } of entries) redraws.get(target)?.();
}) : null;

/**
 * Draw `chart` (lineChart's options, without width and height) into `box`, and again whenever the box's
 * width changes. The box holds only the chart.
 * @param {HTMLElement} box
 * @param {object} chart see charts.js lineChart
 */
export function drawLineChart(box, chart) {
  let drawnWidth = -1;
  const draw = () => {
    const width = Math.max(MIN_WIDTH, Math.floor(box.clientWidth));
    if (width === drawnWidth) return;
    drawnWidth = width;
    const height = Math.round(Math.min(HEIGHT.max, Math.max(HEIGHT.min, width * HEIGHT.ofWidth)));
    box.replaceChildren(svgElement(lineChart({ ...chart, width, height })));
  };
  if (!redraws.has(box)) observer?.observe(box);
  redraws.set(box, draw);
  draw();
}

/** Empty `box` and stop redrawing it. */
export function clearChart(box) {
  redraws.delete(box);
  observer?.unobserve(box);
  box.replaceChildren();
}

/** The SVG element described by `node` (charts.js svg()): attributes set one by one, strings as text nodes. */
export function svgElement(node) {
  if (typeof node === 'string') return document.createTextNode(node);
  const element = document.createElementNS(SVG_NS, node.tag);
  for (const [name, value] of Object.entries(node.attrs)) element.setAttribute(name, String(value));
  element.append(...node.children.map(svgElement));
  return element;
}
