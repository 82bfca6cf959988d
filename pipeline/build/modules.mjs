// The module graph of the built site's JavaScript, for the service worker's cache groups (webapp.py).
//
//   node modules.mjs NODE_MODULES DIST FILE...    FILE: paths of .js files relative to DIST
//
// Prints one JSON object: {FILE: {imports: [path, ...], workers: [path, ...], computed: [{line, code}, ...]}, ...},
// where imports and workers are the site files FILE loads as JavaScript, relative to DIST, query and hash dropped:
//   imports  import ... from 'x' / export ... from 'x'   static imports
//            import('x'), import(`x${query}`)            dynamic imports (a template's literal head)
//   workers  new URL('x.js', import.meta.url)            a script a module starts as a worker by its own URL
// (a page's import map resolves its modules' imports, not a worker's URL nor what the worker imports), and
// computed lists the dynamic imports whose URL has no literal path ahead of its first ${...}: the
// build refuses those, since no one could tell which file they load. A reference that leaves the site
// (another origin, an absolute path) or is a bare specifier is not followed. Parsed with acorn; a file
// that does not parse is an error naming it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [nodeModules, dist, ...files] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), 'package.json'));
const acorn = require('acorn'); // pinned by package-lock.json
const walk = require('acorn-walk');

/** The literal text a URL expression starts with, and whether that is all of it. */
function literalHead(node) {
  if (node.type === 'Literal' && typeof node.value === 'string') return { head: node.value, whole: true };
  if (node.type === 'TemplateLiteral') return { head: node.quasis[0].value.cooked, whole: node.expressions.length === 0 };
  return { head: '', whole: false };
}

/** `spec` as a site path relative to DIST, from the module at `file`; null if it is not a relative URL. */
function resolve(spec, file) {
  if (!/^\.{1,2}\//.test(spec)) return null; // bare, absolute or another origin
  const clean = spec.split(/[?#]/)[0];
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), clean));
}

function references(dist, file) {
  const source = readFileSync(path.join(dist, file), 'utf8');
  let ast;
  try {
    ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  } catch (err) {
    try { // a classic script (a worker's) need not be a valid module
      ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
    } catch {
      throw new Error(`${file}: not JavaScript the build can read (${err.message})`);
    }
  }
  const imports = new Set();
  const workers = new Set();
  const computed = [];
  const add = (refs, spec) => {
    const target = resolve(spec, file);
    if (target) refs.add(target);
  };
  const fromSource = (node) => node.source && add(imports, node.source.value);
  walk.simple(ast, {
    ImportDeclaration: fromSource,
    ExportNamedDeclaration: fromSource,
    ExportAllDeclaration: fromSource,
    ImportExpression(node) {
      const { head } = literalHead(node.source);
      if (/^\.{1,2}\/[^$]*\.m?js$/.test(head)) add(imports, head);
      else computed.push({ line: node.loc.start.line, code: source.slice(node.start, node.end) });
    },
    NewExpression(node) {
      const [url, base] = node.arguments;
      const isMetaUrl = base?.type === 'MemberExpression' && base.object.type === 'MetaProperty' && base.property.name === 'url';
      if (node.callee.name !== 'URL' || !url || !isMetaUrl) return;
      const { head, whole } = literalHead(url);
      if (whole && /\.m?js$/.test(head.split(/[?#]/)[0])) add(workers, head.startsWith('.') ? head : `./${head}`);
    },
  });
  return { imports: [...imports].sort(), workers: [...workers].sort(), computed };
}

try {
  process.stdout.write(`${JSON.stringify(Object.fromEntries(files.map((file) => [file, references(dist, file)])))}\n`);
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
