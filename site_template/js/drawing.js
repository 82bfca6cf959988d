/**
 * Pointer input on the drawing canvas: mouse, touch and pen, all through
 * Pointer Events.
 *
 * The canvas stays transparent and the ink is read from its alpha channel, so
 * the colour the theme draws in does not matter. Strokes are kept as points in
 * canvas units (0–1 of the width and height) and re-rendered whole, so the
 * drawing survives a resize (a phone turned sideways) and stays crisp.
 */
import { alphaChannel } from './preprocess.js';

const PEN_FRACTION = 1 / 14; // pen width / canvas side: a thick marker, MNIST's stroke width at 20 px
const MAX_PIXEL_RATIO = 2; // canvas pixels per CSS pixel at most: sharper adds read time, not accuracy at 28×28
const READ_MARGIN = 2; // canvas pixels read beyond the pen's edge, for anti-aliasing

/**
 * Make `canvas` a drawing pad.
 *
 * @param {HTMLCanvasElement} canvas styled square, with `touch-action: none`
 * @param {{onChange: function({final: boolean}): void}} options onChange runs
 *   after every change of the ink: final is true when a stroke has just ended
 *   (pen up), false while one is being drawn
 * @returns {{readInk: function(): Ink, clear: function(): void}}
 */
export function createDrawingPad(canvas, { onChange }) {
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const strokes = []; // each an array of [u, v] points, canvas units (0–1)
  let active = null; // the stroke being drawn: {pointerId, points}
  let completed = 0; // strokes ended since the last clear
  let frame = 0; // id of the pending animation frame that renders, 0 if none

  const penWidth = () => Math.min(canvas.width, canvas.height) * PEN_FRACTION;

  function render() {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    context.lineWidth = penWidth();
    context.lineCap = context.lineJoin = 'round';
    // The theme's ink colour (CSS `color` of the canvas); it must be opaque
    // so that alpha is exactly the pen's coverage.
    context.strokeStyle = context.fillStyle = getComputedStyle(canvas).color;
    for (const points of strokes) drawStroke(context, points.map(([u, v]) => [u * width, v * height]));
  }

  const scheduleRender = () => { frame ||= requestAnimationFrame(render); };

  function resize() {
    const ratio = Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO);
    const { width, height } = canvas.getBoundingClientRect();
    const [w, h] = [Math.round(width * ratio), Math.round(height * ratio)];
    if (w > 0 && h > 0 && (w !== canvas.width || h !== canvas.height)) {
      [canvas.width, canvas.height] = [w, h]; // this wipes the canvas: draw it again
      render();
    }
  }

  function pointAt(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
  }

  function addPoint(event) {
    const [u, v] = pointAt(event);
    const last = active.points.at(-1);
    if (u !== last[0] || v !== last[1]) active.points.push([u, v]);
  }

  function changed(final) {
    scheduleRender();
    onChange({ final });
  }

  canvas.addEventListener('pointerdown', (event) => {
    if (active || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault(); // no text selection, no emulated mouse events
    canvas.setPointerCapture(event.pointerId); // keep the stroke when the pen slips off the canvas
    active = { pointerId: event.pointerId, points: [pointAt(event)] };
    strokes.push(active.points);
    changed(false);
  });

  canvas.addEventListener('pointermove', (event) => {
    if (!active || event.pointerId !== active.pointerId) return;
    // A fast pen moves further than one event per frame reports; the
    // coalesced events hold the points in between.
    const events = event.getCoalescedEvents?.() ?? [];
    for (const each of events.length ? events : [event]) addPoint(each);
    changed(false);
  });

  function endStroke(event) {
    if (!active || event.pointerId !== active.pointerId) return;
    if (event.type === 'pointerup') addPoint(event);
    active = null;
    completed += 1;
    changed(true);
  }
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, endStroke);
  canvas.addEventListener('contextmenu', (event) => event.preventDefault()); // long press, pen barrel button

  new ResizeObserver(resize).observe(canvas);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', scheduleRender);
  resize();

  /**
   * @typedef {object} Ink
   * @property {Uint8ClampedArray} ink alpha (0–255) of the canvas pixels around
   *   the strokes, width·height, row-major (empty when nothing is drawn)
   * @property {number} width pixels
   * @property {number} height pixels
   * @property {number} strokes strokes completed since the last clear; the
   *   one being drawn, if any, is in `ink` but not counted
   */

  /** The ink as it is now (renders first, so ink and count agree). @returns {Ink} */
  function readInk() {
    render();
    const points = strokes.flat();
    const empty = { ink: new Uint8ClampedArray(0), width: 0, height: 0, strokes: completed };
    if (points.length === 0) return empty;
    const reach = penWidth() / 2 + READ_MARGIN;
    const xs = points.map(([u]) => u * canvas.width), ys = points.map(([, v]) => v * canvas.height);
    const left = clamp(Math.floor(Math.min(...xs) - reach), 0, canvas.width);
    const top = clamp(Math.floor(Math.min(...ys) - reach), 0, canvas.height);
    const right = clamp(Math.ceil(Math.max(...xs) + reach), 0, canvas.width);
    const bottom = clamp(Math.ceil(Math.max(...ys) + reach), 0, canvas.height);
    if (right <= left || bottom <= top) return empty; // drawn wholly off the canvas
    const { data } = context.getImageData(left, top, right - left, bottom - top);
    return { ink: alphaChannel(data), width: right - left, height: bottom - top, strokes: completed };
  }

  /** Wipe the drawing and forget its strokes (a stroke in progress ends here). */
  function clear() {
    const stroke = active;
    active = null; // first, so the lostpointercapture that follows does not count as a stroke
    if (stroke && canvas.hasPointerCapture(stroke.pointerId)) canvas.releasePointerCapture(stroke.pointerId);
    strokes.length = 0;
    completed = 0;
    render();
  }

  return { readInk, clear };
}

/** Stroke a polyline (canvas pixels) as a smooth curve through the midpoints; a dot when it is one point. */
function drawStroke(context, points) {
  context.beginPath();
  if (points.length === 1) {
    context.arc(points[0][0], points[0][1], context.lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.moveTo(...points[0]);
  for (let i = 1; i < points.length - 1; i++) {
    const [x, y] = points[i], [nx, ny] = points[i + 1];
    context.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
  }
  context.lineTo(...points.at(-1));
  context.stroke();
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}
