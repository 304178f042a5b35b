/**
 * The browser entries bundle without Node: `evstream/events` (its `browser` condition) and `evstream/framing`
 * are bundled with esbuild for platform=browser with no polyfills, and any Node built-in in the import graph
 * fails the build (a plugin refuses `node:*` and bare built-in names before esbuild's own resolution). The
 * bundle is then run in Node on a shared AEDAT 4 recording (LZ4 packets, so the pure-JS lz4js decodes them)
 * and must give the shared README's facts: count, ON / OFF, checksums and the 50 ms window counts (framed by
 * the bundled FrameBinner).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type * as EventsApi from '../src/events/browser.js';
import type * as FramingApi from '../src/framing/index.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every Node built-in the bundle would import, and fails its resolution. */
function refuseNode(seen: string[]): Plugin {
  return {
    name: 'refuse-node',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) {
          seen.push(`${args.path} (from ${args.importer})`);
          return { errors: [{ text: `Node built-in '${args.path}' in a browser bundle` }] };
        }
        return undefined;
      });
    },
  };
}

/** A throwaway project whose node_modules/evstream is this repository: imports go through package.json exports. */
function consumerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-browser-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(process.cwd(), join(dir, 'node_modules', 'evstream'), 'dir');
  return dir;
}

async function bundle(entry: string, dir: string): Promise<{ code: string; nodeImports: string[]; errors: string[] }> {
  const nodeImports: string[] = [];
  const r = await build({
    stdin: { contents: entry, resolveDir: dir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [refuseNode(nodeImports)],
  }).catch((e: { errors?: { text: string }[] }) => ({ outputFiles: [], errors: e.errors ?? [{ text: String(e) }] }));
  return { code: r.outputFiles[0]?.text ?? '', nodeImports, errors: r.errors.map((e) => e.text) };
}

test('the check itself: a Node-only entry (evstream/events without the browser condition) is refused', async () => {
  const dir = consumerDir();
  try {
    // Kills a plugin that lets built-ins through: the Node barrel reaches node:fs through readEventFile.
    const r = await bundle(`export * from ${JSON.stringify(join(process.cwd(), 'dist/src/events/index.js'))};`, dir);
    assert.ok(r.nodeImports.some((s) => s.startsWith('node:fs')), `expected node:fs among ${r.nodeImports.join(', ')}`);
    assert.ok(r.errors.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evstream/events and evstream/framing bundle for the browser and decode a shared AEDAT 4 file exactly', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4'), 'dvs-lz4-sample.aedat4') }, async () => {
  const dir = consumerDir();
  try {
    const r = await bundle("export * from 'evstream/events';\nexport { FrameBinner } from 'evstream/framing';\n", dir);
    assert.deepEqual(r.nodeImports, []);
    assert.deepEqual(r.errors, []);
    assert.ok(!/\bcreateRequire\b/.test(r.code), 'the Node codec loader (codec-packages.ts) is not in the browser bundle');
    console.log(`browser bundle: ${(r.code.length / 1024).toFixed(0)} KiB`);
    const file = join(dir, 'bundle.mjs');
    writeFileSync(file, r.code);
    const api = (await import(pathToFileURL(file).href)) as typeof EventsApi & Pick<typeof FramingApi, 'FrameBinner'>;

    const bytes = new Uint8Array(readFileSync(sharedRecording('dvs-lz4-sample.aedat4')!));
    const facts = RECORDING_FACTS.find((f) => f.file === 'dvs-lz4-sample.aedat4')!;
    let n = 0;
    let on = 0;
    let xyp = 0;
    let dt = 0;
    let t0 = NaN;
    // 50 ms windows from the first event, as the README defines them; the bundled binner does the binning.
    const binner = new api.FrameBinner({ windowUs: 50_000 });
    const windows: [number, number][] = [];
    const sink = (f: { counts: Float32Array; width: number; height: number }): void => {
      const plane = f.width * f.height;
      let son = 0;
      let soff = 0;
      for (let i = 0; i < plane; i++) {
        son += f.counts[i]!;
        soff += f.counts[plane + i]!;
      }
      windows.push([son, soff]);
    };
    const info = api.decodeEventBytes(bytes, (b) => {
      for (let i = 0; i < b.length; i++) {
        if (n === 0) t0 = b.t[i]!;
        n++;
        on += b.p[i]!;
        xyp = (xyp + b.x[i]! + 1000 * b.y[i]! + 1_000_000 * b.p[i]!) % 2 ** 32;
        dt = (dt + (b.t[i]! - t0)) % 2 ** 32;
      }
      binner.push(b, sink);
    });
    binner.flush(sink);
    assert.equal(info.format, 'aedat4');
    assert.equal(info.compression, 'lz4');
    assert.deepEqual([n, on, n - on, xyp, dt], [facts.events, facts.on, facts.off, facts.xyp, facts.dt]);
    assert.deepEqual(windows.slice(0, 5), facts.windows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
