#!/usr/bin/env node
/**
 * dist/web/: the viewer as a static site (issue 15), run by `npm run build` / `prepare` after tsc.
 *   index.html, app.js, style.css   the viewer (web/), index.html marked static: no /api, no /ws
 *   local/local.js, local/*.js      esbuild bundle of src/web/local-run.ts (platform browser, no Node built-ins),
 *                                   split: each ORT build is a chunk loaded only when its backend is used
 *   local/hdf5-worker.js            the HDF5 reader's Web Worker (src/web/hdf5-worker.ts + h5wasm, wasm inlined),
 *                                   loaded only when an HDF5 file is opened
 *   local/ort/*.mjs, *.wasm         onnxruntime-web's loaders and binaries: the plain wasm build, and the
 *                                   JSEP build (WebGPU)
 *   models/demo.onnx, demo.json     the demo pipeline's model (exportStepGraph) and its manifest
 * `evstream run` serves local/ and models/ from here too (src/server/app.ts), so the live viewer opens
 * recordings the same way. Written to a temporary folder and renamed into place, so a server or test
 * reading dist/web never sees half a build.
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

// --root DIR: build another checkout's dist/web (the pack test builds its staged copy so)
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? process.argv[rootArg + 1] : join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'web');
const tmp = join(dist, `.web-${process.pid}`);
const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

if (!existsSync(join(dist, 'src', 'web', 'local-run.js'))) {
  console.error('build-web: dist/src/web/local-run.js missing: run `npx tsc -p tsconfig.json` first');
  process.exit(1);
}
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'local', 'ort'), { recursive: true });
mkdirSync(join(tmp, 'models'));

// 1. The viewer. The static copy says so in a meta tag: app.js then opens no websocket and calls no /api.
for (const f of ['app.js', 'style.css']) cpSync(join(root, 'web', f), join(tmp, f));
const html = readFileSync(join(root, 'web', 'index.html'), 'utf8');
if (!html.includes('<meta charset="utf-8">')) throw new Error('build-web: web/index.html has no <meta charset="utf-8"> to anchor the mode tag');
writeFileSync(join(tmp, 'index.html'), html.replace('<meta charset="utf-8">', '<meta charset="utf-8">\n  <meta name="evstream-mode" content="static">'));

// 2. The bundle. Any Node built-in reached from the entry fails the build (browser-bundle.test.ts checks the same for the library entries).
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const refuseNode = {
  name: 'refuse-node',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => (a.path.startsWith('node:') || BUILTINS.has(a.path) ? { errors: [{ text: `Node built-in '${a.path}' imported by ${a.importer}` }] } : undefined));
  },
};
const r = await build({
  entryPoints: [join(dist, 'src', 'web', 'local-run.js')],
  outdir: join(tmp, 'local'),
  entryNames: 'local',
  chunkNames: '[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // the browser decoders (#codec-packages -> lz4js / fzstd), and ORT's build that loads its .wasm from wasmPaths
  conditions: ['browser', 'onnxruntime-web-use-extern-wasm'],
  plugins: [refuseNode],
  logLevel: 'warning',
  metafile: true,
});
const bundleBytes = Object.values(r.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
// The HDF5 worker (src/web/hdf5-worker.ts), its own bundle beside local.js (hdf5-client.ts starts it from
// there): h5wasm's ESM build, its wasm inlined in its JS, so the page fetches h5wasm only when an HDF5 file
// is opened. A worker cannot share the page's chunks: one self-contained file.
const w = await build({
  entryPoints: [join(dist, 'src', 'web', 'hdf5-worker.js')],
  outfile: join(tmp, 'local', 'hdf5-worker.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  sourcesContent: false, // h5wasm's source is its inlined wasm (4 MB of base64): the map would be 13 MB
  plugins: [refuseNode],
  logLevel: 'warning',
  metafile: true,
});
const workerBytes = Object.values(w.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
const ortDir = join(root, 'node_modules', 'onnxruntime-web', 'dist');
for (const f of ORT_FILES) cpSync(join(ortDir, f), join(tmp, 'local', 'ort', f));

// 3. The demo model, as the demo pipeline runs it (src/web/export-model.ts).
const { loadPipeline } = await import(pathToFileURL(join(dist, 'src', 'pipeline', 'config.js')).href);
const { exportWebModel } = await import(pathToFileURL(join(dist, 'src', 'web', 'export-model.js')).href);
const m = await exportWebModel(loadPipeline('demo'));
writeFileSync(join(tmp, 'models', m.manifest.onnx), m.onnx);
writeFileSync(join(tmp, 'models', 'demo.json'), JSON.stringify(m.manifest, null, 1) + '\n');

rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
console.log(`build-web: dist/web (bundle ${(bundleBytes / 1024).toFixed(0)} KiB, HDF5 worker ${(workerBytes / 1024).toFixed(0)} KiB, model ${(m.onnx.length / 1024).toFixed(0)} KiB, ${m.manifest.model.arch} T=${m.manifest.model.T})`);
