// Learns a writer's hand as the page's worker does (site_template/js/model-worker.js's learn: the
// page's js/adapt.js on the graph model's features, tfjs + wasm as in the page), once per recipe and
// writer, without a browser: what `python -m bench.search_personal` chooses the recipe with.
//
// Usage: node bench/personal_recipe.mjs DIST WORK NODE_MODULES
//   DIST: a built site (model/model.json, personal/adapt.json, personal/adapt.bin)
//   WORK/task.json: {recipes: [recipe, ...] (js/adapt.js RECIPE's fields), writers: [{name, taught: [label, ...],
//                    fresh: count}], mnist: count}
//   WORK/taught.u8, fresh.u8, mnist.u8: 28×28 uint8 images, the writers' in order; mnist_labels.u8
//   writes WORK/out.json: {shipped_mnist, results: [{recipe, writers: [{name, fresh: [[p per class], ...],
//                          mnist, learn_ms}]}]}
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [dist, work, nodeModules] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), 'package.json'));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const adapt = await import(path.resolve('site_template/js/adapt.js'));

const SIDE = 28;
const PIXELS = SIDE * SIDE;

function readArtifacts(dir) {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const weights = Buffer.concat(shards);
  return { ...modelJson, weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) };
}

const images = (name) => Float32Array.from(fs.readFileSync(path.join(work, name)), (v) => v / 255);
const arrayBuffer = (file) => { const b = fs.readFileSync(file); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };

await tf.setBackend('wasm');
const model = await tf.loadGraphModel(tf.io.fromMemory(readArtifacts(path.join(dist, 'model'))));
const featuresOutput = Object.keys(model.signature?.outputs ?? {}).find((name) => name === 'features') ?? 'features';

/** The graph model's features of `count` images (Float32Array count·28²): count·F, in batches as the page's worker. */
async function features(batch, count) {
  const parts = [];
  for (let start = 0; start < count; start += 500) {
    const n = Math.min(500, count - start);
    const out = tf.tidy(() => model.execute(tf.tensor4d(batch.subarray(start * PIXELS, (start + n) * PIXELS), [n, SIDE, SIDE, 1]), featuresOutput));
    parts.push(await out.data());
    out.dispose();
  }
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all;
}

const argmaxAccuracy = (probabilities, labels, C) => {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * C, (i + 1) * C);
    right += row.indexOf(Math.max(...row)) === labels[i];
  }
  return right / labels.length;
};

const task = JSON.parse(fs.readFileSync(path.join(work, 'task.json'), 'utf8'));
const base = adapt.readBase(JSON.parse(fs.readFileSync(path.join(dist, 'personal', 'adapt.json'), 'utf8')),
  arrayBuffer(path.join(dist, 'personal', 'adapt.bin')));
const C = base.classes;
const mnistLabels = fs.readFileSync(path.join(work, 'mnist_labels.u8'));
const mnistFeatures = await features(images('mnist.u8'), task.mnist);
const taught = images('taught.u8'), fresh = images('fresh.u8');
const freshFeatures = await features(fresh, fresh.length / PIXELS);
const results = [];
for (const recipe of task.recipes) {
  const writers = [];
  let taughtAt = 0, freshAt = 0;
  for (const writer of task.writers) {
    const start = performance.now();
    const count = writer.taught.length;
    const batch = new Float32Array(count * recipe.copies * PIXELS);
    for (let i = 0; i < count; i++) {
      const image = taught.subarray((taughtAt + i) * PIXELS, (taughtAt + i + 1) * PIXELS);
      batch.set(adapt.augment(image, SIDE, i + 1, recipe), i * recipe.copies * PIXELS); // seeds as the worker's
    }
    const head = adapt.learnHead(base, await features(batch, count * recipe.copies),
      writer.taught.flatMap((label) => Array(recipe.copies).fill(label)), recipe);
    const learnMs = performance.now() - start;
    const probabilities = adapt.headProbabilities(freshFeatures.subarray(freshAt * base.features, (freshAt + writer.fresh) * base.features), writer.fresh, head);
    writers.push({ name: writer.name, learn_ms: learnMs,
      fresh: Array.from({ length: writer.fresh }, (_, i) => Array.from(probabilities.subarray(i * C, (i + 1) * C))),
      mnist: argmaxAccuracy(adapt.headProbabilities(mnistFeatures, task.mnist, head), mnistLabels, C) });
    taughtAt += count;
    freshAt += writer.fresh;
  }
  results.push({ recipe, writers });
  console.log(`recipe ${results.length}/${task.recipes.length} done`);
}
const shipped = argmaxAccuracy(adapt.headProbabilities(mnistFeatures, task.mnist, base), mnistLabels, C);
fs.writeFileSync(path.join(work, 'out.json'), JSON.stringify({ shipped_mnist: shipped, tfjs: tf.version.tfjs, backend: tf.getBackend(), results }));
