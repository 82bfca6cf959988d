// The page's config as the build renders it (pipeline/build/site.py page_config), for node tests of modules
// that take their sizes from it: the values come from pipeline/contract.py, never from a test's own copy.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VENV_PYTHON = `${ROOT}.venv/bin/python`;

/**
 * $PAGE_CONFIG names a file that already holds it (bench/mutation.py renders it once for a run that repeats
 * these tests hundreds of times).
 * @returns {object} page_config's JSON (features version "test")
 */
export function pageConfig() {
  if (process.env.PAGE_CONFIG) return JSON.parse(readFileSync(process.env.PAGE_CONFIG, 'utf8'));
  const python = process.env.PYTHON ?? (existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
  const code = 'import json; from pipeline.build.site import page_config; print(json.dumps(page_config("test")))';
  return JSON.parse(execFileSync(python, ['-c', code], { cwd: ROOT, env: { ...process.env, PYTHONPATH: ROOT } }));
}
