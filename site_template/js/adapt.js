/**
 * Learning a visitor's hand: a new last layer (the "head") for the shipped
 * model, trained on the visitor's labelled digits. Pure: no DOM, no
 * TensorFlow.js; js/model-worker.js runs it, on features the graph model
 * computes.
 *
 * The graph model gives, beside its probabilities, its features: the input of
 * its last layer, a dense softmax layer. The head learns on those features
 * and on a block of earlier ones: the last pooling layer's output, which
 * still says where strokes lie (a loop closed or open, a bar slanted), turned
 * into a few hundred numbers by a fixed random projection (blockFeatures; the
 * shipped layer's weights for them are 0). `pipeline export` writes that
 * layer's weights and the block's description (personal/adapt.json) and the
 * features of a few hundred MNIST training digits per class
 * (personal/adapt.bin). Adapting is a softmax regression on those features,
 * started from the shipped weights:
 *   - each of the visitor's digits counts in RECIPE.copies copies (itself
 *     and copies turned, scaled, squashed, slanted and shifted a little), so
 *     one example stands for the ways the visitor writes it;
 *   - the MNIST digits are replayed with the shipped head's own probabilities
 *     as targets (distillation, "learning without forgetting"), weighted
 *     RECIPE.replayWeight times a visitor's copy, so the new head keeps reading
 *     MNIST as the shipped one did while it learns the visitor's digits;
 *   - Adam, RECIPE.steps steps, each on all the visitor's copies and a part of the replayed digits
 *     (RECIPE.replayShare, every part in turn): the same examples give the same head.
 * How these settings were chosen, and what they measure: BENCHMARKS.md
 * (`make bench-personal`).
 */

import { seededRandom } from './random.js';

/**
 * The recipe: chosen on the tuning writers of bench/numerals.py by `python -m bench.search_personal`
 * (bench/results/personal_search*.json), reported on the held-out ones by `make bench-personal`.
 */
export const RECIPE = Object.freeze({
  copies: 8, // per visitor's digit: itself and copies − 1 variants
  replayWeight: 2, // a replayed MNIST digit's weight in the loss, a visitor's copy's being 1
  steps: 100, // Adam steps
  replayShare: 0.25, // of the replayed MNIST digits, the part each step replays (every part in turn)
  learningRate: 0.02,
  turn: 0.12, // a copy's rotation, radians: the standard deviation
  scale: [0.85, 1.1], // a copy's size, uniform in this range
  squash: 0, // a copy's width / height changes by a factor exp(±squash), uniform
  shear: 0.15, // a copy's slant (x += shear · y): the standard deviation
  shift: 1.5, // a copy's shift, pixels, uniform in ±shift on each axis
});
export const AUGMENTED_COPIES = RECIPE.copies;
const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/**
 * @typedef {object} Block an earlier node of the graph model, projected: adapt.json's `block` (the page's config
 *   carries the same, so a kept head is checked and read without fetching adapt.json)
 * @property {string} node its name in model.json
 * @property {boolean} relu whether its values go through a ReLU first (the converter may move a ReLU behind a pooling)
 * @property {number} inputs its values per image (height·width·channels)
 * @property {number} directions E, the random directions it is projected on
 * @property {number} seed the projection's (projection)
 * @property {number} factor the projected values' scale: the replay's mean feature length over its mean block length
 */

/**
 * @typedef {object} Base what `pipeline export` wrote for adapting (personal/adapt.json + adapt.bin)
 * @property {string} featuresVersion the features these weights and replayed features belong to
 * @property {number} features F, the length of a feature vector: the model's features, then the block's E
 * @property {number} classes C
 * @property {Float32Array} weights F·C, row-major (feature, class): the shipped last layer's kernel (its rows for
 *   the block 0)
 * @property {Float32Array} bias C
 * @property {Float32Array} replay N·F replayed MNIST features
 * @property {Uint8Array} replayLabels N
 * @property {Block|null} block
 */

/**
 * @typedef {object} Head a last layer: {featuresVersion, features, classes, weights: Float32Array F·C, bias: Float32Array C}
 */

/**
 * Why `head` (as kept in IndexedDB, so anything at all) cannot be used on this model, or '' when it can: an
 * object whose featuresVersion, features (F) and classes (C) are the model's, with weights a Float32Array of
 * F·C and bias one of C, every value finite. Sizes are compared before any value is read, so a huge array
 * is refused at once.
 * @param {*} head
 * @param {{featuresVersion: string, features: number, classes: number}} model what the build's model has
 * @returns {string} what is wrong, in a few words; '' for a usable head
 */
export function headFault(head, { featuresVersion, features: F, classes: C }) {
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return 'not an object';
  if (head.featuresVersion !== featuresVersion) return 'learnt on other features';
  if (head.features !== F) return `${describe(head.features)} features, the model has ${F}`;
  if (head.classes !== C) return `${describe(head.classes)} classes, the model has ${C}`;
  const { weights, bias } = head;
  if (!(weights instanceof Float32Array) || weights.length !== F * C) return `weights are not a Float32Array of ${F}×${C}`;
  if (!(bias instanceof Float32Array) || bias.length !== C) return `bias is not a Float32Array of ${C}`;
  if (!weights.every(Number.isFinite) || !bias.every(Number.isFinite)) return 'values that are not finite numbers';
  return '';
}

/** A kept value as a message names it: the number itself, else its type. */
function describe(value) {
  return typeof value === 'number' ? String(value) : typeof value;
}

/**
 * Read adapt.json (parsed) and adapt.bin into a Base; throws an Error saying what does not fit. adapt.bin holds
 * count·F uint8 features (× replay.scale), then, with a block, count·E int8 block values (× block.scale), then
 * count uint8 labels.
 * @param {object} json adapt.json
 * @param {ArrayBuffer} buffer adapt.bin
 * @returns {Base}
 */
export function readBase(json, buffer) {
  const { features: F, classes: C, replay } = json;
  const count = replay?.count;
  if (![F, C, count].every((n) => Number.isInteger(n) && n > 0) || !(replay.scale > 0)) {
    throw new Error('adapt.json: features, classes, replay.count or replay.scale missing or not positive');
  }
  if (!Number.isFinite(Math.fround(255 * replay.scale))) { // the largest replayed feature, as float32 holds it
    throw new Error(`adapt.json: replay.scale ${replay.scale} makes features too large for float32`);
  }
  if (!Array.isArray(json.weights) || json.weights.length !== F || json.weights.some((row) => row?.length !== C)
      || json.bias?.length !== C) {
    throw new Error(`adapt.json: weights are not ${F}×${C} with ${C} biases`);
  }
  const block = json.block === undefined ? null : blockOf(json.block);
  const E = block?.directions ?? 0;
  if (buffer.byteLength !== count * (F + E + 1)) {
    throw new Error(`adapt.bin: ${buffer.byteLength} bytes, expected ${count * (F + E + 1)}`);
  }
  const weights = new Float32Array((F + E) * C);
  weights.set(json.weights.flat()); // the block's rows stay 0: the shipped head, to begin with
  const bias = Float32Array.from(json.bias);
  if (![...weights, ...bias].every(Number.isFinite)) throw new Error('adapt.json: weights that are not finite numbers');
  const bytes = new Uint8Array(buffer);
  const signed = new Int8Array(buffer, count * F, count * E);
  const replayFeatures = new Float32Array(count * (F + E));
  for (let i = 0; i < count; i++) {
    for (let f = 0; f < F; f++) replayFeatures[i * (F + E) + f] = bytes[i * F + f] * replay.scale;
    for (let e = 0; e < E; e++) replayFeatures[i * (F + E) + F + e] = signed[i * E + e] * json.block.scale;
  }
  const replayLabels = bytes.slice(count * (F + E));
  if (replayLabels.some((label) => label >= C)) throw new Error(`adapt.bin: a label outside 0–${C - 1}`);
  return { featuresVersion: String(json.features_version), features: F + E, classes: C, weights, bias,
    replay: replayFeatures, replayLabels, block };
}

/** adapt.json's block as a Block (its `scale`, for adapt.bin's int8 values, checked too), or an Error. */
function blockOf(json) {
  const { node, relu, inputs, directions, seed, factor, scale } = json ?? {};
  if (typeof node !== 'string' || typeof relu !== 'boolean' || ![inputs, directions].every((n) => Number.isInteger(n) && n > 0)
      || !Number.isInteger(seed) || !(factor > 0 && scale > 0 && Number.isFinite(Math.fround(127 * scale)) && Number.isFinite(factor))) {
    throw new Error('adapt.json: block is not {node, relu, inputs, directions, seed, factor, scale} with positive sizes and scales');
  }
  return { node, relu, inputs, directions, seed, factor };
}

const projections = new Map();

/**
 * A fixed random projection: `inputs`·`directions` values, row-major, each a standard normal over √directions
 * (Box–Muller on seededRandom(seed)), so a vector keeps about its length. The same arguments, the same matrix:
 * the export projects the replayed digits with it, the worker the visitor's.
 * @param {number} inputs
 * @param {number} directions
 * @param {number} seed
 * @returns {Float32Array}
 */
export function projection(inputs, directions, seed) {
  const key = `${inputs}×${directions}:${seed}`;
  if (!projections.has(key)) {
    const random = seededRandom(seed);
    projections.set(key, Float32Array.from({ length: inputs * directions },
      () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) / Math.sqrt(directions)));
  }
  return projections.get(key);
}

/**
 * The block's part of the features: each image's node values (through a ReLU where block.relu) times the
 * projection, times block.factor.
 * @param {Float32Array} values count·block.inputs, the node's values
 * @param {number} count images
 * @param {Block} block
 * @returns {Float32Array} count·block.directions
 */
export function blockFeatures(values, count, { relu, inputs, directions, seed, factor }) {
  const matrix = projection(inputs, directions, seed);
  const out = new Float32Array(count * directions);
  const row = new Float64Array(directions);
  for (let i = 0; i < count; i++) {
    row.fill(0);
    for (let k = 0; k < inputs; k++) {
      const v = relu ? Math.max(values[i * inputs + k], 0) : values[i * inputs + k];
      if (v === 0) continue;
      for (let d = 0; d < directions; d++) row[d] += v * matrix[k * directions + d];
    }
    for (let d = 0; d < directions; d++) out[i * directions + d] = row[d] * factor;
  }
  return out;
}

/**
 * Each image's features followed by its block's: what a head learns from and reads.
 * @param {Float32Array} features count·F
 * @param {Float32Array} block count·E
 * @param {number} count
 * @returns {Float32Array} count·(F + E)
 */
export function joinFeatures(features, block, count) {
  const F = features.length / count, E = block.length / count;
  const out = new Float32Array(count * (F + E));
  for (let i = 0; i < count; i++) {
    out.set(features.subarray(i * F, (i + 1) * F), i * (F + E));
    out.set(block.subarray(i * E, (i + 1) * E), i * (F + E) + F);
  }
  return out;
}

/**
 * Softmax probabilities of a head on `count` feature vectors.
 * @param {Float32Array} features count·F
 * @param {number} count
 * @param {Head} head
 * @returns {Float32Array} count·C
 */
export function headProbabilities(features, count, head) {
  const { features: F, classes: C, weights, bias } = head;
  const out = new Float32Array(count * C);
  const logits = new Float64Array(C);
  for (let i = 0; i < count; i++) {
    logitsOf(features, i * F, F, C, weights, bias, logits);
    softmaxInto(logits, out, i * C);
  }
  return out;
}

function logitsOf(x, offset, F, C, weights, bias, logits) {
  for (let c = 0; c < C; c++) logits[c] = bias[c];
  for (let f = 0; f < F; f++) {
    const v = x[offset + f];
    if (v === 0) continue; // ReLU features: many are exactly 0
    const row = f * C;
    for (let c = 0; c < C; c++) logits[c] += v * weights[row + c];
  }
}

function softmaxInto(logits, out, offset) {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  let sum = 0;
  for (let c = 0; c < logits.length; c++) sum += (out[offset + c] = Math.exp(logits[c] - max));
  for (let c = 0; c < logits.length; c++) out[offset + c] /= sum;
}

/**
 * A head for the visitor: the shipped last layer, trained on their digits' features with the MNIST replay.
 * @param {Base} base
 * @param {Float32Array} exampleFeatures M·F, the features of the visitor's digits and their copies
 * @param {ArrayLike<number>} exampleLabels M class indices
 * @param {{steps?: number, learningRate?: number, replayWeight?: number, replayShare?: number}} [recipe] RECIPE's,
 *   unless given
 * @returns {Head}
 */
export function learnHead(base, exampleFeatures, exampleLabels,
  { steps = RECIPE.steps, learningRate = RECIPE.learningRate, replayWeight = RECIPE.replayWeight, replayShare = RECIPE.replayShare } = {}) {
  const { features: F, classes: C } = base;
  const n = base.replayLabels.length, m = exampleLabels.length;
  const x = new Float32Array((n + m) * F);
  x.set(base.replay);
  x.set(exampleFeatures, n * F);
  const targets = new Float64Array((n + m) * C);
  targets.set(headProbabilities(base.replay, n, base)); // what the shipped head says: kept
  for (let j = 0; j < m; j++) targets[(n + j) * C + exampleLabels[j]] = 1;
  // Step s replays part (s − 1) mod P of the MNIST digits, P = 1 / replayShare, each of its digits weighing P
  // times: the loss of the whole replay on average over P steps, for a P-th of the work per step.
  const parts = replayParts(n, Math.max(1, Math.round(1 / replayShare)));
  const total = replayWeight * n + m;
  const sampleWeight = new Float64Array(n + m).fill(replayWeight * parts.length, 0, n).fill(1, n);
  const examples = Array.from({ length: m }, (_, j) => n + j);
  const stepRows = parts.map((part) => Int32Array.from([...part, ...examples]));
  const weights = Float64Array.from(base.weights), bias = Float64Array.from(base.bias);
  const adamW = adamState(weights.length), adamB = adamState(bias.length);
  const gradW = new Float64Array(weights.length), gradB = new Float64Array(C);
  const logits = new Float64Array(C), p = new Float64Array(C);
  const { starts, rows, values } = sparseRows(x, n + m, F, C); // ReLU features: more than half are 0
  for (let step = 1; step <= steps; step++) {
    gradW.fill(0);
    gradB.fill(0);
    for (const i of stepRows[(step - 1) % stepRows.length]) {
      for (let c = 0; c < C; c++) logits[c] = bias[c];
      for (let k = starts[i]; k < starts[i + 1]; k++) {
        const v = values[k], row = rows[k];
        for (let c = 0; c < C; c++) logits[c] += v * weights[row + c];
      }
      softmaxInto(logits, p, 0);
      const scale = sampleWeight[i] / total;
      for (let c = 0; c < C; c++) p[c] = (p[c] - targets[i * C + c]) * scale; // d(loss)/d(logit)
      for (let c = 0; c < C; c++) gradB[c] += p[c];
      for (let k = starts[i]; k < starts[i + 1]; k++) {
        const v = values[k], row = rows[k];
        for (let c = 0; c < C; c++) gradW[row + c] += v * p[c];
      }
    }
    adamStep(weights, gradW, adamW, step, learningRate);
    adamStep(bias, gradB, adamB, step, learningRate);
  }
  return { featuresVersion: base.featuresVersion, features: F, classes: C,
    weights: Float32Array.from(weights), bias: Float32Array.from(bias) };
}

/**
 * The indices 0…count − 1 dealt into `parts` parts after a seeded shuffle (the same every time), each part in
 * increasing order; their sizes differ by at most 1.
 * @param {number} count
 * @param {number} parts
 * @returns {Int32Array[]}
 */
export function replayParts(count, parts) {
  const random = seededRandom(1);
  const shuffled = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return Array.from({ length: parts }, (_, p) => shuffled.filter((_, k) => k % parts === p).sort());
}

/** The non-zero entries of `count` rows of F values: row i's are values[starts[i]..starts[i+1]), at weight rows `rows` (f·C). */
function sparseRows(x, count, F, C) {
  const starts = new Int32Array(count + 1);
  let nonzero = 0;
  for (let k = 0; k < count * F; k++) if (x[k] !== 0) nonzero++;
  const rows = new Int32Array(nonzero), values = new Float64Array(nonzero);
  let k = 0;
  for (let i = 0; i < count; i++) {
    starts[i] = k;
    for (let f = 0; f < F; f++) {
      const v = x[i * F + f];
      if (v !== 0) {
        rows[k] = f * C;
        values[k++] = v;
      }
    }
  }
  starts[count] = k;
  return { starts, rows, values };
}

function adamState(size) {
  return { m: new Float64Array(size), v: new Float64Array(size) };
}

function adamStep(params, grad, { m, v }, step, rate) {
  const { beta1, beta2, epsilon } = ADAM;
  const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
  for (let k = 0; k < params.length; k++) {
    m[k] = beta1 * m[k] + (1 - beta1) * grad[k];
    v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k];
    params[k] -= (rate * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + epsilon);
  }
}

/**
 * The image and recipe.copies − 1 variants: turned, scaled, squashed, slanted and shifted about its
 * centre (RECIPE's ranges), bilinear. Deterministic for a given `seed`.
 * @param {Float32Array} image size², 0–1
 * @param {number} size side, pixels
 * @param {number} seed
 * @param {typeof RECIPE} [recipe]
 * @returns {Float32Array} recipe.copies·size²
 */
export function augment(image, size, seed, recipe = RECIPE) {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const { copies, turn, scale: [smallest, largest], squash, shear: slant, shift } = recipe;
  const out = new Float32Array(copies * size * size);
  out.set(image);
  const centre = (size - 1) / 2;
  for (let copy = 1; copy < copies; copy++) {
    const angle = turn * normal(), scale = smallest + (largest - smallest) * random(), shear = slant * normal();
    const stretch = Math.exp(squash * (2 * random() - 1));
    const dx = shift * (2 * random() - 1), dy = shift * (2 * random() - 1);
    // Output pixel (x, y) samples the source at M·(x − c, y − c) + c + shift,
    // M = rotation · shear · diag(1 / (scale·stretch), stretch / scale).
    const cos = Math.cos(angle) / scale, sin = Math.sin(angle) / scale;
    const [a, b, c, d] = [cos / stretch, (cos * shear - sin) * stretch, sin / stretch, (sin * shear + cos) * stretch];
    const offset = copy * size * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = x - centre, v = y - centre;
        out[offset + y * size + x] = bilinear(image, size, a * u + b * v + centre + dx, c * u + d * v + centre + dy);
      }
    }
  }
  return out;
}

function bilinear(image, size, x, y) {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const at = (xx, yy) => (xx >= 0 && yy >= 0 && xx < size && yy < size ? image[yy * size + xx] : 0);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}
