/**
 * The model: pick a TensorFlow.js backend, load the graph model, warm it up,
 * predict. No DOM.
 *
 * This is the only module that touches the global `tf`: vendor/tf.min.js and
 * vendor/tf-backend-wasm.min.js are classic UMD scripts (loaded with `defer`
 * before the modules run) that define it and register the 'wasm' backend on it.
 */
const tf = globalThis.tf;

/** Why a backend cannot be used here, or null if it may be tried. */
function unavailable(name) {
  if (name === 'wasm' && typeof WebAssembly !== 'object') return 'this browser has no WebAssembly';
  if (name === 'wasm' && !tf.wasm) return 'the WebAssembly runtime (vendor/tf-backend-wasm.min.js) did not load';
  if (!tf.findBackendFactory(name)) return 'not registered';
  return null;
}

/**
 * Switch tfjs to the first backend in `backends` that initialises.
 * Nothing may touch tf before this: the first op would start tfjs's own
 * favourite backend (webgl).
 *
 * @param {string[]} backends in order of preference, e.g. ['wasm', 'webgl', 'cpu']
 * @param {string} vendorPath folder of the .wasm binaries, relative to the
 *   page (e.g. 'vendor/'); tfjs picks the SIMD build, and no threads, since
 *   GitHub Pages cannot send the cross-origin isolation headers they need
 * @returns {Promise<string>} the backend in use
 * @throws {Error} when none works
 */
export async function chooseBackend(backends, vendorPath) {
  if (!tf) throw new Error('The TensorFlow.js runtime (vendor/tf.min.js) did not load.');
  const skipped = [];
  for (const name of backends) {
    const reason = unavailable(name);
    if (reason) {
      skipped.push(`${name}: ${reason}`);
      continue;
    }
    if (name === 'wasm') tf.wasm.setWasmPaths(vendorPath);
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
 * Load the graph model and run it once, so the first drawing is answered at
 * full speed (the first run compiles kernels and allocates memory).
 *
 * @param {string} url model.json, relative to the page
 * @param {string} version appended as ?v= to model.json; tfjs appends the
 *   same query to the weight shards, so a new build never mixes with cached
 *   files of an old one
 * @param {number} imageSize side of the model's square input, pixels
 * @returns {Promise<tf.GraphModel>}
 */
export async function loadModel(url, version, imageSize) {
  const model = await tf.loadGraphModel(`${url}?v=${encodeURIComponent(version)}`);
  await predict(model, new Float32Array(imageSize * imageSize), 1, imageSize);
  return model;
}

/**
 * Class probabilities of a batch of images.
 *
 * @param {tf.GraphModel} model from `loadModel`
 * @param {Float32Array} images count·imageSize², row-major, 0–1, white ink on black
 * @param {number} count images in the batch
 * @param {number} imageSize side of each image, pixels
 * @returns {Promise<Float32Array>} count·numClasses softmax probabilities, row-major
 */
export async function predict(model, images, count, imageSize) {
  const probabilities = tf.tidy(() => model.predict(tf.tensor4d(images, [count, imageSize, imageSize, 1])));
  try {
    return await probabilities.data();
  } finally {
    probabilities.dispose();
  }
}
