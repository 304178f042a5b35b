/**
 * The one runner for the benches' Python peers (PyTorch, numpy, python3-lz4 / zstandard): runs a script
 * found next to the bench sources with one JSON argument and parses the last stdout line as JSON.
 * Returns null (and logs why) when /usr/bin/python3 lacks a module the script needs, so a bench row can
 * say "peer not installed" instead of failing.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';

/** Which of these modules `/usr/bin/python3` can import (e.g. ['numpy', 'lz4.frame', 'torch']). */
export function pythonHas(modules: readonly string[]): string[] {
  const probe = `import importlib\nfor m in ${JSON.stringify(modules)}:\n  try:\n    importlib.import_module(m); print(m)\n  except Exception: pass`;
  const r = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/**
 * Runs bench/<script> (the .py files are not compiled: they are found next to the sources from dist/bench/)
 * with `spec` as JSON; null when a required module is missing or the script fails.
 */
export function runPython<T>(script: string, spec: unknown, requires: readonly string[], log: (s: string) => void): T | null {
  const have = pythonHas(requires);
  const missing = requires.filter((m) => !have.includes(m));
  if (missing.length) {
    log(`${script}: ${PYTHON} lacks ${missing.join(', ')} (apt-get install -y ${missing.map((m) => `python3-${m.split('.')[0]}`).join(' ')}): skipped`);
    return null;
  }
  const path = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    log(`${script} failed: ${r.stderr.slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
