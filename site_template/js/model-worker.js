/**
 * The model's own thread (a classic dedicated Worker, started by js/model.js):
 * picks a TensorFlow.js backend, loads the graph model, warms it up and
 * predicts. Loading and compiling tfjs here keeps the page's main thread free
 * to draw. TensorFlow.js is the build's size-optimized bundle for this model
 * (pipeline/build/bundle.py): vendor/tfjs-digits.js (core, converter, wasm)
 * and, only where WebAssembly is missing, vendor/tfjs-digits-cpu.js. A classic
 * worker, because both are classic scripts (importScripts); the WebGL check,
 * an ES module shared with the lab (js/webgl.js), comes in with a dynamic
 * import() only when 'webgl' is among the backends.
 *
 * The graph model has two outputs (modelOutputs): its probabilities and its
 * features. Until the visitor has taught the page their hand, the probabilities
 * are the shipped model's, untouched. With a personal head (js/adapt.js), the
 * probabilities are that head's softmax on the features and, where the build
 * has one, the block's (an earlier node of the graph, projected by js/adapt.js).
 *
 * Messages in (from js/model.js):
 *   {type: 'init', vendorUrl, modelUrl, modelOutputs, adaptUrl, adaptDataUrl, featuresVersion, featuresBlock, version, backends,
 *    pageHasWasm, imageSize}
 *       vendorUrl  absolute URL of dist/vendor/ (the tfjs bundles, the .wasm files)
 *       modelUrl   absolute URL of model.json; modelOutputs its [probabilities, features] outputs
 *       adaptUrl, adaptDataUrl  absolute URLs of personal/adapt.json and adapt.bin, fetched at the first 'adapt'
 *       featuresVersion  the build's features: 'use-head' refuses a head learnt on others
 *       featuresBlock  adapt.json's block (js/adapt.js's Block), or null: what a head reads beside the features
 *       version    the build's hash, appended as ?v= (tfjs appends it to the shards too)
 *       backends   names in order of preference, e.g. ['wasm', 'cpu']
 *       pageHasWasm  false: the page has no WebAssembly, so the worker does not use it either
 *   {type: 'predict', id, images: Float32Array(count·imageSize²) 0–1, count}
 *   {type: 'adapt', id, images: Float32Array(count·imageSize²), labels: class indices}  learn a head from
 *       the visitor's digits; it is used from then on
 *   {type: 'layers', id, images, count, nodes}  the values of graph nodes by name (network.html: network.json's)
 *   {type: 'use-head', id, head}  use a head learnt before (kept by the page), or the shipped model (head null);
 *       any other head is refused (an error) unless js/adapt.js's headFault finds it whole and fitting this model
 * Messages out:
 *   {type: 'progress', stage}   a start-up step is done ('runtime', 'backend'): the page's timeout starts again
 *   {type: 'ready', backend, skipped: string[]}   or   {type: 'failed', stage, message}
 *   {type: 'result', id, probabilities: Float32Array(count·numClasses)}   or   {type: 'result', id, error}
 *   {type: 'result', id, layers: [{shape, values: Float32Array}]}  one per node asked for
 *   {type: 'result', id, head}  (adapt: the head learnt; use-head: the head now in use)   or   {type: 'result', id, error}
 */
/* global tf */
const RUNTIME = 'tfjs-digits.js'; // in vendor/: core, converter, the wasm backend and this model's kernels
const CPU_CHUNK = 'tfjs-digits-cpu.js'; // in vendor/: the cpu backend, fetched only when cpu is tried
let model = null;
let outputs = []; // [probabilities, features]: the graph model's output names
let query = ''; // ?v= and the build's hash, for every URL the worker loads
let adaptUrls = []; // personal/adapt.json and adapt.bin, with the query
let featuresVersion = ''; // the build's: a head learnt on other features is refused
let block = null; // js/adapt.js's Block: the node a head reads beside the features, or null
let widths = null; // {features, classes}: the widths of the graph model's two outputs, measured at warm-up
let base = null; // js/adapt.js's Base, fetched at the first adaptation
let head = null; // the visitor's head, or null: the shipped model
let adapt = null; // js/adapt.js, imported at the first adaptation or personal head
let cpuChunk = ''; // URL of CPU_CHUNK with the build's ?v=
let imageSize = 0;
let wasmAllowed = true; // the page has WebAssembly too
let webgl = null; // js/webgl.js, loaded by init

const HANDLERS = {
  predict: async ({ images, count }) => {
    const probabilities = await predict(images, count);
    return [{ probabilities }, [probabilities.buffer]];
  },
  adapt: async ({ images, labels }) => [{ head: await learn(images, labels) }, []],
  layers: async ({ images, count, nodes }) => [{ layers: await nodeValues(images, count, nodes) }, []],
  'use-head': async ({ head: chosen }) => {
    if (chosen !== null) await checkHead(chosen);
    head = chosen;
    return [{ head }, []];
  },
};

self.onmessage = async ({ data }) => {
  if (data.type === 'init') {
    await init(data);
    return;
  }
  try {
    const [answer, transfer] = await HANDLERS[data.type](data);
    self.postMessage({ type: 'result', id: data.id, ...answer }, transfer);
  } catch (err) {
    self.postMessage({ type: 'result', id: data.id, error: String(err.message || err) });
  }
};

async function init({ vendorUrl, modelUrl, modelOutputs, adaptUrl, adaptDataUrl, featuresVersion: features, featuresBlock,
  version, backends, pageHasWasm, imageSize: size }) {
  imageSize = size;
  outputs = modelOutputs;
  featuresVersion = features;
  block = featuresBlock ?? null;
  wasmAllowed = pageHasWasm && typeof WebAssembly === 'object';
  query = `?v=${encodeURIComponent(version)}`;
  cpuChunk = `${vendorUrl}${CPU_CHUNK}${query}`;
  adaptUrls = [adaptUrl, adaptDataUrl].map((url) => `${url}${query}`);
  try {
    importScripts(`${vendorUrl}${RUNTIME}${query}`);
  } catch (err) {
    self.postMessage({ type: 'failed', stage: 'runtime', message: `The TensorFlow.js runtime (vendor/${RUNTIME}) did not load.` });
    return;
  }
  try {
    // Page import maps do not reach workers: the build's hash goes on by hand.
    if (backends.includes('webgl')) webgl = await import(`./webgl.js${query}`);
  } catch (err) {
    self.postMessage({ type: 'failed', stage: 'runtime', message: `The WebGL check (js/webgl.js) did not load: ${err.message || err}.` });
    return;
  }
  self.postMessage({ type: 'progress', stage: 'runtime' });
  let backend;
  const skipped = [];
  try {
    backend = await chooseBackend(backends, vendorUrl, skipped);
  } catch (err) {
    self.postMessage({ type: 'failed', stage: 'backend', message: err.message });
    return;
  }
  self.postMessage({ type: 'progress', stage: 'backend' });
  try {
    model = await tf.loadGraphModel(`${modelUrl}${query}`);
    widths = await warmUp();
  } catch (err) {
    model = null;
    self.postMessage({ type: 'failed', stage: 'model', message: String(err.message || err) });
    return;
  }
  self.postMessage({ type: 'ready', backend, skipped });
}

/**
 * Why a backend cannot be used here, or null if it may be tried; cpu's chunk
 * is fetched here, the first time cpu is tried. A list of
 * one backend is a deliberate choice (benchmarks force each in turn), so a
 * software WebGL renderer is then used rather than skipped.
 */
function unavailable(name, forced) {
  if (name === 'wasm' && !wasmAllowed) return 'this browser has no WebAssembly';
  if (name === 'wasm' && !tf.wasm) return `the WebAssembly backend is not in vendor/${RUNTIME}`;
  if (name === 'cpu' && !tf.findBackendFactory('cpu')) importCpuChunk();
  if (name === 'webgl' && !forced) return webgl.webglUnfit(webgl.describeWebgl(() => new OffscreenCanvas(1, 1)));
  if (!tf.findBackendFactory(name)) return 'not registered';
  return null;
}

/** The cpu backend (vendor/tfjs-digits-cpu.js) into the running tfjs; a failure shows as "not registered". */
function importCpuChunk() {
  try {
    importScripts(cpuChunk);
  } catch {
    /* reported by unavailable() */
  }
}

/**
 * Switch tfjs to the first backend in `backends` that initialises. Nothing may
 * touch tf before this: the first op would start tfjs's own favourite (webgl).
 * The wasm build is the SIMD one without threads: GitHub Pages cannot send the
 * cross-origin isolation headers that threads need.
 * @returns {Promise<string>} the backend in use
 */
async function chooseBackend(backends, vendorUrl, skipped) {
  for (const name of backends) {
    const reason = unavailable(name, backends.length === 1);
    if (reason) {
      skipped.push(`${name}: ${reason}`);
      continue;
    }
    if (name === 'wasm') {
      // Threads need cross-origin isolation, which GitHub Pages cannot give; say so up front,
      // so tfjs never asks for the threaded binary (the build does not ship it).
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      tf.wasm.setWasmPaths(vendorUrl);
    }
    try {
      if (await tf.setBackend(name)) return tf.getBackend();
      skipped.push(`${name}: failed to start`);
    } catch (err) {
      skipped.push(`${name}: ${err.message || err}`);
    }
  }
  throw new Error(`No TensorFlow.js backend works in this browser (${skipped.join('; ')}).`);
}

/**
 * Class probabilities of a batch of images.
 * @param {Float32Array} images count·imageSize², row-major, 0–1, white ink on black
 * @param {number} count images in the batch
 * @returns {Promise<Float32Array>} count·numClasses softmax probabilities, row-major
 */
async function predict(images, count) {
  if (!model) throw new Error('the model is not loaded');
  if (head) return checkedProbabilities(adapt.headProbabilities(await features(images, count), count, head), count);
  const probabilities = tf.tidy(() => model.execute(tf.tensor4d(images, [count, imageSize, imageSize, 1]), outputs[0]));
  try {
    return checkedProbabilities(await probabilities.data(), count);
  } finally {
    probabilities.dispose();
  }
}

/**
 * Run the model once, both outputs, on a blank image: compiles kernels and allocates memory, refuses
 * damaged weights (outputs that are not probabilities) and measures what a personal head must fit.
 * @returns {Promise<{features: number, classes: number}>} F and the number of classes
 */
async function warmUp() {
  const blank = new Float32Array(imageSize * imageSize);
  const [probabilities, featureTensor] = tf.tidy(() => model.execute(tf.tensor4d(blank, [1, imageSize, imageSize, 1]), outputs));
  try {
    checkedProbabilities(await probabilities.data(), 1);
    return { features: featureTensor.shape[1], classes: probabilities.shape[1] };
  } finally {
    probabilities.dispose();
    featureTensor.dispose();
  }
}

/** What a head reads of a batch of images: the graph model's features, then the block's (count·(F + E)). */
async function features(images, count) {
  const nodes = block ? [outputs[1], block.node] : [outputs[1]];
  const tensors = [tf.tidy(() => model.execute(tf.tensor4d(images, [count, imageSize, imageSize, 1]), nodes))].flat();
  try {
    const [main, node] = await Promise.all(tensors.map((tensor) => tensor.data()));
    return block ? adapt.joinFeatures(main, adapt.blockFeatures(node, count, block), count) : main;
  } finally {
    tensors.forEach((tensor) => tensor.dispose());
  }
}

/** The shipped graph model's values of `nodes` (names in model.json) on a batch: [{shape, values}] in their order. */
async function nodeValues(images, count, nodes) {
  if (!model) throw new Error('the model is not loaded');
  const tensors = [tf.tidy(() => model.execute(tf.tensor4d(images, [count, imageSize, imageSize, 1]), nodes))].flat();
  try {
    return await Promise.all(tensors.map(async (tensor) => ({ shape: tensor.shape, values: await tensor.data() })));
  } finally {
    tensors.forEach((tensor) => tensor.dispose());
  }
}

/** js/adapt.js, imported the first time a head is learnt or used. */
async function importAdapt() {
  adapt ??= await import(`./adapt.js${query}`);
  return adapt;
}

/** js/adapt.js and the build's adapt files, the first time they are needed. */
async function loadAdapt() {
  await importAdapt();
  if (!base) {
    const [json, bin] = await Promise.all(adaptUrls.map(async (url) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${new URL(url).pathname}: HTTP ${response.status}`);
      return url.includes('.json') ? response.json() : response.arrayBuffer();
    }));
    const read = adapt.readBase(json, bin);
    // The version covers the block too: adapt.json's block is then the one the page's config gave.
    if (read.featuresVersion !== featuresVersion) throw new Error('personal/adapt.json belongs to another build of the site');
    base = read;
  }
  return base;
}

/** Learn a head from the visitor's digits (images: count·imageSize², labels: class indices) and use it. */
async function learn(images, labels) {
  await loadAdapt();
  const size = imageSize * imageSize;
  const copies = adapt.AUGMENTED_COPIES;
  const batch = new Float32Array(labels.length * copies * size);
  labels.forEach((_, i) => batch.set(adapt.augment(images.subarray(i * size, (i + 1) * size), imageSize, i + 1), i * copies * size));
  const exampleFeatures = await features(batch, labels.length * copies);
  const learnt = adapt.learnHead(base, exampleFeatures, labels.flatMap((label) => Array(copies).fill(label)));
  head = learnt;
  return learnt;
}

/** Throws unless `chosen` is a whole head for this model (js/adapt.js's headFault, which the import brings). */
async function checkHead(chosen) {
  await importAdapt();
  const fault = adapt.headFault(chosen, { featuresVersion, ...widths, features: widths.features + (block?.directions ?? 0) });
  if (fault) throw new Error(`this personal model cannot be used: ${fault}`);
}

const SUM_TOLERANCE = 1e-3; // how far a row of softmax outputs may sum from 1 (float32 rounding, uint8 weights)

/**
 * `values` if each of its `count` rows is a probability distribution (finite, 0–1, summing to 1);
 * throws otherwise. Weights with the right length but wrong bytes load without an error and show up here.
 * @param {Float32Array} values count·numClasses, row-major
 * @param {number} count rows
 * @returns {Float32Array} values
 */
function checkedProbabilities(values, count) {
  const width = values.length / count;
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (const p of values.subarray(row * width, (row + 1) * width)) {
      if (!(p >= 0 && p <= 1)) throw new Error("the model's outputs are not probabilities: its weights are damaged");
      sum += p;
    }
    if (!(Math.abs(sum - 1) <= SUM_TOLERANCE)) throw new Error(`the model's outputs sum to ${sum.toFixed(4)}, not 1: its weights are damaged`);
  }
  return values;
}
