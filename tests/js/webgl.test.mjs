// The WebGL check both pages share (site_template/js/webgl.js): `node --test tests/js/`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { SOFTWARE_RENDERER, describeWebgl, webglUnfit } from '../../site_template/js/webgl.js';

const RENDERER = 0x1f01; // gl.RENDERER
const UNMASKED_RENDERER_WEBGL = 0x9246;

/**
 * A canvas factory whose contexts report `renderer`; `refusesCaveat`: a context
 * asked for with failIfMajorPerformanceCaveat is refused (a software-only browser).
 */
function fakeCanvases(renderer, { refusesCaveat = false, noWebgl = false } = {}) {
  const lost = [];
  const newCanvas = () => ({
    getContext(kind, options = {}) {
      if (noWebgl || (refusesCaveat && options.failIfMajorPerformanceCaveat)) return null;
      const context = {
        RENDERER,
        getExtension: (name) => {
          if (name === 'WEBGL_debug_renderer_info') return { UNMASKED_RENDERER_WEBGL };
          if (name === 'WEBGL_lose_context') return { loseContext: () => lost.push(context) };
          return null;
        },
        getParameter: (parameter) => (parameter === UNMASKED_RENDERER_WEBGL ? renderer : 'WebKit WebGL'),
      };
      return context;
    },
  });
  return { newCanvas, lost };
}

test('software renderers are recognised by name, real GPUs are not', () => {
  for (const name of [
    'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
    'llvmpipe (LLVM 15.0.6, 256 bits)',
    'softpipe',
    'Microsoft Basic Render Driver',
    'Mesa Offscreen',
    'Google SwiftShader',
  ]) {
    assert.match(name, SOFTWARE_RENDERER);
  }
  for (const name of ['ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'Apple M2', 'Mali-G78', 'Adreno (TM) 650']) {
    assert.doesNotMatch(name, SOFTWARE_RENDERER);
  }
});

test('describeWebgl: a real GPU, a software renderer, a caveat refusal, no WebGL at all', () => {
  const gpu = fakeCanvases('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)');
  assert.deepEqual(describeWebgl(gpu.newCanvas), { webgl: true, software: false, renderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)' });
  assert.equal(gpu.lost.length, 2, 'both probe contexts are released');
  assert.equal(describeWebgl(fakeCanvases('llvmpipe (LLVM 15.0.6)').newCanvas).software, true);
  assert.equal(describeWebgl(fakeCanvases('Some GPU', { refusesCaveat: true }).newCanvas).software, true);
  assert.deepEqual(describeWebgl(fakeCanvases('', { noWebgl: true }).newCanvas), { webgl: false, software: true, renderer: '' });
  const noOffscreenCanvas = () => {
    throw new ReferenceError('OffscreenCanvas is not defined');
  };
  assert.equal(describeWebgl(noOffscreenCanvas).webgl, false);
});

test('webglUnfit: a reason for software or missing WebGL, null on a real GPU', () => {
  assert.equal(webglUnfit({ webgl: true, software: false, renderer: 'Apple M2' }), null);
  assert.equal(webglUnfit({ webgl: true, software: true, renderer: 'llvmpipe' }), 'software renderer (llvmpipe)');
  assert.equal(webglUnfit({ webgl: false, software: true, renderer: '' }), 'no WebGL');
});

test('the drawing page and the lab both use this check and keep no renderer list of their own', () => {
  for (const file of ['model-worker.js', 'train/backend.js']) {
    const source = readFileSync(new URL(`../../site_template/js/${file}`, import.meta.url), 'utf8');
    assert.match(source, /webgl\.js/, `${file} imports js/webgl.js`);
    assert.doesNotMatch(source, /swiftshader|llvmpipe/i, `${file} has its own list of software renderers`);
  }
});
