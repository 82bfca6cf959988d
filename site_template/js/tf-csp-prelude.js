/**
 * Load before vendor/tf.min.js wherever the page itself runs TensorFlow.js
 * (a classic script; the head partial, _head.html, puts it in front of
 * tf.min.js on every page that loads it).
 *
 * tf.min.js 4.22 bundles regenerator-runtime, which assigns the global
 * `regeneratorRuntime`; in strict mode, when that global does not exist yet,
 * it falls back to Function("r", "regeneratorRuntime = r"). The site's CSP
 * refuses that eval, the bundle throws and `tf` is never defined. With the
 * global declared first, no eval happens and tfjs (wasm, webgl, cpu) runs
 * under the CSP unchanged.
 */
if (!('regeneratorRuntime' in globalThis)) globalThis.regeneratorRuntime = undefined;
