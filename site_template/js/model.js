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
 * @param {object} options
 * @param {string[]} options.backends in order of preference, e.g. ['wasm', 'webgl', 'cpu']
 * @param {string} options.vendorPath folder of tf.min.js and the .wasm binaries, relative to the page
 * @param {string} options.modelUrl model.json, relative to the page
 * @param {string} options.version the build's hash, appended as ?v= to every URL the worker loads
 * @param {number} options.imageSize side of the model's square input, pixels
 * @returns {Promise<ModelClient>} rejects with a ModelError
 */
export function startModel({ backends, vendorPath, modelUrl, version, imageSize }) {
  const page = document.baseURI;
  const script = new URL('./model-worker.js', import.meta.url);
  script.search = `?v=${encodeURIComponent(version)}`;
  const worker = new Worker(script);
  const waiting = new Map(); // id -> {resolve, reject}: predictions asked for and not answered yet
  let nextId = 0;

  return new Promise((resolve, reject) => {
    worker.addEventListener('error', (event) => {
      event.preventDefault(); // reported through the promise, not as an uncaught error
      const error = new ModelError('runtime', `The model's script (js/model-worker.js) failed: ${event.message || 'it did not load'}.`);
      reject(error);
      for (const { reject: fail } of waiting.values()) fail(error);
      waiting.clear();
    });
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'ready') {
        resolve({ backend: data.backend, skipped: data.skipped, predict });
      } else if (data.type === 'failed') {
        reject(new ModelError(data.stage, data.message));
        worker.terminate();
      } else if (data.type === 'result') {
        const request = waiting.get(data.id);
        waiting.delete(data.id);
        if (data.error) request?.reject(new Error(data.error));
        else request?.resolve(data.probabilities);
      }
    });
    worker.postMessage({
      type: 'init',
      vendorUrl: new URL(vendorPath, page).href,
      modelUrl: new URL(modelUrl, page).href,
      version,
      backends,
      // WebAssembly switched off for the page (a policy, a hardened browser) counts as off for its worker too.
      pageHasWasm: typeof WebAssembly === 'object',
      imageSize,
    });
  });

  function predict(images, count) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'predict', id, images, count });
    });
  }
}
