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
//   WORK/replay.u8, replay_labels.u8 (only when a recipe has `extra`): the images whose features adapt.bin holds
//
// Recipe fields that js/adapt.js does not have, tried here only:
//   extra: {node, pool, scale} — the features are the page's (the graph model's `features`, then adapt.json's block)
//     followed by an earlier node's
//     output (a name in model.json, e.g. 'StatefulPartitionedCall/functional_1/c4_relu_1/Relu', NHWC): as it is
//     (pool 'none') or averaged over its positions (pool 'mean') or its largest value per channel (pool 'max'),
//     or projected on `dims` fixed random directions (pool 'project': a seeded Gaussian matrix, seed 1),
//     times `scale` × (the replay's mean length of `features`) / (the replay's mean length of that block). The
//     replay is then these features of WORK/replay.u8 in float32, the shipped head's rows for the extra block
//     0 (so the learning starts from the shipped head, and distils it on the replay as the page does).
//   replayPerClass: k — only the first k replayed images of each label are replayed (all when absent).
//   blockScale: s — the shipped block's values (adapt.json's block, after its factor) times s, in the replay, the
//     examples and every image read: how much the block weighs beside the features as the head learns.
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

/**
 * The page's features of `count` images (Float32Array count·28²), in batches as the page's worker: the graph
 * model's `features`, then the shipped block's (adapt.json's, as js/adapt.js computes it) where there is one;
 * with `extra` (a recipe's), then the extra block, unscaled.
 */
async function features(batch, count, extra = null) {
  const parts = [];
  const block = shippedBase.block;
  for (let start = 0; start < count; start += 500) {
    const n = Math.min(500, count - start);
    const [out, shipped] = tf.tidy(() => {
      const input = tf.tensor4d(batch.subarray(start * PIXELS, (start + n) * PIXELS), [n, SIDE, SIDE, 1]);
      const nodes = [model.execute(input, [featuresOutput, ...(block ? [block.node] : []), ...(extra ? [extra.node] : [])])].flat();
      const [main, shippedNode] = block ? nodes : [nodes[0], null];
      if (!extra) return [main, shippedNode];
      const relu = nodes.at(-1).relu(); // the converter may move a ReLU behind a pooling: its node's value can be below 0
      const more = extra.pool === 'mean' ? relu.mean([1, 2]) : extra.pool === 'max' ? relu.max([1, 2])
        : extra.pool === 'project' ? relu.reshape([n, -1]).matMul(projection(relu.size / n, extra.dims)) : relu.reshape([n, -1]);
      return [tf.concat([main, more], 1), shippedNode];
    });
    let values = await out.data();
    if (block) {
      values = inserted(values, n, shippedBase.features - block.directions, adapt.blockFeatures(await shipped.data(), n, block));
      shipped.dispose();
    }
    parts.push(values);
    out.dispose();
  }
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all;
}

/** `rows` rows of `values` with each row's part of `block` put in after its first `at` values. */
function inserted(values, rows, at, block) {
  const width = values.length / rows, E = block.length / rows;
  const out = new Float32Array(rows * (width + E));
  for (let i = 0; i < rows; i++) {
    out.set(values.subarray(i * width, i * width + at), i * (width + E));
    out.set(block.subarray(i * E, (i + 1) * E), i * (width + E) + at);
    out.set(values.subarray(i * width + at, (i + 1) * width), i * (width + E) + at + E);
  }
  return out;
}

const projections = new Map();
/** js/adapt.js's E×D projection (seed 1), as a tensor kept for the run. */
function projection(E, D) {
  const key = `${E}x${D}`;
  if (!projections.has(key)) projections.set(key, tf.keep(tf.tensor2d(adapt.projection(E, D, 1), [E, D])));
  return projections.get(key);
}

/** `base` replaying only the first k images of each label. */
function fewerReplayed(base, k) {
  const seen = new Map(), keep = [];
  base.replayLabels.forEach((label, i) => {
    seen.set(label, (seen.get(label) ?? 0) + 1);
    if (seen.get(label) <= k) keep.push(i);
  });
  const F = base.features, replay = new Float32Array(keep.length * F);
  keep.forEach((i, j) => replay.set(base.replay.subarray(i * F, (i + 1) * F), j * F));
  return { ...base, replay, replayLabels: Uint8Array.from(keep, (i) => base.replayLabels[i]) };
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
const shippedBase = adapt.readBase(JSON.parse(fs.readFileSync(path.join(dist, 'personal', 'adapt.json'), 'utf8')),
  arrayBuffer(path.join(dist, 'personal', 'adapt.bin')));
const C = shippedBase.classes;
const mnistLabels = fs.readFileSync(path.join(work, 'mnist_labels.u8'));
const mnistImages = images('mnist.u8');
const taught = images('taught.u8'), fresh = images('fresh.u8');
const replayImages = task.recipes.some((r) => r.extra) ? images('replay.u8') : null;

const meanLength = (x, count, width, from, to) => {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let f = from; f < to; f++) s += x[i * width + f] ** 2;
    sum += Math.sqrt(s);
  }
  return sum / count;
};

/** For each distinct `extra`: the base to learn from, how to turn images into its features, MNIST's and the fresh ones'. */
const sources = new Map();
async function source(extra) {
  const key = JSON.stringify(extra ?? null);
  if (sources.has(key)) return sources.get(key);
  let entry;
  const F0 = shippedBase.features;
  if (!extra) {
    entry = { base: shippedBase, of: (batch, count) => features(batch, count) };
  } else {
    const n = shippedBase.replayLabels.length;
    const raw = await features(replayImages, n, extra);
    const width = raw.length / n;
    const factor = extra.scale * meanLength(raw, n, width, 0, F0) / (meanLength(raw, n, width, F0, width) || 1);
    const scaled = (x) => { for (let k = 0; k < x.length; k++) if (k % width >= F0) x[k] *= factor; return x; };
    const weights = new Float32Array(width * C);
    weights.set(shippedBase.weights); // rows F0.. (the extra block) stay 0
    entry = { base: { ...shippedBase, features: width, weights, replay: scaled(raw) },
      of: async (batch, count) => scaled(await features(batch, count, extra)) };
  }
  entry.mnist = await entry.of(mnistImages, task.mnist);
  entry.fresh = await entry.of(fresh, fresh.length / PIXELS);
  sources.set(key, entry);
  return entry;
}

/** `x` (rows of `width` values) with the shipped block's columns times `s`: a copy (`x` itself when s is 1). */
function blockScaled(x, width, s = 1) {
  if (s === 1) return x;
  const E = shippedBase.block.directions, from = shippedBase.features - E, out = Float32Array.from(x);
  for (let k = 0; k < out.length; k++) if (k % width >= from && k % width < from + E) out[k] *= s;
  return out;
}

const results = [];
for (const recipe of task.recipes) {
  const sourced = await source(recipe.extra);
  const F = sourced.base.features, s = recipe.blockScale ?? 1;
  const scaledBase = { ...sourced.base, replay: blockScaled(sourced.base.replay, F, s) };
  const base = recipe.replayPerClass ? fewerReplayed(scaledBase, recipe.replayPerClass) : scaledBase;
  const of = async (batch, count) => blockScaled(await sourced.of(batch, count), F, s);
  const mnistFeatures = blockScaled(sourced.mnist, F, s), freshFeatures = blockScaled(sourced.fresh, F, s);
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
    const exampleFeatures = await of(batch, count * recipe.copies);
    const exampleLabels = writer.taught.flatMap((label) => Array(recipe.copies).fill(label));
    const head = adapt.learnHead(base, exampleFeatures, exampleLabels, recipe);
    const learnMs = performance.now() - start;
    const read = (x, k) => adapt.headProbabilities(x, k, head);
    const probabilities = read(freshFeatures.subarray(freshAt * F, (freshAt + writer.fresh) * F), writer.fresh);
    writers.push({ name: writer.name, learn_ms: learnMs,
      fresh: Array.from({ length: writer.fresh }, (_, i) => Array.from(probabilities.subarray(i * C, (i + 1) * C))),
      mnist: argmaxAccuracy(read(mnistFeatures, task.mnist), mnistLabels, C) });
    taughtAt += count;
    freshAt += writer.fresh;
  }
  results.push({ recipe, writers });
  console.log(`recipe ${results.length}/${task.recipes.length} done`);
}
const shipped = argmaxAccuracy(adapt.headProbabilities((await source(null)).mnist, task.mnist, shippedBase), mnistLabels, C);
fs.writeFileSync(path.join(work, 'out.json'), JSON.stringify({ shipped_mnist: shipped, tfjs: tf.version.tfjs, backend: tf.getBackend(), results }));
