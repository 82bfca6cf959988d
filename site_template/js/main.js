/**
 * Entry point: wires the drawing pad, the reader (js/reader.js), the latest-wins scheduler
 * (js/scheduler.js), the visitor's session (js/session.js), the model and the UI. It holds no state.
 *
 * Test hook, the page's only global: window.digitApp
 *   backend                    string: the tfjs backend in use ('wasm', 'webgl'
 *                              or 'cpu'); '' until the model is ready
 *   predictMnist(pixels)       pixels: Uint8Array(imageSize²), an MNIST-format
 *                              image (white ink on black, 0–255, row-major);
 *                              → Promise<number[]>, the numClasses probabilities.
 *                              Skips the canvas and its preprocessing.
 *   predictMnistBatch(pixels)  pixels: Uint8Array(N·imageSize²), N such images
 *                              → Promise<number[][]>, N arrays of probabilities
 * Both wait for the model and reject if it could not load.
 */
import { createDrawingPad, digitInk } from './drawing.js';
import { startModel } from './model.js';
import * as personal from './personal.js';
import { inkKey, readDigits } from './reader.js';
import { createScheduler } from './scheduler.js';
import { createSession } from './session.js';
import * as ui from './ui.js';

const config = ui.readConfig();
const { imageSize, labels, numClasses } = config;
const version = ui.assetVersion();

window.digitApp = { backend: '', predictMnist: async (pixels) => (await predictMnistBatch(pixels))[0], predictMnistBatch };
const ready = start();
const scheduler = createScheduler({
  ready,
  snapshot: () => { const drawn = pad.readStrokes(); return { key: inkKey(drawn.strokes), input: drawn }; },
  read: (model, { strokes }) => readDigits(strokes, { predict: model.predict, ink: (mine, box) => digitInk(mine, box, config.pen) }, config),
  show: (digits, { completed }, final) => ui.showReading({ digits, listed: session.show(digits), labels, strokes: completed, final }),
  fail: (err) => ui.showError(`Sorry, reading the digit failed. Please reload the page. (${err.message})`),
});
const pad = createDrawingPad(ui.elements.pad, { pen: config.pen, onChange: ({ final }) => scheduler.request(final) });
const session = createSession({ store: personal, ready, view: ui, contract: config, now: () => new Date(), readAgain: scheduler.again });
ui.onClear(() => {
  pad.clear();
  scheduler.clear();
  ui.showReading({ digits: [], listed: session.show([]), labels, strokes: 0, final: false });
  ui.announceCleared();
});
ui.onPick(session.pick);
ui.onTeach(session.teach, config.notADigit);
ui.onUndo(session.undo);
ui.onPersonalButtons(session);
session.restore();
// js/samples.js (its version from the page's import map) and samples.json come at the first sample, never with the page
ui.onSample(() => import('./samples.js').then(({ nextSample }) => nextSample(`${config.samplesUrl}?v=${version}`))
  .then(({ strokes }) => pad.show(strokes)).catch(ui.showSampleProblem));

/** Backend, then model (in a worker): resolves to the warmed-up model client; shows the outcome. */
async function start() {
  try {
    const model = await startModel({ ...config, version }).catch((err) => {
      throw new Error(ui.loadFailure(err));
    });
    window.digitApp.backend = model.backend;
    ui.showReady(model.backend);
    return model;
  } catch (err) {
    ui.showError(err.message);
    throw err;
  }
}

// ---------------------------------------------------------------- test hook
async function predictMnistBatch(pixels) {
  const model = await ready;
  const size = imageSize * imageSize;
  if (pixels.length === 0 || pixels.length % size !== 0) {
    throw new Error(`predictMnistBatch: expected N·${size} pixels, got ${pixels.length}`);
  }
  const count = pixels.length / size;
  const probabilities = await model.predict(Float32Array.from(pixels, (v) => v / 255), count);
  return Array.from({ length: count }, (_, i) => Array.from(probabilities.subarray(i * numClasses, (i + 1) * numClasses)));
}
