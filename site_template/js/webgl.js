/**
 * Is WebGL worth using here? One check for both pages: the drawing page's
 * model worker (js/model-worker.js, with an OffscreenCanvas) and the lab's
 * training (js/train/backend.js, with a DOM canvas). No DOM of its own.
 *
 * WebGL only pays off on a real GPU: a software renderer runs the shaders on
 * the CPU, slower than WebAssembly, and keeps a CPU core busy.
 */

/** Renderer names of software WebGL: SwiftShader, Mesa's llvmpipe/softpipe, Windows' Basic Render Driver. */
export const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/**
 * What the browser's WebGL runs on.
 * @param {function(): (HTMLCanvasElement|OffscreenCanvas)} newCanvas makes a fresh canvas
 *   each call (a canvas keeps the first context it gives out)
 * @returns {{webgl: boolean, software: boolean, renderer: string}} webgl: a
 *   context could be made at all; software: it is a CPU renderer
 */
export function describeWebgl(newCanvas) {
  const context = (options) => {
    try {
      const canvas = newCanvas();
      return canvas.getContext('webgl2', options) || canvas.getContext('webgl', options);
    } catch {
      return null; // e.g. no OffscreenCanvas in this worker
    }
  };
  const gl = context({});
  if (!gl) return { webgl: false, software: true, renderer: '' };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || '');
  // A browser that can only offer a software renderer refuses this option.
  const fast = context({ failIfMajorPerformanceCaveat: true });
  for (const each of [gl, fast]) each?.getExtension('WEBGL_lose_context')?.loseContext();
  return { webgl: true, software: !fast || SOFTWARE_RENDERER.test(renderer), renderer };
}

/**
 * Why the webgl backend should be passed over, or null on a real GPU.
 * @param {{webgl: boolean, software: boolean, renderer: string}} gpu from `describeWebgl`
 * @returns {string|null}
 */
export function webglUnfit(gpu) {
  if (!gpu.webgl) return 'no WebGL';
  return gpu.software ? `software renderer (${gpu.renderer || 'unnamed'})` : null;
}
