/**
 * Issue 18's acceptance: evstream as an installed npm package.
 *
 * 1. Pack: a staging copy of the package (package.json, the shipped folders, and dist/src built by
 *    tsconfig.lib.json with declarations) is packed with `npm pack`; the tarball's size is printed and its
 *    file list must hold what a user needs (dist with .d.ts, web, pipelines with checkpoints, the demo
 *    recording, README, LICENSE, CHANGELOG, bin) and nothing from test/, bench/ or src/. Staging instead of
 *    packing the checkout: `prepack` rebuilds dist/src in place, which would pull files from under the
 *    other tests running beside this one.
 * 2. Install offline: a fresh project gets the tarball with a lock file derived from this project's own
 *    (the same resolved versions, every tarball in the local npm cache): `npm ci --offline`. A plain
 *    `npm install --offline <tarball>` needs registry metadata that the cache does not hold.
 * 3. There: a strict TypeScript file importing evstream/events, evstream/framing and evstream/snn
 *    type-checks (with @ts-expect-error lines that fail the check if the types were `any` or a deep import
 *    got past `exports`); a script decodes a shared recording through the public API (README facts) and runs
 *    the demo checkpoint on its first frames; the packed CLI (`npx evstream frames` + `infer`, same
 *    checkpoint) must give the same frames and the same output, bit for bit; `npx evstream --help` works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../src/util/npy.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const root = process.cwd();
const RECORDING = 'dvs-lz4-sample.aedat4';
const FRAMES = 3;
const SIZE = 64; // the demo checkpoint's input size (pipelines/demo.json framing.size)

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s: ${cmd.replace(/^.*\//, '')} ${args.slice(0, 2).join(' ').replace(root, '.')}`);
  return r.stdout;
}

/** A copy of what `npm pack` reads: package.json, the shipped folders, and a fresh declaration build of src. */
function stage(dir: string): void {
  for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin', 'web', 'pipelines', 'recordings', 'src', 'tsconfig.json', 'tsconfig.lib.json']) cpSync(join(root, p), join(dir, p), { recursive: true });
  // built inside the stage, so package.json's `imports` (#codec-packages -> ./dist/src/...) map back to the stage's
  // own sources; built in the checkout with another outDir they point at a dist/src that has no .d.ts (TS7016)
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.lib.json')], dir);
  // the static viewer build (what `prepack` runs after build:lib), made from the stage's dist
  run(process.execPath, [join(root, 'scripts', 'build-web.mjs'), '--root', dir], root);
}

/** A consumer project that depends on the tarball, locked to this project's resolved dependency versions. */
function consumer(dir: string, tarball: string): void {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string>> & { version: string };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  const spec = `file:${tarball}`;
  const typesNode = pkg['devDependencies']!['@types/node']!;
  // npm applies `overrides` of the root project only: a consumer on Node 20 needs evstream's too (README).
  const manifest = { name: 'consumer', private: true, type: 'module', dependencies: { evstream: spec }, devDependencies: { '@types/node': typesNode }, overrides: pkg['overrides'] };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(join(dir, tarball))).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: manifest.dependencies, devDependencies: manifest.devDependencies },
    'node_modules/evstream': { version: pkg.version, resolved: spec, integrity, license: 'MIT', dependencies: pkg['dependencies'], optionalDependencies: pkg['optionalDependencies'], bin: pkg['bin'], engines: pkg['engines'] },
  };
  for (const [k, v] of Object.entries(lock.packages)) {
    if (!k || v.link) continue;
    if (v.dev && k !== 'node_modules/@types/node' && k !== 'node_modules/undici-types') continue;
    packages[k] = v;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 1));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 1));
}

const CHECK_TS = `
import { readEvents, decodeEventBytes, EventFormatError, type EventBatch, type StreamInfo } from 'evstream/events';
import { FrameBinner, type Frame } from 'evstream/framing';
import { loadCheckpoint, createSession, type ModelMeta } from 'evstream/snn';

export async function count(path: string): Promise<number> {
  let n = 0;
  for await (const b of readEvents(path, { maxGapUs: 0 })) n += b.length;
  return n;
}
export function frames(batches: EventBatch[]): Frame[] {
  const out: Frame[] = [];
  const binner = new FrameBinner({ windowUs: 50_000, resize: { width: 64, height: 64 } });
  for (const b of batches) binner.push(b, (f) => out.push(f));
  return out;
}
export function meta(path: string): ModelMeta {
  const { model, meta } = loadCheckpoint(path);
  createSession(model, { engine: 'tfjs' }).dispose();
  return meta;
}
export const isFormatError = (e: unknown): e is EventFormatError => e instanceof EventFormatError;
export const infoOf = (bytes: Uint8Array): StreamInfo => decodeEventBytes(bytes, () => {});
// @ts-expect-error: the types are real, not any (a batch length is a number)
export const wrong: string = ({} as EventBatch).length;
// @ts-expect-error: internals are not importable, only the subpath exports
import { Aedat2Decoder } from 'evstream/dist/src/events/aedat2.js';
`;

const RUN_MJS = `
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { readEvents } from 'evstream/events';
import { FrameBinner } from 'evstream/framing';
import { initBackend, selectKernels, loadCheckpoint } from 'evstream/snn';

const [recording, checkpoint, frames, size] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
// What the CLI's frames command does: 50 ms windows from the first event, area-resized to the model's size.
const binner = new FrameBinner({ windowUs: 50_000, resize: { width: size, height: size } });
const out = [];
let events = 0;
for await (const batch of readEvents(recording)) {
  events += batch.length;
  binner.push(batch, (f) => out.push(f));
}
binner.flush((f) => out.push(f));
const x = new Float32Array(frames * 2 * size * size);
for (let i = 0; i < frames; i++) x.set(out[i].counts, i * 2 * size * size);
// What the CLI's infer command does: its backend and kernels, the checkpoint at the input's size, T = 1.
await initBackend(undefined, false);
selectKernels('auto', false);
const { model, meta } = loadCheckpoint(checkpoint, { set: { size: [size, size] } });
const r = model.forward(tf.tensor5d(x, [1, frames, 2, size, size]));
const y = await r.output.data();
writeFileSync('lib-frames.bin', new Uint8Array(x.buffer));
writeFileSync('lib-y.bin', new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
console.log(JSON.stringify({ events, framesTotal: out.length, arch: meta.arch, shape: r.output.shape }));
`;

test('npm pack -> offline install in a fresh project -> typed imports, public API = CLI numbers, npx evstream --help', { skip: skipUnless(sharedRecording(RECORDING), RECORDING), timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'evstream-pack-'));
  try {
    const staged = join(tmp, 'stage');
    const app = join(tmp, 'app');
    mkdirSync(staged);
    mkdirSync(app);
    stage(staged);
    const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], staged)) as PackResult[];
    console.log(`npm pack: ${packed!.filename} ${(packed!.size / 2 ** 20).toFixed(2)} MiB (${(packed!.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${packed!.files.length} files)`);
    const files = packed!.files.map((f) => f.path);
    for (const need of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/evstream.js', 'web/index.html', 'web/app.js', 'pipelines/demo.json', 'pipelines/demo.safetensors', 'recordings/demo.aedat4', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/events/browser.js', 'dist/src/snn/index.d.ts', 'dist/src/cli/main.js', 'dist/web/index.html', 'dist/web/local/local.js', 'dist/web/models/demo.onnx', 'dist/web/local/ort/ort-wasm-simd-threaded.wasm']) {
      assert.ok(files.includes(need), `${need} is in the package`);
    }
    const stray = files.filter((f) => /^(test|bench|src|scripts|dist\/(test|bench))\//.test(f) || f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'));
    assert.deepEqual(stray, [], 'no tests, benches, sources or source maps in the package');

    consumer(app, packed!.filename);
    run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app, { ONNXRUNTIME_NODE_INSTALL: 'skip' });

    // Typed imports, strict.
    writeFileSync(join(app, 'check.ts'), CHECK_TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'], noEmit: true, skipLibCheck: true }, files: ['check.ts'] }));
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);

    // The public API on a shared recording and the demo checkpoint...
    const recording = sharedRecording(RECORDING)!;
    const checkpoint = join(app, 'node_modules/evstream/pipelines/demo.safetensors');
    writeFileSync(join(app, 'run.mjs'), RUN_MJS);
    const lib = JSON.parse(run(process.execPath, ['run.mjs', recording, checkpoint, String(FRAMES), String(SIZE)], app).trim().split('\n').pop()!) as { events: number; framesTotal: number; arch: string; shape: number[] };
    assert.equal(lib.events, 111954, 'the README count of dvs-lz4-sample.aedat4');
    assert.equal(lib.framesTotal, 12, '590 ms of events from the first one: 12 windows of 50 ms');
    assert.deepEqual(lib.shape, [FRAMES, 6, SIZE, SIZE]);

    // ... and the packed CLI on the same input.
    // The installed bin (what npx runs; npx itself is checked with --help below, it costs ~1 s a call).
    const cli = (args: string[]): string => run(join(app, 'node_modules/.bin/evstream'), args, app);
    assert.equal(cli(['frames', recording, '--size', `${SIZE}x${SIZE}`, '--limit', String(FRAMES), '--out', 'cli-frames.npy']).trim(), String(FRAMES));
    const cliFrames = decodeNpy(new Uint8Array(readFileSync(join(app, 'cli-frames.npy'))));
    assert.deepEqual(cliFrames.shape, [FRAMES, 2, SIZE, SIZE]);
    const libFrames = new Float32Array(new Uint8Array(readFileSync(join(app, 'lib-frames.bin'))).buffer);
    assert.deepEqual(Array.from(libFrames), Array.from(cliFrames.data as Float32Array), 'frames: public API = evstream frames');
    assert.ok(libFrames.some((v) => v > 0));
    // infer takes [T, N, C, H, W]: the same frames as one step of a batch of FRAMES.
    writeFileSync(join(app, 'cli-x.npy'), encodeNpy(cliFrames.data as Float32Array, [1, FRAMES, 2, SIZE, SIZE]));
    cli(['infer', '--weights', checkpoint, '--input', 'cli-x.npy', '--out', 'cli-y.npy']);
    const cliY = decodeNpy(new Uint8Array(readFileSync(join(app, 'cli-y.npy'))));
    assert.deepEqual(cliY.shape, [FRAMES, 6, SIZE, SIZE]);
    const libY = new Float32Array(new Uint8Array(readFileSync(join(app, 'lib-y.bin'))).buffer);
    assert.equal(libY.length, cliY.data.length);
    assert.ok(libY.every((v, i) => Object.is(v, cliY.data[i])), 'model output: public API = evstream infer, bit for bit');
    assert.ok(new Set(libY).size > 100, 'a real output, not a constant');

    const help = run('npx', ['--offline', 'evstream', '--help'], app);
    assert.match(help, /Usage: evstream/);
    assert.match(help, /frames/);
    assert.equal(cli(['--version']).trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
