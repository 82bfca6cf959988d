/**
 * The model, seen from the page: starts js/model-worker.js (where TensorFlow.js
 * runs, off the main thread), and turns its messages into promises. No DOM.
 */

/**
 * @typedef {object} ModelClient
 * @property {string} backend the tfjs backend in use: 'wasm', 'webgl' or 'cpu'
 * @property {string[]} skipped backends passed over, each "name: why"
 * @property {function(Float32Array, number): Promise<Float32Array>} predict
 *   (images, count): images is count·imageSize², row-major, 0–1, white ink on
 *   black; resolves to count·numClasses softmax probabilities, row-major
 * @property {function(Float32Array, number, string[]): Promise<Array<{shape: number[], values: Float32Array}>>} layers
 *   (images, count, nodes): the values of the graph model's nodes named (network.json's), in that order
 * @property {function(Float32Array, number[]): Promise<object>} adapt
 *   (images, labels): learn a personal head from the visitor's digits (class
 *   indices) and read with it from now on; resolves to the head (js/adapt.js)
 * @property {function(object|null): Promise<void>} useHead
 *   read with a head learnt before, or with the shipped model (null); rejects
 *   if the head was learnt on other features
 */

/** Why loading failed, by stage: 'runtime' (scripts), 'backend' (no backend works), 'model' (model.json or weights). */
export class ModelError extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
}

/**
 * Start the model worker: it picks a backend, loads the graph model and warms it up.
 *
 * The worker is given up for good (terminated; the promise and every prediction
 * waiting or asked for later reject with a ModelError) when its script fails
 * (`error`), a message from it cannot be read (`messageerror`), or it stays
 * silent for `timeoutMs` while the page waits on it: during start-up (each
 * step it reports starts the time again) and while predictions are waiting
 * (each answer starts it again).
 *
 * @param {object} options
 * @param {string[]} options.backends in order of preference, e.g. ['wasm', 'webgl', 'cpu']
 * @param {string} options.vendorPath folder of tf.min.js and the .wasm binaries, relative to the page
 * @param {string} options.modelUrl model.json, relative to the page
 * @param {string[]} options.modelOutputs the graph model's [probabilities, features] outputs
 * @param {string} options.adaptUrl personal/adapt.json, relative to the page; options.adaptDataUrl adapt.bin
 * @param {string} options.featuresVersion the build's features (a personal head is only used on them)
 * @param {object|null} options.featuresBlock what a personal head reads beside the features (js/adapt.js's Block)
 * @param {string} options.version the build's hash, appended as ?v= to every URL the worker loads
 * @param {number} options.imageSize side of the model's square input, pixels
 * @param {number} options.modelTimeoutMs the longest silence of a worker the page waits on, ms
 * @returns {Promise<ModelClient>} rejects with a ModelError
 */
export function startModel({ backends, vendorPath, modelUrl, modelOutputs, adaptUrl, adaptDataUrl, featuresVersion, featuresBlock,
  version, imageSize, modelTimeoutMs }) {
  const page = document.baseURI;
  const script = new URL('./model-worker.js', import.meta.url);
  script.search = `?v=${encodeURIComponent(version)}`;
  const worker = new Worker(script);
  const waiting = new Map(); // id -> {resolve, reject}: predictions asked for and not answered yet
  let nextId = 0;
  let starting = true; // no 'ready' or 'failed' yet
  let broken = null; // the ModelError that ended the worker
  let timer = 0;
  let rejectStart;

  /** Start the silence timer again while the page waits on the worker; stop it when it does not. */
  const watch = () => {
    clearTimeout(timer);
    if (starting || waiting.size) {
      timer = setTimeout(() => fail(new ModelError('runtime', `The model did not answer within ${modelTimeoutMs / 1000} s.`)), modelTimeoutMs);
    }
  };
  const fail = (error) => {
    if (broken) return;
    broken = error;
    clearTimeout(timer);
    worker.terminate();
    rejectStart(error);
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };

  return new Promise((resolve, reject) => {
    rejectStart = reject;
    worker.addEventListener('error', (event) => {
      event.preventDefault(); // reported through the promises, not as an uncaught error
      fail(new ModelError('runtime', `The model's script (js/model-worker.js) failed: ${event.message || 'it did not load'}.`));
    });
    worker.addEventListener('messageerror', () => fail(new ModelError('runtime', 'A message from the model could not be read.')));
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'ready') {
        starting = false;
        resolve({
          backend: data.backend,
          skipped: data.skipped,
          predict: (images, count) => ask({ type: 'predict', images, count }).then((answer) => answer.probabilities),
          layers: (images, count, nodes) => ask({ type: 'layers', images, count, nodes }).then((answer) => answer.layers),
          adapt: (images, labels) => ask({ type: 'adapt', images, labels }).then((answer) => answer.head),
          useHead: (head) => ask({ type: 'use-head', head }).then(() => undefined),
        });
      } else if (data.type === 'failed') {
        fail(new ModelError(data.stage, data.message));
      } else if (data.type === 'result') {
        const request = waiting.get(data.id);
        waiting.delete(data.id);
        if (data.error) request?.reject(new Error(data.error));
        else request?.resolve(data);
      }
      if (!broken) watch();
    });
    worker.postMessage({
      type: 'init',
      vendorUrl: new URL(vendorPath, page).href,
      modelUrl: new URL(modelUrl, page).href,
      modelOutputs,
      adaptUrl: new URL(adaptUrl, page).href,
      adaptDataUrl: new URL(adaptDataUrl, page).href,
      featuresVersion,
      featuresBlock,
      version,
      backends,
      // WebAssembly switched off for the page (a policy, a hardened browser) counts as off for its worker too.
      pageHasWasm: typeof WebAssembly === 'object',
      imageSize,
    });
    watch();
  });

  /** Send the worker a request; resolves to its 'result' message. */
  function ask(message) {
    return new Promise((resolve, reject) => {
      if (broken) {
        reject(broken);
        return;
      }
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
      if (waiting.size === 1) watch();
    });
  }
}
