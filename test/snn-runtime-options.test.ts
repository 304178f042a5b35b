/** Runtime options: the EVSTREAM_* environment resolved once, validated, and read in one place. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { RUNTIME_ENV_VARS, resolveRuntimeOptions, runtimeOptions, setRuntimeOptions } from '../src/snn/runtime-options.js';

test('defaults with an empty environment (empty values count as unset)', () => {
  const want = { engine: 'auto', backend: undefined, kernels: undefined, ortThreads: 2, ortArena: false, ortSpin: false, onnxCacheDir: join(tmpdir(), 'evstream-onnx'), ortEnabled: true };
  assert.deepEqual({ ...resolveRuntimeOptions({}) }, want);
  assert.deepEqual({ ...resolveRuntimeOptions(Object.fromEntries(RUNTIME_ENV_VARS.map((k) => [k, ' ']))) }, want);
});

test('every variable is read', () => {
  const o = resolveRuntimeOptions({
    EVSTREAM_ENGINE: ' TFJS ',
    EVSTREAM_BACKEND: 'tensorflow',
    EVSTREAM_KERNELS: 'ort',
    EVSTREAM_ORT_THREADS: '7',
    EVSTREAM_ORT_ARENA: '1',
    EVSTREAM_ORT_SPIN: 'on',
    EVSTREAM_ONNX_CACHE: '/x/cache',
    EVSTREAM_ORT: 'off',
  });
  assert.deepEqual({ ...o }, { engine: 'tfjs', backend: 'node', kernels: 'ort', ortThreads: 7, ortArena: true, ortSpin: true, onnxCacheDir: '/x/cache', ortEnabled: false });
  assert.equal(resolveRuntimeOptions({ EVSTREAM_BACKEND: 'wasm' }).backend, 'wasm');
  assert.equal(resolveRuntimeOptions({ EVSTREAM_ORT: 'no' }).ortEnabled, false);
  assert.equal(resolveRuntimeOptions({ EVSTREAM_ORT: 'yes' }).ortEnabled, true);
  assert.equal(resolveRuntimeOptions({ EVSTREAM_ENGINE: 'onnx' }, { engine: 'tfjs' }).engine, 'tfjs', 'overrides win');
  assert.ok(Object.isFrozen(o));
});

test('bad values: one line naming the variable and the value', () => {
  const bad: [string, string, RegExp][] = [
    ['EVSTREAM_ENGINE', 'torch', /^EVSTREAM_ENGINE='torch' is not one of auto, tfjs, onnx$/],
    ['EVSTREAM_BACKEND', 'gpu', /^EVSTREAM_BACKEND='gpu' is not one of node-gpu, node, wasm, cpu$/],
    ['EVSTREAM_KERNELS', 'bogus', /^EVSTREAM_KERNELS='bogus' is not one of auto, ort, tfjs$/],
    ['EVSTREAM_ORT_THREADS', 'two', /^EVSTREAM_ORT_THREADS='two' is not an integer thread count in 1\.\.256$/],
    ['EVSTREAM_ORT_THREADS', '0', /EVSTREAM_ORT_THREADS='0'/],
    ['EVSTREAM_ORT_THREADS', '2.5', /EVSTREAM_ORT_THREADS='2.5'/],
    ['EVSTREAM_ORT_ARENA', 'maybe', /^EVSTREAM_ORT_ARENA='maybe' is not a boolean/],
    ['EVSTREAM_ORT_SPIN', '2', /^EVSTREAM_ORT_SPIN='2' is not a boolean/],
    ['EVSTREAM_ORT', 'disabled', /^EVSTREAM_ORT='disabled' is not a boolean/],
  ];
  for (const [k, v, re] of bad)
    assert.throws(
      () => resolveRuntimeOptions({ [k]: v }),
      (e: Error) => e.name === 'RuntimeOptionsError' && re.test(e.message) && !e.message.includes('\n'),
      `${k}=${v}`,
    );
});

test('setRuntimeOptions applies over the options in force and returns the previous ones', () => {
  const before = runtimeOptions();
  const prev = setRuntimeOptions({ ortThreads: 5 });
  try {
    assert.equal(prev, before);
    assert.equal(runtimeOptions().ortThreads, 5);
    assert.equal(runtimeOptions().engine, before.engine);
  } finally {
    setRuntimeOptions(prev);
  }
  assert.deepEqual({ ...runtimeOptions() }, { ...before });
});

test('src/snn reads process.env only in runtime-options.ts', () => {
  const root = join(process.cwd(), 'src', 'snn');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts')) files.push(p);
    }
  };
  walk(root);
  const readers = files.filter((f) => /process\.env\b/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))).map((f) => relative(root, f));
  assert.deepEqual(readers, ['runtime-options.ts']);
});

test('CLI: a malformed EVSTREAM_* value is one line at start-up, before the command runs; --help lists the variables', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'evstream-rtopts-'));
  try {
    const file = join(dir, 'junk.aedat4');
    writeFileSync(file, 'not an event file');
    const cli = (env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath, ['bin/evstream.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const bad = cli({ EVSTREAM_ORT_THREADS: 'x' }, 'info', file);
    assert.notEqual(bad.status, 0);
    assert.equal(bad.stderr, "evstream: EVSTREAM_ORT_THREADS='x' is not an integer thread count in 1..256\n");
    // the same command with a good value gets as far as the file (its own error, not the variable's)
    const good = cli({ EVSTREAM_ORT_THREADS: '3' }, 'info', file);
    assert.doesNotMatch(good.stderr, /EVSTREAM_ORT_THREADS/);
    const help = cli({}, '--help');
    assert.equal(help.status, 0);
    for (const k of RUNTIME_ENV_VARS) assert.ok(help.stdout.includes(k), `--help lists ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
