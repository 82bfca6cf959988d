// The drawing page's entry module only wires (site_template/js/main.js): short, no state of its own; the
// reading's state lives in the scheduler and the session, each digit is judged in one place (js/reader.js).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

import { parse } from 'acorn';
import { simple } from 'acorn-walk';

const source = (name) => readFileSync(new URL(`../../site_template/js/${name}`, import.meta.url), 'utf8');
const program = (name) => parse(source(name), { ecmaVersion: 'latest', sourceType: 'module' });

/** The names a module declares with `let` or `var` at its top level: state that outlives any call. */
function moduleState(name) {
  return program(name).body
    .map((node) => (node.type === 'ExportNamedDeclaration' ? node.declaration : node))
    .filter((node) => node?.type === 'VariableDeclaration' && node.kind !== 'const')
    .flatMap(({ declarations }) => declarations.map(({ id }) => id.name));
}

test('main.js is at most 80 lines', () => {
  const lines = source('main.js').trimEnd().split('\n').length;
  assert.ok(lines <= 80, `main.js has ${lines} lines`);
});

test('no module-level state in the entry module, the UI or the reader; the scheduler and session keep theirs per instance', () => {
  for (const name of ['main.js', 'ui.js', 'reader.js', 'scheduler.js', 'session.js']) {
    assert.deepEqual(moduleState(name), [], `${name} keeps module-level state`);
  }
});

test("each digit is judged in one place: doubt.js's judge is called by the reader alone", () => {
  const callers = ['main.js', 'ui.js', 'reader.js', 'scheduler.js', 'session.js', 'segment.js', 'drawing.js'].filter((name) => {
    let calls = 0;
    simple(program(name), { CallExpression: ({ callee }) => { if (callee.type === 'Identifier' && callee.name === 'judge') calls += 1; } });
    return calls > 0;
  });
  assert.deepEqual(callers, ['reader.js']);
});
