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
 * Messages in (from js/model.js):
 *   {type: 'init', vendorUrl, modelUrl, version, backends, pageHasWasm, imageSize}
 *       vendorUrl  absolute URL of dist/vendor/ (the tfjs bundles, the .wasm files)
 *       modelUrl   absolute URL of model.json
 *       version    the build's hash, appended as ?v= (tfjs appends it to the shards too)
 *       backends   names in order of preference, e.g. ['wasm', 'cpu']
 *       pageHasWasm  false: the page has no WebAssembly, so the worker does not use it either
 *   {type: 'predict', id, images: Float32Array(count·imageSize²) 0–1, count}
 * Messages out:
 *   {type: 'progress', stage}   a start-up step is done ('runtime', 'backend'): the page's timeout starts again
 *   {type: 'ready', backend, skipped: string[]}   or   {type: 'failed', stage, message}
 *   {type: 'result', id, probabilities: Float32Array(count·numClasses)}   or   {type: 'result', id, error}
 */
/* global tf */
const RUNTIME = 'tfjs-digits.js'; // in vendor/: core, converter, the wasm backend and this model's kernels
const CPU_CHUNK = 'tfjs-digits-cpu.js'; // in vendor/: the cpu backend, fetched only when cpu is tried
let model = null;
let cpuChunk = ''; // URL of CPU_CHUNK with the build's ?v=
let imageSize = 0;
let wasmAllowed = true; // the page has WebAssembly too
let webgl = null; // js/webgl.js, loaded by init

self.onmessage = async ({ data }) => {
  if (data.type === 'init') {
    await init(data);
  } else if (data.type === 'predict') {
    try {
      const probabilities = await predict(data.images, data.count);
      self.postMessage({ type: 'result', id: data.id, probabilities }, [probabilities.buffer]);
    } catch (err) {
      self.postMessage({ type: 'result', id: data.id, error: String(err.message || err) });
    }
  }
};

async function init({ vendorUrl, modelUrl, version, backends, pageHasWasm, imageSize: size }) {
  imageSize = size;
  wasmAllowed = pageHasWasm && typeof WebAssembly === 'object';
  const query = `?v=${encodeURIComponent(version)}`;
  cpuChunk = `${vendorUrl}${CPU_CHUNK}${query}`;
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
    // Compiles kernels and allocates memory; predict also refuses damaged weights here (NaN or infinite output).
    await predict(new Float32Array(imageSize * imageSize), 1);
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
  const probabilities = tf.tidy(() => model.predict(tf.tensor4d(images, [count, imageSize, imageSize, 1])));
  try {
    return checkedProbabilities(await probabilities.data(), count);
  } finally {
    probabilities.dispose();
  }
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
