/**
 * Entry point of train.html: wires data, backend, model, charts and UI.
 *
 * Load the subset → Start trains a fresh model (Stop ends it early) →
 * evaluate on the held-out images → "Draw with this model" on the same pad
 * and MNIST-style preprocessing as the main page.
 *
 * Test hook, the page's only global: window.trainLab
 *   backend   the tfjs backend in use ('' until chosen)
 *   webgl     what WebGL runs on: {webgl, software, renderer} (backend.js describeWebgl)
 *   summary   null, then after each run {images, seconds, imagesPerSecond,
 *             stopped, accuracy, backend}: images trained on, seconds of
 *             training (evaluation excluded), accuracy on the held-out images
 *   release() with ?hold-at-batch=N in the URL, training waits after batch N
 *             (body[data-held-at-batch="N"]) until this is called, so a test
 *             can act in the middle of a run on a machine of any speed
 */
import { createDrawingPad, digitInk } from '../drawing.js';
import { extent } from '../segment.js';
import { toMnist } from '../preprocess.js';
import { backendOrder, describeWebgl, startBackend } from './backend.js';
import { createCharts } from './charts.js';
import { watchWideTables } from '../report/scroll-cue.js';
import { loadSubset } from './data.js';
import { createModel, pickGrid, predictImage, predictLabels, summarise, train } from './model.js';
import * as ui from './ui.js';

const GRID_SIZE = 60; // test images shown after evaluation
const config = ui.readConfig();
const { imageSize, fitSize, labels } = config;
const numClasses = labels.length; // the lab's model learns the ten digits only (no "not a digit" class: no non-digits to learn it from)

window.trainLab = { backend: '', webgl: null, summary: null, release: () => {} };
const charts = createCharts(ui.elements.charts, ui.elements.epochRows);
let data = null; // the loaded subset
let model = null; // the model trained last
let run = null; // the training in progress: {stop}
let pad = null; // the drawing pad, made on first use

watchWideTables();
const ready = start();
ui.onStart(trainAndEvaluate);
ui.onStop(() => {
  run?.stop();
  ui.setState('training', 'Stopping after this batch…');
  ui.elements.stop.disabled = true;
});
ui.onDrawWithModel(openPad);

async function start() {
  try {
    const gpu = describeWebgl();
    window.trainLab.webgl = gpu;
    const requested = ui.requestedBackend();
    const backend = await startBackend(globalThis.tf, backendOrder(requested, gpu), config.vendorPath);
    window.trainLab.backend = backend;
    ui.showBackend(backend, requested ? 'chosen in the URL' : backend === 'webgl' ? `GPU: ${gpu.renderer}` : 'no fast GPU here, so WebAssembly');
    data = await loadSubset(config.subsetUrl, ui.assetVersion());
    ui.setState('idle', `Ready: ${data.train.count.toLocaleString('en')} training and ${data.test.count.toLocaleString('en')} test digits loaded (${(data.bytes / 1e6).toFixed(1)} MB). Press Start.`);
  } catch (err) {
    ui.setState('error', `Sorry, training cannot start here: ${err.message}`);
  }
}

async function trainAndEvaluate() {
  const settings = ui.readSettings();
  if (!settings || !data || run) return;
  await ready;
  const holdAt = ui.requestedHold();
  try {
    model?.dispose();
    model = null; // nothing to draw with until the new model is trained
    ui.enableDrawing(false);
    charts.reset();
    model = createModel({ imageSize, numClasses, learningRate: settings.learningRate });
    ui.setState('training', 'Training…');
    ui.showProgress({ fraction: 0, secondsLeft: null, epoch: 1, epochs: settings.epochs, imagesPerSecond: 0 });
    let [lastStep, stepsPerEpoch, epochsDone] = [0, Infinity, 0];
    run = train(model, data.train, {
      ...settings, imageSize, numClasses,
      onBatch: async ({ epoch, step, totalSteps, images, seconds, loss, accuracy }) => {
        [lastStep, stepsPerEpoch] = [step, totalSteps / settings.epochs];
        charts.addBatch(step, loss, accuracy);
        const perStep = seconds / step;
        ui.showProgress({ fraction: step / totalSteps, secondsLeft: perStep * (totalSteps - step), epoch: epoch + 1, epochs: settings.epochs, imagesPerSecond: images / seconds });
        if (step === holdAt) await held(step);
      },
      // Also called for the epoch in progress when Stop ends it: only whole epochs are charted and counted.
      onEpoch: ({ epoch, loss, accuracy }) => {
        if (lastStep < (epoch + 1) * stepsPerEpoch) return;
        epochsDone = epoch + 1;
        charts.addEpoch(epoch + 1, loss, accuracy);
      },
    });
    const trained = await run.done;
    charts.flush();
    ui.showProgressEnd({ stopped: trained.stopped, epochsDone, epochs: settings.epochs });
    ui.setState('evaluating', `Trained on ${trained.images.toLocaleString('en')} images in ${ui.formatDuration(trained.seconds)}${trained.stopped ? ' (stopped)' : ''}. Testing…`);
    const predicted = await predictLabels(model, data.test, imageSize);
    const summary = summarise(data.test.labels, predicted, numClasses);
    ui.showEvaluation(summary, data.test, predicted, pickGrid(data.test.labels, predicted, GRID_SIZE), config);
    window.trainLab.summary = { ...trained, imagesPerSecond: trained.images / trained.seconds, accuracy: summary.accuracy, backend: window.trainLab.backend };
    ui.enableDrawing(true);
    ui.setState('done', `Done: ${(summary.accuracy * 100).toFixed(2)} % of the test digits right, after ${trained.images.toLocaleString('en')} training images in ${ui.formatDuration(trained.seconds)}. Draw with it below, or train again.`);
  } catch (err) {
    model?.dispose();
    model = null;
    ui.showProgressEnd({ stopped: false });
    ui.setState('error', `Sorry, training failed: ${err.message}`);
  } finally {
    run = null;
  }
}

/** The test hook's hold: resolves when window.trainLab.release() is called. */
function held(step) {
  document.body.dataset.heldAtBatch = String(step);
  return new Promise((resolve) => {
    window.trainLab.release = () => {
      delete document.body.dataset.heldAtBatch;
      resolve();
    };
  });
}

// ------------------------------------------------------ draw with the model
function openPad() {
  ui.showDrawArea();
  if (!pad) {
    pad = createDrawingPad(ui.elements.pad, { pen: config.pen, onChange: ({ final }) => { if (final) predictDrawing(); } });
    ui.onClearPad(() => {
      pad.clear();
      ui.showDrawPrediction({ probabilities: null, labels, strokes: 0 });
    });
  }
}

/**
 * Read the drawing the way the main page reads one digit and show the model's guess (after every pen-up);
 * no guess while a new model is being trained.
 */
async function predictDrawing() {
  const { strokes: drawn, completed: strokes } = pad.readStrokes();
  const box = extent(drawn.flat());
  const digit = box && digitInk(drawn, box, config.pen);
  const image = digit && toMnist(digit.ink, digit.width, digit.height, { imageSize, fitSize });
  let probabilities = null;
  try {
    if (image && model && !run) probabilities = await predictImage(model, image, imageSize);
  } catch (err) {
    ui.setState('error', `Sorry, reading the drawing failed: ${err.message}`);
  }
  ui.showDrawPrediction({ probabilities, labels, strokes });
}
