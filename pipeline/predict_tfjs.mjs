// Runs a converted tfjs graph model in Node with the same runtime the page uses
// (@tensorflow/tfjs + the wasm backend), so `pipeline export` can check the
// converted model against Keras before anything ships.
//
// Usage: node predict_tfjs.mjs MODEL_DIR IMAGES_F32 PROBS_F32 FEATURES_F32 NODE_MODULES [BLOCK_JSON BLOCK_F32]
//   IMAGES_F32:   raw little-endian float32, N×28×28 (0–1, white on black)
//   PROBS_F32:    written: raw float32, N×10, the model's 'probabilities' output
//   FEATURES_F32: written: raw float32, N×F, its 'features' output (pipeline/contract.py)
//   BLOCK_JSON:   a block (site_template/js/adapt.js's Block) whose values BLOCK_F32 gets: raw float32,
//                 N×directions, projected by js/adapt.js's blockFeatures, as the page's worker does
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modelDir, imagesPath, probsPath, featuresPath, nodeModules, blockJson, blockPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), 'package.json'));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const block = blockJson ? JSON.parse(blockJson) : null;
const adapt = block ? await import(new URL('../site_template/js/adapt.js', import.meta.url)) : null;

/** Read model.json and its shards from disk into tfjs ModelArtifacts. */
function readArtifacts(dir) {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const shards = modelJson.weightsManifest.flatMap((group) =>
    group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const weights = Buffer.concat(shards);
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

await tf.setBackend('wasm');
const model = await tf.loadGraphModel(tf.io.fromMemory(readArtifacts(modelDir)));
const raw = fs.readFileSync(imagesPath);
const images = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const side = 28;
const count = images.length / (side * side);
const outputs = ['probabilities', 'features', ...(block ? [block.node] : [])];
const results = outputs.map(() => []);
const batch = 500;
for (let start = 0; start < count; start += batch) {
  const n = Math.min(batch, count - start);
  const tensors = tf.tidy(() => {
    const x = tf.tensor4d(images.subarray(start * side * side, (start + n) * side * side), [n, side, side, 1]);
    return model.execute(x, outputs);
  });
  for (const [i, tensor] of tensors.entries()) {
    const values = await tensor.data();
    results[i].push(i === 2 ? adapt.blockFeatures(values, n, { ...block, factor: 1 }) : values);
    tensor.dispose();
  }
}
for (const [i, file] of [probsPath, featuresPath, ...(block ? [blockPath] : [])].entries()) {
  fs.writeFileSync(file, Buffer.concat(results[i].map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength))));
}
console.log(`tfjs ${tf.version.tfjs} (${tf.getBackend()}): predicted ${count} images`);
