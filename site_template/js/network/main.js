/**
 * network.html's entry point: wires its pad, the shipped graph model (js/model.js, in its worker) and the view
 * (js/network/view.js). Every layer comes from the model's own intermediate nodes, named in network.json
 * (pipeline/network.py); nothing of the network is computed here but a ReLU the converter moved.
 *
 * Test hook, the page's only global: window.networkView
 *   activations()  → Promise<{NAME: {shape, values: number[]}}>: every shown layer's activations for the
 *                  drawing shown (NAME: the Keras layer's name; values row-major, HWC)
 *   show(pixels)   pixels: Uint8Array(imageSize²), an MNIST-format image (white ink on black, 0–255); shows it
 *                  without drawing it → Promise, resolved once #network[data-ready="true"] shows it
 *   saliency()     → Promise<{digit, map: number[], sentence}> for the drawing shown (occlusion sensitivity)
 * The view updates live while drawing; with prefers-reduced-motion, at the end of each stroke.
 */
import { createDrawingPad, digitInk } from '../drawing.js';
import { startModel } from '../model.js';
import { toMnist } from '../preprocess.js';
import { extent, union } from '../segment.js';
import { activations, imageFromHash, occlusions, readNetwork, saliency, saliencySentence } from './layers.js';
import * as view from './view.js';

const config = view.readConfig();
const { imageSize, fitSize, labels } = config;
const version = view.assetVersion();
const calm = matchMedia('(prefers-reduced-motion: reduce)');
let shown = null; // {image, values, probabilities}: what the view shows
let explained = null; // the saliency of `shown`, a promise
let wanted = null; // the image to show next, or null
let running = null; // the update loop in progress, a promise
const ready = start();

window.networkView = {
  activations: async () => {
    await running;
    return Object.fromEntries(Object.entries(shown?.values ?? {}).map(([name, { shape, values }]) => [name, { shape, values: Array.from(values) }]));
  },
  show: (pixels) => request(Float32Array.from(pixels, (v) => v / 255), true),
  saliency: async () => {
    await running;
    const { digit, map, sentence } = await explained;
    return { digit, map: Array.from(map), sentence };
  },
};

async function start() {
  try {
    const response = await fetch(`${config.networkUrl}?v=${encodeURIComponent(version)}`);
    if (!response.ok) throw new Error(`${config.networkUrl}: HTTP ${response.status}`);
    const network = readNetwork(await response.json());
    const spriteUrl = new URL(network.digits.sprite, new URL(config.networkUrl, document.baseURI));
    const sprite = fetch(`${spriteUrl}?v=${encodeURIComponent(version)}`).then((r) => r.blob()).then(createImageBitmap);
    const layers = view.buildLayers(network, labels, async (layer, channel) => view.showExcites(layer, channel, await sprite, network.digits));
    view.showFilters(network.filters);
    const model = await startModel({ ...config, version });
    view.showStatus('ready', 'Draw a digit: every layer below follows.');
    return { network, layers, model };
  } catch (err) {
    view.showStatus('error', `Sorry, the network view could not start: ${err.message}`);
    throw err;
  }
}

/** Show `image` (Float32Array imageSize², 0–1) soon, latest wins; `final`: also explain it (saliency). */
function request(image, final) {
  wanted = { image, final: final || Boolean(wanted?.final) };
  view.setReady(view.elements.root, false);
  if (!running) {
    running = loop().finally(() => { running = null; });
    running.catch(() => {}); // a failed start is shown in #status; show() callers still see the rejection
  }
  return running;
}

async function loop() {
  const { network, layers, model } = await ready;
  const nodes = network.layers.filter(({ kind }) => kind !== 'input').map(({ node }) => node);
  while (wanted) {
    const { image, final } = wanted;
    wanted = null;
    const found = await model.layers(image, 1, nodes);
    const values = activations(network.layers, image, new Map(nodes.map((node, i) => [node, found[i]])));
    layers.show(values);
    const probabilities = values[network.layers.at(-1).name].values;
    shown = { image, values, probabilities };
    if (final) {
      view.setReady(view.elements.saliency, false);
      const explaining = shown; // in a task of its own: the layers are shown first, the saliency follows
      explained = new Promise((resolve) => { setTimeout(() => resolve(explain(model, explaining)), 0); });
    }
  }
  view.setReady(view.elements.root, true);
}

/** Occlusion saliency of what is shown: every inked square erased in turn, one batch. */
async function explain(model, { image, probabilities }) {
  const { patches, images } = occlusions(image, imageSize);
  const erased = patches.length ? await model.predict(images, patches.length) : new Float32Array(0);
  const result = saliency(probabilities, erased, patches, imageSize);
  result.sentence = saliencySentence(result, probabilities, labels, imageSize);
  if (shown?.image === image) {
    view.showSaliency(image, result.map, result.sentence, imageSize);
    view.setReady(view.elements.saliency, true);
  }
  return result;
}

// ---------------------------------------------------------------- the pad
const pad = createDrawingPad(view.elements.pad, {
  pen: config.pen,
  onChange: ({ final }) => {
    if (!final && calm.matches) return; // reduced motion: the layers change once a stroke ends, not under the pen
    const image = drawnImage();
    if (image) request(image, final);
  },
});
view.onClear(() => {
  pad.clear();
  request(new Float32Array(imageSize * imageSize), true);
});

/** The pad's strokes as one MNIST-format digit (Float32Array imageSize², 0–1), or null without ink. */
function drawnImage() {
  const { strokes } = pad.readStrokes();
  const boxes = strokes.map(extent).filter(Boolean);
  if (!boxes.length) return null;
  const drawn = digitInk(strokes, boxes.reduce(union), config.pen);
  return toMnist(drawn.ink, drawn.width, drawn.height, { imageSize, fitSize });
}

// A reading handed over by the drawing page (network.html#digit=...), else a blank input.
const handed = imageFromHash(location.hash, imageSize);
request(handed ? Float32Array.from(handed, (v) => v / 255) : new Float32Array(imageSize * imageSize), true);
if (handed) ready.then(() => view.showStatus('ready', 'Showing the digit from the drawing page. Draw here to try another.'), () => {});
