// The network view's arithmetic (site_template/js/network/layers.js): activations from graph nodes, tiles,
// occlusion saliency, the image handed over in the URL.
import assert from 'node:assert/strict';
import test from 'node:test';

import { activations, channelMaxima, fillTiles, imageFromHash, occlusions, readNetwork, region, saliency } from
  '../../site_template/js/network/layers.js';

const SIZE = 28;

test('a layer the converter left before its ReLU gets the ReLU; others are passed on as they are', () => {
  const layers = [{ name: 'image', kind: 'input', node: 'image', shape: [2, 2, 1] },
    { name: 'c2_relu', kind: 'conv', node: 'bn', shape: [1, 1, 2], relu: true },
    { name: 'out', kind: 'output', node: 'softmax', shape: [2], relu: false }];
  const image = new Float32Array([0, 1, 0.5, 0]);
  const nodes = new Map([['bn', { values: new Float32Array([-2, 3]) }], ['softmax', { values: new Float32Array([-0.1, 1.1]) }]]);
  const found = activations(layers, image, nodes);
  assert.deepEqual(Object.keys(found), ['image', 'c2_relu', 'out']);
  assert.equal(found.image.values, image);
  assert.deepEqual(Array.from(found.c2_relu.values), [0, 3]);
  assert.deepEqual(Array.from(found.out.values), [-0.1, 1.1].map(Math.fround));
});

test('tiles: one per channel of an HWC layer, white at the layer maximum', () => {
  const values = new Float32Array([0, 4, 2, 1]); // 2×1 positions, 2 channels
  assert.deepEqual(Array.from(channelMaxima(values, [2, 1, 2])), [2, 4]);
  const tiles = [new Uint8ClampedArray(8), new Uint8ClampedArray(8)];
  fillTiles(values, [2, 1, 2], tiles.map((tile) => new Uint32Array(tile.buffer)), 4);
  assert.deepEqual(Array.from(tiles[0]), [0, 0, 0, 255, 128, 128, 128, 255]);
  assert.deepEqual(Array.from(tiles[1]), [255, 255, 255, 255, 64, 64, 64, 255]);
});

test('occlusion erases only squares holding ink, and a blank region has no importance', () => {
  const image = new Float32Array(SIZE * SIZE);
  image[5 * SIZE + 5] = 1; // one inked pixel near the top left
  const { patches, images } = occlusions(image, SIZE);
  assert.ok(patches.length > 0 && patches.every(({ x, y }) => x <= 5 && x + 8 > 5 && y <= 5 && y + 8 > 5));
  assert.ok(images.every((v) => v === 0)); // each erased copy lost the pixel
  const probabilities = new Float32Array([0.9, 0.1]);
  const erased = new Float32Array(patches.flatMap(() => [0.3, 0.7]));
  const { map, digit, most } = saliency(probabilities, erased, patches, SIZE);
  assert.equal(digit, 0);
  assert.equal(most.reads, 1);
  assert.ok(Math.abs(most.loss - Math.log(3)) < 1e-6);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (x > 9 || y > 9) assert.equal(map[y * SIZE + x], 0);
  assert.ok(map[5 * SIZE + 5] > 0);
});

test('regions in words', () => {
  assert.equal(region(10, 0, SIZE), 'top');
  assert.equal(region(10, 10, SIZE), 'centre');
  assert.equal(region(20, 20, SIZE), 'bottom right');
});

test('the image handed over in the URL: 784 bytes of base64, anything else is ignored', () => {
  const bytes = new Uint8Array(SIZE * SIZE).map((_, i) => i % 256);
  const hash = `#digit=${Buffer.from(bytes).toString('base64')}`;
  assert.deepEqual(imageFromHash(hash, SIZE), bytes);
  assert.equal(imageFromHash('#digit=AAAA', SIZE), null);
  assert.equal(imageFromHash('#other', SIZE), null);
});

test('network.json without layers or with a layer lacking its node is refused in one line', () => {
  assert.throws(() => readNetwork({}), /network.json: no list of layers/);
  assert.throws(() => readNetwork({ layers: [{ name: 'a', kind: 'conv', shape: [1] }, { name: 'b' }], digits: { tile: 28 } }),
    /layer "a" lacks/);
});
