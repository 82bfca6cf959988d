// The numeric literals of JavaScript files, for tests/test_twins.py: `node numeric_literals.mjs FILE...` writes
// {file: [[value, line], ...]} as JSON. Tokens from acorn (pinned in package.json), so comments and strings
// are never mistaken for code.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const acorn = createRequire(import.meta.url)('acorn');
const found = {};
for (const file of process.argv.slice(2)) {
  const source = readFileSync(file, 'utf8');
  found[file] = [];
  for (const token of acorn.tokenizer(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true })) {
    if (token.type === acorn.tokTypes.num && typeof token.value === 'number') found[file].push([token.value, token.loc.start.line]);
  }
}
process.stdout.write(JSON.stringify(found));
