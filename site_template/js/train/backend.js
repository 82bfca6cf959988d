/**
 * The TensorFlow.js backend for training, chosen on purpose. No DOM beyond a
 * throw-away WebGL canvas used to ask what the GPU is (js/webgl.js, the same
 * check as the drawing page's model worker).
 *
 * WebGL on a software renderer is slower than WebAssembly, and the plain-JS
 * cpu backend is slower still (docs/lab.md "Train in the browser", BENCHMARKS.md). So:
 *   - a real GPU (WebGL that is not a software renderer)  -> webgl
 *   - otherwise                                           -> wasm, then cpu
 * and `?backend=NAME` in the page's URL overrides the choice (for tests and
 * benchmarks).
 *
 * tfjs-backend-wasm 4.22 cannot train a convolution: it has no
 * Conv2DBackpropFilter kernel (the gradient of the loss with respect to a
 * convolution's filter). `registerWasmConvGradients` adds one, computed with
 * kernels wasm does have (see `conv2dFilterGradient`).
 */
import { describeWebgl as describe, webglUnfit } from '../webgl.js';

/**
 * What the page's WebGL runs on (js/webgl.js describeWebgl, on a DOM canvas).
 * @returns {{webgl: boolean, software: boolean, renderer: string}}
 */
export function describeWebgl() {
  return describe(() => document.createElement('canvas'));
}

/**
 * Backends to try, best first.
 * @param {string|null} requested from `?backend=`, or null
 * @param {{webgl: boolean, software: boolean}} gpu from `describeWebgl`
 * @returns {string[]}
 */
export function backendOrder(requested, gpu) {
  if (requested) return [requested];
  return webglUnfit(gpu) ? ['wasm', 'cpu'] : ['webgl', 'wasm', 'cpu'];
}

/**
 * Switch `tf` to the first of `backends` that starts; wasm gets its
 * convolution gradients first.
 * @param {object} tf the TensorFlow.js namespace
 * @param {string[]} backends from `backendOrder`
 * @param {string} vendorPath folder of the .wasm binaries, relative to the page
 * @returns {Promise<string>} the backend in use
 * @throws {Error} when none starts
 */
export async function startBackend(tf, backends, vendorPath) {
  const skipped = [];
  for (const name of backends) {
    if (!tf.findBackendFactory(name)) {
      skipped.push(`${name}: not available`);
      continue;
    }
    if (name === 'wasm') {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // no threaded binary is shipped: threads need cross-origin isolation
      tf.wasm.setWasmPaths(vendorPath);
      registerWasmConvGradients(tf);
    }
    try {
      if (await tf.setBackend(name)) return tf.getBackend();
      skipped.push(`${name}: failed to start`);
    } catch (err) {
      skipped.push(`${name}: ${err.message || err}`);
    }
  }
  throw new Error(`No TensorFlow.js backend can train here (${skipped.join('; ')}).`);
}

/**
 * Register Conv2DBackpropFilter for the wasm backend (once; no-op if present).
 * @param {object} tf the TensorFlow.js namespace
 */
export function registerWasmConvGradients(tf) {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: ({ inputs, attrs }) => conv2dFilterGradient(tf, inputs, attrs) });
}

/**
 * The gradient of a convolution's loss with respect to its filter, from ops
 * the wasm backend has. For x: [N, H, W, C] (padded as the forward pass did),
 * dy: [N, OH, OW, F], stride (sH, sW) and a KH×KW filter:
 *
 *   dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·sH + kh, ow·sW + kw, c] · dy[n, oh, ow, f]
 *
 * which is itself a convolution: batch c, channels n, the image x[n, ·, ·, c],
 * the "filter" dy[·, ·, n, f] spread out by the stride (dilation sH, sW), one
 * output per filter tap. So: transpose, one dilated stride-1 convolution
 * (wasm runs it with XNNPACK), transpose back. (Strided slices for an im2col
 * matrix would be the textbook route, but wasm has no fast strided slice.)
 * NHWC and dilation 1 in the forward pass only (what the model uses).
 *
 * @param {object} tf the TensorFlow.js namespace
 * @param {{x: tf.Tensor4D, dy: tf.Tensor4D}} inputs the forward input and the gradient of its output
 * @param {{strides, pad, dataFormat, dimRoundingMode, filterShape}} attrs as tfjs passes them
 * @returns {tf.Tensor4D} dW: [KH, KW, C, F]
 */
export function conv2dFilterGradient(tf, { x, dy }, { strides, pad, dataFormat, dimRoundingMode, filterShape }) {
  if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC, not ${dataFormat}`);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo: p } = info;
  // x and dy are tf.Tensors here (Conv2D's gradient passes tensors); tidy leaves them alone.
  return tf.tidy(() => {
    const padded = p.top || p.bottom || p.left || p.right ? tf.pad(x, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]]) : x;
    const images = tf.transpose(padded, [3, 1, 2, 0]); // [C, Hp, Wp, N]
    const kernel = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, F]
    let taps = tf.conv2d(images, kernel, 1, 'valid', 'NHWC', [sh, sw]); // [C, ≥KH, ≥KW, F]
    if (taps.shape[1] !== kh || taps.shape[2] !== kw) taps = tf.slice(taps, [0, 0, 0, 0], [-1, kh, kw, -1]); // rows/columns the forward pass never reached
    return tf.transpose(taps, [1, 2, 0, 3]); // [KH, KW, C, F]
  });
}
