// Runs a converted tfjs graph model in Node (@tensorflow/tfjs + wasm, the page's runtime) and writes the
// values of named graph nodes, so `pipeline export` can tell which node computes which Keras layer
// (pipeline/network.py).
//
// Usage: node nodes_tfjs.mjs MODEL_DIR IMAGES_F32 OUT_DIR NODE_MODULES NODE...
//   IMAGES_F32: raw little-endian float32, N×28×28 (0–1, white on black)
//   OUT_DIR:    written: I.f32 for the I-th NODE, raw float32 of its output
//   stdout:     JSON, the shape of each NODE's output, in order
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modelDir, imagesPath, outDir, nodeModules, ...nodes] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), 'package.json'));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

const modelJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
const shards = Buffer.concat(modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(modelDir, p)))));
await tf.setBackend('wasm');
const model = await tf.loadGraphModel(tf.io.fromMemory({
  ...modelJson,
  weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
  weightData: shards.buffer.slice(shards.byteOffset, shards.byteOffset + shards.byteLength),
}));
const raw = fs.readFileSync(imagesPath);
const images = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const count = images.length / (28 * 28);
const outputs = model.execute(tf.tensor4d(images, [count, 28, 28, 1]), nodes);
const shapes = [];
for (const [i, tensor] of [outputs].flat().entries()) {
  const values = await tensor.data();
  fs.writeFileSync(path.join(outDir, `${i}.f32`), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  shapes.push(tensor.shape);
}
console.log(JSON.stringify(shapes));
