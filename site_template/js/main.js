/**
 * Entry point: wires the drawing pad, the preprocessing, the model and the UI.
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
import { ModelError, startModel } from './model.js';
import { toMnist } from './preprocess.js';
import * as personal from './personal.js';
import { judge } from './doubt.js';
import { findDigits, joinedWhereSurer, secondLooks, union } from './segment.js';
import * as ui from './ui.js';

const config = ui.readConfig();
const { imageSize, fitSize, labels, numClasses } = config;

// Predictions of the drawing run one at a time, each on the ink as it is when
// it starts, the next as soon as one is done: while a stroke is drawn, about one
// a frame, since pointer moves come once a frame. `latest` numbers them; Clear
// takes a number too, so a result is shown only if nothing newer started after it.
// A pen usually lifts where it last moved, adding no ink: the reading of that
// ink, done or running, is then the final one, shown as soon as it is ready
// rather than read again (pen-up to the reading on screen: BENCHMARKS.md).
let latest = 0;
let pending = null; // {final}: a prediction asked for and not started yet
let running = false;
let lastReading = null; // {key, digits}: the newest reading shown and what it read (readingKey); null: read again
let heads = 0; // counts the changes of the personal head: a reading by an older head is not reused

window.digitApp = { backend: '', predictMnist: async (pixels) => (await predictMnistBatch(pixels))[0], predictMnistBatch };
const ready = start();
let loaded = null; // the model client once ready
ready.then((model) => { loaded = model; }, () => {}); // the status shows a failure; only the hook's callers need it
const pad = createDrawingPad(ui.elements.pad, { pen: config.pen, onChange: ({ final }) => requestPrediction(final) });
ui.onClear(clear);
ui.onTeach(teach);
ui.onPersonalButtons({ download, forget });
restorePersonal();

/** Backend, then model (in a worker): resolves to the warmed-up model client; shows the outcome. */
async function start() {
  try {
    const model = await startModel({ ...config, version: ui.assetVersion() }).catch((err) => {
      throw new Error(failureMessage(err));
    });
    window.digitApp.backend = model.backend;
    ui.showReady(model.backend);
    return model;
  } catch (err) {
    ui.showError(err.message);
    throw err;
  }
}

/** A human sentence for a ModelError (or anything else that went wrong while loading). */
function failureMessage(err) {
  if (err instanceof ModelError && err.stage === 'backend') {
    return `${err.message} Please try a current Chrome, Firefox, Safari or Edge.`;
  }
  if (err instanceof ModelError && err.stage === 'model') {
    return `Sorry, the digit model could not be loaded: its files are missing or damaged. Please reload the page; if that does not help, the site needs to be rebuilt. (${err.message})`;
  }
  return `Sorry, the digit model could not be loaded. Please reload the page. (${err.message})`;
}


// ------------------------------------------------------- predicting the drawing
/** Ask for a prediction of the ink as it will be when it runs; final: a stroke just ended. */
function requestPrediction(final) {
  pending = { final: final || Boolean(pending?.final) };
  if (!running) predictWhilePending();
}

async function predictWhilePending() {
  running = true;
  try {
    const model = await ready.catch(() => null); // no model: the status already says why
    while (model && pending) {
      const { final } = pending;
      pending = null;
      await predictDrawing(model, final, ++latest);
    }
  } catch (err) {
    ui.showError(`Sorry, reading the digit failed. Please reload the page. (${err.message})`);
  } finally {
    pending = null;
    running = false;
  }
}

/**
 * Find the digits in the strokes, preprocess each, read them all in one batch, show the number.
 * Neighbours the model doubts are read again as one digit (segment.js, secondLooks), in a second
 * batch; the joined reading replaces the two when it names a digit more surely than either did.
 * Ink that was read already is not read again: a pen-up shows that reading as final.
 */
async function predictDrawing(model, final, sequence) {
  const { strokes, completed } = pad.readStrokes();
  const key = readingKey(strokes);
  if (lastReading?.key === key && !final) return; // nothing new to show
  const digits = lastReading?.key === key ? lastReading.digits : await readDigits(model, strokes);
  if (sequence !== latest) return; // cleared, or a newer reading started meanwhile
  lastReading = { key, digits };
  ui.showReading({ digits, labels, strokes: completed, final });
}

/** The digits in `strokes`, left to right, each with its image and probabilities. */
async function readDigits(model, strokes) {
  const digits = findDigits(strokes, config.segmentation).map((group) => digitFrom(group, strokes)).filter(({ image }) => image !== null);
  await read(model, digits);
  const doubtful = digits.map(({ probabilities }) => judge(probabilities, labels, config).shown === '?');
  const pairs = secondLooks(digits.map(({ group }) => group), doubtful, config.segmentation);
  if (!pairs.length) return digits;
  const joined = pairs.map(([i, j]) => digitFrom(joinedGroup(digits[i], digits[j]), strokes));
  await read(model, joined.filter(({ image }) => image !== null));
  return joinedWhereSurer(digits, pairs, joined, labels, config);
}

/** What a reading depends on: the head in use and the ink since the last clear (the pad only adds points and strokes). */
function readingKey(strokes) {
  return `${heads}:${strokes.map((points) => points.length).join(',')}`;
}

/** The model reads differently now (a personal head learnt or forgotten): read the drawing again. */
function readAgain() {
  heads += 1;
  requestPrediction(true);
}

/** A digit to read: a group of strokes (indices into `strokes`, and their box), rendered and preprocessed. */
function digitFrom({ strokes: mine, box }, strokes) {
  const { ink, width, height } = digitInk(mine.map((i) => strokes[i]), box, config.pen);
  return { image: toMnist(ink, width, height, { imageSize, fitSize }), last: mine.includes(strokes.length - 1),
    strokes: inBox(mine.map((i) => strokes[i]), box), group: { strokes: mine, box } };
}

function joinedGroup(a, b) {
  return { strokes: [...a.group.strokes, ...b.group.strokes].sort((x, y) => x - y), box: union(a.group.box, b.group.box) };
}

/** Read `digits` in one batch: each gets its `probabilities`. */
async function read(model, digits) {
  if (!digits.length) return;
  const size = imageSize * imageSize;
  const batch = new Float32Array(digits.length * size);
  digits.forEach(({ image }, i) => batch.set(image, i * size));
  const probabilities = await model.predict(batch, digits.length);
  digits.forEach((digit, i) => { digit.probabilities = probabilities.subarray(i * numClasses, (i + 1) * numClasses); });
}

function clear() {
  pad.clear();
  latest += 1; // a prediction still running is now stale
  lastReading = null;
  ui.showReading({ digits: [], labels, strokes: 0, final: false });
  ui.announceCleared();
}

// ------------------------------------------------------- the visitor's digits
// The visitor's digits are kept in IndexedDB (js/personal.js); the worker learns a personal head from all
// of them (js/adapt.js), kept there too with the features it was learnt on. One adaptation runs at a
// time; digits taught meanwhile start one more when it ends. #personal says 'personal' with N examples
// only once the head in use learnt from all N. Forget ends the generation: an adaptation still running
// then keeps nothing.
let adapting = null; // the running adaptation, a promise
let adaptAgain = false;
let generation = 0;

/**
 * At start: the kept digits (a damaged record is deleted: js/personal.js's keptExamples), then the kept head
 * if the worker finds it whole and learnt on this build's features (js/adapt.js's headFault); else a head is
 * learnt again from the digits and #personal's note says why. With no usable digit the shipped model reads
 * and no head is kept.
 */
async function restorePersonal() {
  let kept;
  try {
    kept = await personal.keptExamples(unusable);
  } catch {
    return; // no IndexedDB: nothing is kept
  }
  const { examples: { length: count }, dropped } = kept;
  if (count === 0) {
    if (dropped) await personal.forgetHead().catch(() => {}); // learnt from records now deleted as damaged
    ui.showPersonal(0, { state: 'shipped', note: ui.relearntNote({ records: dropped, learnt: 0 }) });
    return;
  }
  ui.showPersonal(count, { state: 'shipped' });
  const model = await ready.catch(() => null);
  if (!model) return;
  const head = await personal.loadHead().catch(() => null); // a head that cannot be read is as damaged as null
  const refused = await useKeptHead(model, head);
  if (!refused && !dropped) {
    ui.showPersonal(count, { state: 'personal' });
    if (lastReading) readAgain(); // drawn while the page started
    return;
  }
  // Learnt again, also when records were deleted as damaged (the head may have learnt their damage). The
  // refused head is not deleted first: the one learnt replaces it, and if learning fails now (offline, say)
  // the worker still reads with the shipped model and the next load tries again, so a head the worker
  // could not check for a passing reason (js/adapt.js did not load) is not lost.
  await adapt(model, { updated: refused === 'updated', damaged: refused === 'damaged', records: dropped });
}

/**
 * Read with the kept head (undefined: none kept). Resolves to '' when the worker took it, else why not:
 * 'none', 'updated' (learnt on another build's features) or 'damaged' (anything else the worker refuses).
 */
async function useKeptHead(model, head) {
  if (head === undefined) return 'none';
  if (typeof head !== 'object' || head === null) return 'damaged'; // null would ask the worker for the shipped model
  try {
    await model.useHead(head);
    return '';
  } catch {
    const other = typeof head.featuresVersion === 'string' && head.featuresVersion !== config.featuresVersion;
    return other ? 'updated' : 'damaged';
  }
}

/** Why a kept record cannot be learnt from, '' when it can (js/personal.js's exampleFault, with this page's contract). */
function unusable(example) {
  return personal.exampleFault(example, config);
}

/**
 * Learn a head from every usable kept digit, keep it and read with it; shows the state throughout. `why` the
 * head is learnt again, for #personal's note (ui.relearntNote): {updated, damaged, records}.
 */
function adapt(model, why = {}) {
  adaptAgain = Boolean(adapting);
  adapting ??= (async () => {
    const mine = generation;
    try {
      do {
        adaptAgain = false;
        const { examples, dropped } = await personal.keptExamples(unusable);
        const note = ui.relearntNote({ ...why, records: (why.records ?? 0) + dropped, learnt: examples.length });
        if (examples.length === 0) { // every record was damaged: nothing to learn from
          await personal.forgetHead();
          await model.useHead(null);
          if (mine !== generation) return;
          ui.showPersonal(0, { state: 'shipped', note });
          readAgain();
          continue;
        }
        ui.showPersonal(examples.length, { state: 'adapting' });
        const size = imageSize * imageSize;
        const images = new Float32Array(examples.length * size);
        examples.forEach(({ image }, i) => images.set(Float32Array.from(image, (v) => v / 255), i * size));
        const head = await model.adapt(images, examples.map(({ label }) => labels.indexOf(label)));
        if (mine !== generation) return; // forgotten meanwhile
        await personal.saveHead({ ...head, examples: examples.length });
        if (!adaptAgain) { // else a digit taught meanwhile: learning from it too is next
          ui.showPersonal(examples.length, { state: 'personal', note });
          readAgain(); // the drawing on the pad, by the new head
        }
      } while (adaptAgain);
    } catch (err) {
      if (mine === generation) {
        ui.showPersonal(await personal.countExamples().catch(() => 0), { state: 'shipped', note: `Could not learn from them now (${err.message}).` });
      }
    } finally {
      adapting = null;
    }
  })();
  return adapting;
}

/** Keep the listed digit, labelled `label` by the visitor, and learn from it. */
async function teach(label) {
  const { image, strokes } = ui.shownDigit();
  const example = { label, image: Uint8Array.from(image, (v) => Math.round(255 * v)), strokes, added: new Date().toISOString() };
  try {
    ui.showPersonal(await personal.addExample(example), { taught: label, state: loaded ? 'adapting' : 'shipped' });
  } catch (err) {
    ui.showPersonalProblem(`Sorry, this browser would not keep your digit (${err.message}).`);
    return;
  }
  const model = await ready.catch(() => null);
  if (model) await adapt(model);
}

async function download() {
  ui.saveFile('my-digits.csv', personal.toKaggleCsv((await personal.keptExamples(unusable)).examples), 'text/csv');
}

/** Delete the kept digits and head, and read with the shipped model again. */
async function forget() {
  generation += 1;
  await personal.forgetAll();
  const model = await ready.catch(() => null);
  await model?.useHead(null);
  ui.showPersonal(0, { state: 'shipped' });
  readAgain();
}

/** Strokes relative to their box: 0–1 of its longer side. */
function inBox(strokes, box) {
  const side = Math.max(box.right - box.left, box.bottom - box.top) || 1;
  return strokes.map((points) => points.map(([x, y]) => [(x - box.left) / side, (y - box.top) / side]));
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
