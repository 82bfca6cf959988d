// The drawing page's size-optimized TensorFlow.js, built the way TensorFlow.js documents it
// ("Generating size-optimized browser bundles"): tfjs-core + tfjs-converter + a backend with
// only the kernels the exported graph runs, bundled by esbuild. Run by pipeline/build/bundle.py.
//
// Usage: node bundle.mjs MODEL_DIR OUT_DIR NODE_MODULES
//   MODEL_DIR     the exported graph model (model.json + shards)
//   OUT_DIR       written: tfjs-digits.js (core, converter, wasm backend and its kernels; the
//                 classic-script global `tf`) and tfjs-digits-cpu.js (the cpu backend and its
//                 kernels, for browsers without WebAssembly: registers into the `tf` of the first)
// Prints one JSON line: {ops, kernels: {wasm: [...], cpu: [...]}, files: {name: bytes}}.
// A model the bundle cannot serve exits 1 with one line on stderr naming model.json and why.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modelDir, outDir, nodeModules] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), 'package.json'));
const modelJson = path.join(modelDir, 'model.json');
const BACKENDS = ['wasm', 'cpu']; // the drawing page's, in order; cpu only where WebAssembly is missing
const OUTPUTS = { wasm: 'tfjs-digits.js', cpu: 'tfjs-digits-cpu.js' };
const OP_SUFFIX = '__op'; // tf.profile also lists ops built from other ops (fusedConv2d__op): no kernel of their own

function fail(message) {
  process.stderr.write(`${modelJson}: ${message}\n`);
  process.exit(1);
}

/** The graph's op names (its nodes and those of its functions), e.g. ['AddV2', '_FusedConv2D', ...]. */
function graphOps(model) {
  const topology = model.modelTopology || {};
  const functions = (topology.library && topology.library.function) || [];
  const nodes = [...(topology.node || []), ...functions.flatMap((f) => f.nodeDef || [])];
  return [...new Set(nodes.map((n) => n.op))].sort();
}

/** The tfjs-core ops the converter calls for `ops` (tfjs-converter/metadata/kernel2op.json), e.g. ['add', 'fused.conv2d']. */
function converterOps(ops) {
  const kernel2op = JSON.parse(fs.readFileSync(require.resolve('@tensorflow/tfjs-converter/metadata/kernel2op.json'), 'utf8'));
  const unknown = ops.filter((op) => !(op in kernel2op));
  if (unknown.length) fail(`op ${unknown[0]} is not supported by TensorFlow.js's converter (tfjs-converter/metadata/kernel2op.json)`);
  return [...new Set(ops.flatMap((op) => kernel2op[op]))].sort();
}

/** The model as tfjs ModelArtifacts, read from disk. */
function readArtifacts(model) {
  const shards = model.weightsManifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(modelDir, p))));
  const weights = Buffer.concat(shards);
  return {
    modelTopology: model.modelTopology,
    format: model.format,
    signature: model.signature,
    weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

/**
 * The kernels one prediction runs on each backend, from tf.profile (how TensorFlow.js's guide finds
 * them), with the full tfjs in Node; a kernel a backend lacks stops the build here, not in a browser.
 */
async function kernelsPerBackend(model) {
  const tf = require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  const [input] = Object.values(model.signature.inputs);
  const shape = input.tensorShape.dim.map((d) => Math.max(1, Number(d.size)));
  const kernels = {};
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const graph = await tf.loadGraphModel(tf.io.fromMemory(readArtifacts(model)));
    try {
      const info = await tf.profile(async () => {
        const out = graph.predict(tf.zeros(shape));
        await Promise.all([out].flat().map((t) => t.data()));
        tf.dispose(out);
      });
      kernels[backend] = [...new Set(info.kernelNames)].filter((k) => !k.endsWith(OP_SUFFIX)).sort();
    } catch (err) {
      fail(`the ${backend} backend cannot run this model: ${String(err.message || err).split('\n')[0]}`);
    }
  }
  return kernels;
}

/** The kernel's config as tfjs-backend-BACKEND/dist/kernels/NAME.js exports it (fusedConv2DConfig for FusedConv2D). */
function kernelImport(backend, name, id) {
  const file = `@tensorflow/tfjs-backend-${backend}/dist/kernels/${name}.js`;
  let source;
  try {
    source = fs.readFileSync(require.resolve(file), 'utf8');
  } catch {
    fail(`the ${backend} backend has no kernel ${name} to bundle (${file})`);
  }
  const config = source.match(/export const (\w+Config)\b/);
  if (!config) fail(`${file} exports no kernel config`);
  return `import { ${config[1]} as k${id} } from '${file}';\nregisterKernel(k${id});`;
}

/** Module sources: the custom core, the converter's ops, and one entry per backend. */
function sources(ops, kernels) {
  const core = [
    "import '@tensorflow/tfjs-core/dist/base_side_effects';",
    "export * from '@tensorflow/tfjs-core/dist/base';",
  ].join('\n');
  const flat = ops.filter((op) => !op.includes('.'));
  const spaces = {}; // 'fused.conv2d' -> spaces.fused = ['fused.conv2d', ...]
  for (const op of ops.filter((name) => name.includes('.'))) (spaces[op.split('.')[0]] ||= []).push(op);
  const opFile = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const converter = [
    ...flat.map((op) => `export { ${op} } from '@tensorflow/tfjs-core/dist/ops/${opFile(op)}';`),
    ...Object.entries(spaces).map(([space, names]) => [
      ...names.map((n) => `import { ${n.split('.')[1]} as ${space}_${n.split('.')[1]} } from '@tensorflow/tfjs-core/dist/ops/${space}/${opFile(n.split('.')[1])}';`),
      `export const ${space} = { ${names.map((n) => `${n.split('.')[1]}: ${space}_${n.split('.')[1]}`).join(', ')} };`,
    ].join('\n')),
  ].join('\n');
  const entry = (backend, withCore) => [
    "import { registerKernel } from '@tensorflow/tfjs-core';",
    withCore ? "export * from '@tensorflow/tfjs-core';\nexport * from '@tensorflow/tfjs-converter';" : '',
    `export * as ${backend} from '@tensorflow/tfjs-backend-${backend}/dist/base';`,
    ...kernels[backend].map((name, i) => kernelImport(backend, name, i)),
  ].join('\n');
  return { core, converter, wasm: entry('wasm', true), cpu: entry('cpu', false) };
}

/** esbuild: `entry` into OUT_DIR/`name`, an IIFE; `redirect` maps exact import paths to files. */
async function bundle(esbuild, entry, name, redirect, banner, globalName) {
  const plugin = {
    name: 'custom-tfjs',
    setup(build) {
      const filter = new RegExp(`^(${Object.keys(redirect).map((k) => k.replace(/[/.]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: redirect[args.path] }));
    },
  };
  await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(outDir, name),
    bundle: true,
    minify: true,
    format: 'iife',
    globalName,
    platform: 'browser',
    target: 'es2017',
    legalComments: 'none',
    banner: { js: banner },
    external: ['fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'util'], // Node-only branches of the wasm glue
    plugins: [plugin],
    nodePaths: [path.resolve(nodeModules)],
    logLevel: 'error',
  });
}

const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
const ops = converterOps(graphOps(model));
const kernels = await kernelsPerBackend(model);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-bundle-'));
try {
  const src = sources(ops, kernels);
  for (const [name, text] of Object.entries(src)) fs.writeFileSync(path.join(work, `${name}.js`), `${text}\n`);
  // A classic script that hands the first bundle's tf to the cpu chunk, so both share one engine.
  fs.writeFileSync(path.join(work, 'shared-tf.js'), 'module.exports = globalThis.tf;\n');
  const esbuild = require('esbuild');
  const core = path.join(work, 'core.js');
  const opsFile = path.join(work, 'converter.js');
  const banner = (backend) => `/* TensorFlow.js ${require('@tensorflow/tfjs-core/package.json').version}, Apache-2.0, © Google. ` +
    `Built by pipeline build for this model: ${backend} kernels ${kernels[backend].join(' ')} */`;
  await bundle(esbuild, path.join(work, 'wasm.js'), OUTPUTS.wasm, {
    '@tensorflow/tfjs-core': core,
    '@tensorflow/tfjs-core/dist/ops/ops_for_converter': opsFile,
  }, banner('wasm'), 'tf');
  await bundle(esbuild, path.join(work, 'cpu.js'), OUTPUTS.cpu, { '@tensorflow/tfjs-core': path.join(work, 'shared-tf.js') }, banner('cpu'));
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
const files = Object.fromEntries(Object.values(OUTPUTS).map((name) => [name, fs.statSync(path.join(outDir, name)).size]));
process.stdout.write(`${JSON.stringify({ ops, kernels, files })}\n`);
