#!/usr/bin/env node
/**
 * `npm test` after tsc: runs every compiled `*.test.js` under dist/test (helpers are not tests) with
 * node's test runner, spec output as before, and a second reporter that collects skips.
 *
 * Locally, skipped tests are allowed and listed at the end (name, file:line, reason). With CI=true the
 * run fails when it cannot run what it claims: ../shared ($EVSTREAM_SHARED) or Chromium missing
 * (checked up front, before any test runs) or any test skipped.
 *
 * Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default dist/test)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const targets = process.argv.slice(2).length ? process.argv.slice(2) : [join(root, 'dist', 'test')];

/** Every *.test.js under the targets, sorted (node 20's --test takes no glob). */
function testFiles(paths) {
  const out = [];
  const walk = (p) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else if (p.endsWith('.test.js')) out.push(p);
  };
  for (const p of paths) walk(resolve(p));
  return out.sort();
}

/** What a CI run needs and does not have: one line each. The helpers are the tests' own. */
async function missingPreconditions() {
  const helpers = join(root, 'dist', 'test', 'helpers');
  const { sharedDir, recordingsDir, referenceDir } = await import(pathToFileURL(join(helpers, 'shared.js')).href);
  const { chromiumPath } = await import(pathToFileURL(join(helpers, 'chromium.js')).href);
  const missing = [];
  const where = process.env.EVSTREAM_SHARED ? `EVSTREAM_SHARED=${process.env.EVSTREAM_SHARED}` : '../shared';
  const need = 'the shared recordings and reference fixtures must sit beside the repository';
  if (!existsSync(sharedDir)) missing.push(`shared data: ${sharedDir} does not exist (${where}; ${need})`);
  else for (const d of [recordingsDir, referenceDir]) if (!existsSync(d)) missing.push(`shared data: ${d} does not exist (${where}; ${need})`);
  if (!chromiumPath()) missing.push('Chromium: not found (CHROMIUM_PATH or chromium / chromium-browser / google-chrome on PATH); the e2e browser tests need it');
  return missing;
}

const missing = await missingPreconditions();
if (missing.length) {
  const head = ci ? 'CI=true: cannot run what the suite claims, missing:' : 'note: missing (the tests that need it will skip):';
  console.error([head, ...missing.map((m) => `  - ${m}`)].join('\n'));
  if (ci) process.exit(2);
}

const files = testFiles(targets);
if (files.length === 0) {
  console.error(`no *.test.js under ${targets.join(', ')} (run tsc first)`);
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), 'evstream-test-'));
const skipLog = join(tmp, 'skips.jsonl');
const reporter = pathToFileURL(join(root, 'scripts', 'skip-reporter.mjs')).href;
const run = spawnSync(process.execPath, [
  '--test', '--test-concurrency=2',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${reporter}`, `--test-reporter-destination=${skipLog}`,
  ...files,
], { stdio: 'inherit', cwd: process.cwd() });

const records = existsSync(skipLog) ? readFileSync(skipLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(tmp, { recursive: true, force: true });
const skipped = records.filter((r) => r.kind !== 'total');
const total = records.find((r) => r.kind === 'total');

const where = (r) => (r.file ? `${relative(process.cwd(), r.file)}${r.line ? `:${r.line}` : ''}` : '?');
if (skipped.length) {
  console.log(`\n${skipped.length} test(s) skipped or todo:`);
  for (const r of skipped) console.log(`  - ${r.name} (${where(r)}): ${r.kind}${r.reason ? `: ${r.reason}` : ''}`);
}
console.log(`\n${files.length} test files; tests: ${total?.passed ?? '?'} passed, ${total?.failed ?? '?'} failed, ${skipped.length} skipped${ci ? ' (CI=true: skips fail the run)' : ''}`);

if (run.status !== 0) process.exit(run.status ?? 1);
if (!total) {
  console.error('the skip reporter wrote no totals: cannot tell what ran');
  process.exit(1);
}
if (ci && skipped.length) {
  console.error(`CI=true: ${skipped.length} test(s) skipped; a CI run must run every test (see the list above)`);
  process.exit(1);
}
