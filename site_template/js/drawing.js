/**
 * Pointer input on the drawing canvas: mouse, touch and pen, all through
 * Pointer Events.
 *
 * The canvas stays transparent and the ink, in the theme's colour, is opaque,
 * so its alpha channel is the pen's coverage (a saved canvas reads the same in
 * light and dark themes). Strokes are kept as points in
 * pad units (fractions of the canvas's height, along both axes, so shapes keep
 * their proportions) and re-rendered whole, so the drawing survives a resize
 * (a phone turned sideways) and stays crisp.
 *
 * The model does not read this canvas: `digitInk` renders each digit's strokes
 * again, on their own, with a pen that fits the digit's size, whatever the pen
 * the visitor sees. Both pens are the build's (`Pen`, from pipeline/contract.py),
 * as are the non-digits the model learns from (pipeline/data/nondigits.py).
 */
import { alphaChannel } from './preprocess.js';

const MAX_PIXEL_RATIO = 2; // canvas pixels per CSS pixel at most: sharper adds read time, not accuracy at 28×28
const READ_MARGIN = 2; // pixels beyond the pen's edge around a digit rendered for the model, for anti-aliasing
const MIN_DIGIT_SIDE = 1e-3; // pad units: a dot is rendered as if it were this long
const SHOWN_SIDE = 0.55; // pad units: the longer side of a drawing put on the pad whole (show)

/**
 * @typedef {object} Pen the page's pens, rendered into its config by the build (pipeline/contract.py)
 * @property {number} pad the pad's pen width / the pad's height
 * @property {number} digit pen width / a digit's longer side when it is rendered for the model
 * @property {number} digitSide pixels of a digit's longer side when it is rendered for the model
 */

/**
 * Make `canvas` a drawing pad.
 *
 * @param {HTMLCanvasElement} canvas sized by CSS, with `touch-action: none`
 * @param {{pen: Pen, onChange: function({final: boolean}): void}} options the
 *   pens; onChange runs after every change of the ink: final is true when a
 *   stroke has just ended (pen up), false while one is being drawn
 * @returns {{readStrokes: function(): Drawn, clear: function(): void, show: function(Array<Array<[number, number]>>): void}}
 */
export function createDrawingPad(canvas, { pen, onChange }) {
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const strokes = []; // each an array of [x, y] points, pad units (fractions of the height)
  let active = null; // the stroke being drawn: {pointerId, points}
  let completed = 0; // strokes ended since the last clear
  let frame = 0; // id of the pending animation frame that renders, 0 if none

  const penWidth = () => canvas.height * pen.pad;

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
    for (const points of strokes) drawStroke(context, points.map(([x, y]) => [x * height, y * height]));
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
    return [(event.clientX - box.left) / box.height, (event.clientY - box.top) / box.height];
  }

  /** Add the event's point to the active stroke; returns whether the ink changed (a new point). */
  function addPoint(event) {
    const [u, v] = pointAt(event);
    const last = active.points.at(-1);
    if (u === last[0] && v === last[1]) return false;
    active.points.push([u, v]);
    return true;
  }

  /** The ink or the strokes changed: read them again; render only if the ink changed (`inked`). */
  function changed(final, inked = true) {
    if (inked) scheduleRender();
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
    // A pen usually lifts where it last moved: then there is nothing new to render, only to read.
    const inked = event.type === 'pointerup' && addPoint(event);
    active = null;
    completed += 1;
    changed(true, inked);
  }
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, endStroke);
  canvas.addEventListener('contextmenu', (event) => event.preventDefault()); // long press, pen barrel button

  new ResizeObserver(resize).observe(canvas);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', scheduleRender);
  resize();

  /**
   * @typedef {object} Drawn
   * @property {Array<Array<[number, number]>>} strokes every stroke's points,
   *   pad units, the one being drawn (if any) last; copies
   * @property {number} completed strokes completed since the last clear
   */

  /** The strokes as they are now. @returns {Drawn} */
  function readStrokes() {
    return { strokes: strokes.map((points) => points.slice()), completed };
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

  /**
   * Put a finished drawing on the pad in place of the ink (a sample digit): its strokes, in a unit box (0–1 of
   * its longer side), SHOWN_SIDE high in the pad's middle, count as completed and are read as at a pen-up.
   */
  function show(drawing) {
    clear();
    const left = (canvas.width / canvas.height - SHOWN_SIDE) / 2, top = (1 - SHOWN_SIDE) / 2;
    strokes.push(...drawing.map((points) => points.map(([x, y]) => [left + SHOWN_SIDE * x, top + SHOWN_SIDE * y])));
    completed = drawing.length;
    changed(true);
  }

  return { readStrokes, clear, show };
}

let scratch = null; // the canvas digitInk draws on, made once

/**
 * One digit's ink as the model reads it: its strokes alone, rendered with a
 * pen `pen.digit` of the digit's longer side (MNIST's stroke width, whatever
 * pen the visitor sees), the longer side `pen.digitSide` pixels.
 *
 * @param {Array<Array<[number, number]>>} strokes the digit's strokes, pad units
 * @param {{left: number, top: number, right: number, bottom: number}} box their extent (segment.js)
 * @param {Pen} pen
 * @returns {{ink: Uint8ClampedArray, width: number, height: number}} alpha 0–255, row-major
 */
export function digitInk(strokes, box, { digit, digitSide }) {
  const side = Math.max(box.right - box.left, box.bottom - box.top, MIN_DIGIT_SIDE);
  const scale = digitSide / side, pen = digit * digitSide;
  const margin = pen / 2 + READ_MARGIN;
  const width = Math.ceil((box.right - box.left) * scale + 2 * margin);
  const height = Math.ceil((box.bottom - box.top) * scale + 2 * margin);
  scratch ??= document.createElement('canvas');
  [scratch.width, scratch.height] = [width, height]; // also wipes it
  const context = scratch.getContext('2d', { willReadFrequently: true });
  context.lineWidth = pen;
  context.lineCap = context.lineJoin = 'round';
  context.strokeStyle = context.fillStyle = '#000';
  for (const points of strokes) {
    drawStroke(context, points.map(([x, y]) => [(x - box.left) * scale + margin, (y - box.top) * scale + margin]));
  }
  return { ink: alphaChannel(context.getImageData(0, 0, width, height).data), width, height };
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
