/**
 * The network view's arithmetic, no DOM: network.json read and checked, the graph nodes' values turned into
 * each shown layer's activations, tiles' pixels, a sentence per layer, occlusion saliency.
 *
 * network.json (pipeline/network.py): {layers: [{name, type, kind, shape, weights, node, relu, top}], filters:
 * {layer, shape, values}, digits: {sprite, tile, columns, count, test_indices}, top}. kind is one of
 * 'input' | 'conv' | 'pool' | 'dense' | 'output'; shape has no batch dimension (h, w, channels, or units).
 */

const KINDS = ['input', 'conv', 'pool', 'dense', 'output'];
export const PATCH = 8; // side of the square of ink erased to see what it mattered, pixels of the 28×28 input
export const STRIDE = 2; // step between erased squares, pixels

/**
 * Check a parsed network.json; throws an Error naming what is wrong.
 * @returns {object} the same object
 */
export function readNetwork(network) {
  const layers = network?.layers;
  if (!Array.isArray(layers) || layers.length < 2) throw new Error('network.json: no list of layers');
  for (const layer of layers) {
    const ok = typeof layer?.name === 'string' && KINDS.includes(layer.kind) && typeof layer.node === 'string'
      && Array.isArray(layer.shape) && layer.shape.length >= 1 && layer.shape.every((d) => Number.isInteger(d) && d > 0);
    if (!ok) throw new Error(`network.json: layer ${JSON.stringify(layer?.name ?? '?')} lacks a name, kind, node or shape`);
  }
  if (!network.digits || !(network.digits.tile > 0)) throw new Error('network.json: no digits sprite');
  return network;
}

/** Channels of a layer (1 for a flat one: its units are its tiles, one value each). */
export const channels = (shape) => (shape.length === 3 ? shape[2] : shape[0]);
/** [height, width] of one tile: a feature map's side, or 1×1 for a unit. */
export const tileSize = (shape) => (shape.length === 3 ? [shape[0], shape[1]] : [1, 1]);

/**
 * Each shown layer's activations from the graph nodes' values.
 * @param {object[]} layers network.json's
 * @param {Float32Array} image the input, imageSize², 0–1
 * @param {Map<string, {values: Float32Array}>} nodes the values of each layer's node, batch of one
 * @returns {Object<string, {shape: number[], values: Float32Array}>} by layer name, in the layers' order
 */
export function activations(layers, image, nodes) {
  const result = {};
  for (const layer of layers) {
    let values = layer.kind === 'input' ? image : nodes.get(layer.node).values;
    if (layer.relu) values = values.map((v) => (v > 0 ? v : 0)); // the converter moved this ReLU behind a pooling
    result[layer.name] = { shape: layer.shape, values };
  }
  return result;
}

/** The largest value of each channel, over its positions (HWC or flat). */
export function channelMaxima(values, shape) {
  const c = channels(shape);
  const maxima = new Float32Array(c).fill(-Infinity);
  for (let i = 0; i < values.length; i++) if (values[i] > maxima[i % c]) maxima[i % c] = values[i];
  return maxima;
}

/**
 * A layer's tiles as greyscale RGBA, white the layer's largest value (or `scale`), black 0 and below.
 * @param {Float32Array} values HWC (or flat)
 * @param {number[]} shape
 * @param {Uint32Array[]} out one RGBA buffer per channel (an ImageData's, as 32-bit pixels), h·w each, written in place
 * @param {number} scale the value shown white
 */
export function fillTiles(values, shape, out, scale) {
  const c = channels(shape);
  const k = scale > 0 ? 255 / scale : 0;
  const opaque = OPAQUE_BLACK[0];
  for (let i = 0, pixel = 0; i < values.length; pixel++) {
    for (let channel = 0; channel < c; channel++, i++) {
      const v = values[i] * k;
      const grey = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      out[channel][pixel] = opaque | (grey << 16) | (grey << 8) | grey; // the same bytes in either byte order
    }
  }
}

const OPAQUE_BLACK = new Uint32Array(new Uint8Array([0, 0, 0, 255]).buffer); // alpha 255 where this machine keeps it

/** A filter bank (kh, kw, 1, out) as one RGBA tile per filter: mid grey 0, white the largest |weight|, black its negative. */
export function filterTiles({ shape, values }) {
  const [kh, kw, inputs, count] = shape;
  const k = 127.5 / Math.max(...values.map(Math.abs), 1e-9);
  return Array.from({ length: count }, (_, f) => {
    const tile = new Uint8ClampedArray(kh * kw * 4);
    for (let p = 0; p < kh * kw; p++) {
      tile[p * 4] = tile[p * 4 + 1] = tile[p * 4 + 2] = 127.5 + values[p * inputs * count + f] * k;
      tile[p * 4 + 3] = 255;
    }
    return tile;
  });
}

const KIND_WORDS = { input: 'the input image', conv: 'a convolution block', pool: 'a max-pooling', dense: 'the dense layer',
  output: 'the outputs' };

/**
 * A sentence on what a layer computes for the drawing shown, for screen readers and anyone who prefers words.
 * @param {object} layer network.json's
 * @param {Float32Array} values its activations
 * @param {string[]} labels the class labels (the last output is "not a digit")
 */
export function describeLayer(layer, values, labels, maxima = channelMaxima(values, layer.shape)) {
  const shape = layer.shape.join('×');
  const head = `${layer.name}, ${KIND_WORDS[layer.kind]}: ${shape}${layer.weights ? `, ${layer.weights.toLocaleString('en')} weights` : ''}.`;
  if (layer.kind === 'input') {
    const inked = values.reduce((n, v) => n + (v > 0.1 ? 1 : 0), 0);
    return `${head} ${inked} of its ${values.length} pixels hold ink.`;
  }
  const order = [...maxima.keys()].sort((a, b) => maxima[b] - maxima[a]);
  if (layer.kind === 'output') {
    const name = (i) => (i < labels.length ? labels[i] : 'not a digit');
    return `${head} ${order.slice(0, 3).map((i) => `${name(i)} ${(maxima[i] * 100).toFixed(1)}%`).join(', ')}.`;
  }
  const silent = maxima.reduce((n, v) => n + (v <= 0 ? 1 : 0), 0);
  const unit = layer.shape.length === 3 ? 'channel' : 'unit';
  return `${head} Strongest: ${order.slice(0, 3).map((i) => `${unit} ${i + 1} (${maxima[i].toFixed(2)})`).join(', ')}; `
    + `${silent} of ${maxima.length} ${unit}s silent.`;
}

/**
 * The inked squares of `image` to erase one at a time, and the batch of images each erased.
 * @param {Float32Array} image size², 0–1
 * @param {number} size its side
 * @returns {{patches: Array<{x: number, y: number}>, images: Float32Array}} images: patches.length·size²
 */
export function occlusions(image, size, patch = PATCH, stride = STRIDE) {
  const patches = [];
  for (let y = 0; y + patch <= size; y += stride) {
    for (let x = 0; x + patch <= size; x += stride) {
      let ink = false;
      for (let dy = 0; dy < patch && !ink; dy++) for (let dx = 0; dx < patch; dx++) if (image[(y + dy) * size + x + dx] > 0) ink = true;
      if (ink) patches.push({ x, y });
    }
  }
  const images = new Float32Array(patches.length * size * size);
  patches.forEach(({ x, y }, i) => {
    const copy = images.subarray(i * size * size, (i + 1) * size * size);
    copy.set(image);
    for (let dy = 0; dy < patch; dy++) copy.fill(0, (y + dy) * size + x, (y + dy) * size + x + patch);
  });
  return { patches, images };
}

/**
 * Occlusion sensitivity (Zeiler & Fergus): erase each inked square in turn and measure how much evidence for the
 * class read is lost, in nats: max(0, ln p − ln p_erased) (log-probabilities keep apart squares whose erasing all
 * drive a probability near 0). Each square's loss is drawn on its centre (stride × stride pixels); a square
 * without ink changes nothing, so where no ink is within reach the map is 0.
 * @param {Float32Array} probabilities the drawing's, numClasses
 * @param {Float32Array} erased the batch's, patches.length·numClasses
 * @param {Array<{x: number, y: number}>} patches as `occlusions` gave them
 * @returns {{map: Float32Array, digit: number, most: {x, y, loss, p, reads} | null}} map size², nats; digit the class
 *   read; most: the square whose erasing lost most, the probability left and what the model reads without it
 */
export function saliency(probabilities, erased, patches, size, patch = PATCH, stride = STRIDE) {
  const classes = probabilities.length;
  const digit = argmax(probabilities);
  const map = new Float32Array(size * size);
  const offset = (patch - stride) / 2;
  let most = null;
  patches.forEach(({ x, y }, i) => {
    const row = erased.subarray(i * classes, (i + 1) * classes);
    const loss = Math.max(0, Math.log(probabilities[digit]) - Math.log(Math.max(row[digit], TINY)));
    if (!most || loss > most.loss) most = { x, y, loss, p: row[digit], reads: argmax(row) };
    for (let dy = 0; dy < stride; dy++) map.fill(loss, (y + offset + dy) * size + x + offset, (y + offset + dy) * size + x + offset + stride);
  });
  return { map, digit, most };
}

const TINY = 1e-7; // the least probability counted: float32 softmax outputs reach 0

/** Where a square lies in the image, in words: 'top left', 'centre', 'bottom' ... */
export function region(x, y, size, patch = PATCH) {
  const third = (v) => Math.min(2, Math.floor(((v + patch / 2) / size) * 3));
  const rows = ['top', 'middle', 'bottom'], columns = ['left', 'centre', 'right'];
  const [r, c] = [third(y), third(x)];
  if (r === 1 && c === 1) return 'centre';
  if (r === 1) return columns[c];
  if (c === 1) return rows[r];
  return `${rows[r]} ${columns[c]}`;
}

/** The one-line reading of a saliency map. */
export function saliencySentence({ digit, most }, probabilities, labels, size) {
  const name = (i) => (i < labels.length ? `a ${labels[i]}` : 'not a digit');
  if (!most) return `There is no ink to explain.`;
  const where = `the ink at the ${region(most.x, most.y, size)}`;
  if (most.reads !== digit) return `Without ${where} it reads ${name(most.reads)}: that part made it ${name(digit)}.`;
  return `No single part decides it: erasing ${where} lowers ${name(digit)} most, from ${(probabilities[digit] * 100).toFixed(0)}% `
    + `to ${(most.p * 100).toFixed(0)}%.`;
}

/** An MNIST-format image (uint8 size²) from network.html's URL fragment `#digit=BASE64`, or null. */
export function imageFromHash(hash, size) {
  const match = /^#digit=([A-Za-z0-9+/=_-]+)$/.exec(hash);
  if (!match) return null;
  try {
    const bytes = Uint8Array.from(atob(match[1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    return bytes.length === size * size ? bytes : null;
  } catch {
    return null;
  }
}

export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
