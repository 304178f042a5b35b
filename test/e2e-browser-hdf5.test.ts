/**
 * Issue 15, HDF5 in the page, end to end in real Chromium (playwright-core; skipped with a reason when there
 * is no Chromium or no shared recording): dist/web (rebuilt here first) served by a plain static server.
 *
 * The events of a shared AEDAT 4 recording (decoded in Node) are written as an HDF5 event file with the
 * project's writer (DSEC layout: `events/x|y|t|p`, t relative to a root `t_offset`, gzip chunks, so the
 * page exercises t_offset and HDF5's deflate filter). Opened in the page through the file input, it is read
 * by h5wasm in a Web Worker (WORKERFS on the File): >= 20 frames segmented, no page error, and the first T
 * frames' logits equal, value for value, those the page computes from the original AEDAT 4 (same events,
 * same windows, same model on the same backend: any difference in the events, their times or the windows
 * would show). The AEDAT 4 run fetches no hdf5-worker.js (h5wasm loads only for an HDF5 file); the HDF5
 * run fetches it once for its two loop passes (a clean worker is reused), and after the truncated file
 * (an HDF5 error: that worker is ended) the DDD17 file gets a fresh one.
 *
 * A bad file: the same HDF5 file cut in half (HDF5 refuses to open a truncated file) stops with an error in
 * the page that names the file, no frame, no page error.
 *
 * DDD17: the shared DDD17 recording (`dvs/data` rows of cAER packets, read by ddd17-layout.ts in the
 * worker) is segmented in the page, >= 20 frames (it loops), and its first T frames have the same windows
 * and, value for value, the same logits as the page's run of the shared AEDAT 2 file, which holds the very
 * same 162771 events (shared README); they are also checked against the Node onnx engine on the AEDAT 2
 * frames binned in Node (pageParity: argmax agreement >= 99.9 %).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { artifactsDir, launchChromium, viewerPage } from './helpers/server-helpers.js';
import { chromiumPath, CHROMIUM_MISSING } from './helpers/chromium.js';
import { sharedRecording } from './helpers/shared.js';
import { serveStatic } from './helpers/static-server.js';
import { manifestModel, pageParity, webManifest } from './helpers/browser-local.js';
import { decodeEventBytes, type EventBatch } from '../src/events/index.js';
import { writeHdf5Events } from '../src/events/hdf5-events-writer.js';

// page-side code below runs in the browser (no DOM lib in this tsconfig)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;

const chromium = chromiumPath();
const SOURCE = 'dvs-lz4-sample.aedat4';
const DDD17 = 'davis240-translboxes.ddd17.hdf5';
/** The same events as the DDD17 file, as AEDAT 2 (shared README). */
const AEDAT2 = 'davis240-translboxes.aedat';
const missing = [SOURCE, DDD17, AEDAT2].filter((r) => !sharedRecording(r));
const WEB = join(process.cwd(), 'dist', 'web');

interface LocalState {
  file: string;
  framesProcessed: number;
  pass: number;
  first: { index: number; t0: number; logits: number[] }[];
  error: string | null;
}

test('static dist/web in Chromium: an HDF5 event file (DSEC layout, gzip) and a DDD17 recording are segmented in the page with the same logits as the same events in AEDAT 4 / AEDAT 2; a corrupt HDF5 file is reported naming the file', { skip: !chromium ? CHROMIUM_MISSING : missing.length ? `shared recordings absent: ${missing.join(', ')}` : false, timeout: 180_000 }, async () => {
  execFileSync(process.execPath, [join('scripts', 'build-web.mjs')], { stdio: 'inherit' });
  const manifest = webManifest(WEB);
  const T = manifest.model.T;
  const source = sharedRecording(SOURCE)!;
  const dir = mkdtempSync(join(tmpdir(), 'evstream-h5web-'));
  const h5 = join(dir, 'dvs-lz4-sample.h5');
  const batches: EventBatch[] = [];
  decodeEventBytes(new Uint8Array(readFileSync(source)), (b) => batches.push(b), { source });
  const written = await writeHdf5Events(h5, batches, { layout: 'dsec', gzip: 1, chunkEvents: 1 << 14 });
  assert.equal(written, batches.reduce((s, b) => s + b.length, 0));
  const bytes = readFileSync(h5);
  const broken = join(dir, 'broken-half.h5');
  writeFileSync(broken, bytes.subarray(0, bytes.length >> 1));

  const { url, close } = await serveStatic(WEB);
  const browser = await launchChromium(chromium!);
  // One page opens the four files in turn, as a user would (each open stops the previous run and starts a
  // fresh LocalRun from reset; ORT and h5wasm load once): a third of the time of four pages on 2 cores.
  const { page, errors } = await viewerPage(browser);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${url}?speed=0`);
  /** Open `file` in the page; wait until its run has `frames` frames or an error. */
  const open = async (file: string, frames: number): Promise<{ st: LocalState; src: { state: string; text: string }; ms: number }> => {
    const a = Date.now();
    await page.setInputFiles('[data-testid="open-recording"]', file);
    const name = basename(file);
    await page.waitForFunction(([f, n]) => window.evstream.local?.file === f && (window.evstream.local.framesProcessed >= n || window.evstream.local.error), [name, frames] as const, { timeout: 60_000 });
    const st: LocalState = await page.evaluate(() => window.evstream.local);
    const src = await page.evaluate(() => ({ state: document.getElementById('src').dataset.state, text: document.getElementById('src').textContent }));
    return { st, src, ms: Date.now() - a };
  };
  try {
    const ref = await open(source, T);
    assert.equal(ref.st.error, null);
    assert.ok(!requests.some((p) => p.endsWith('/hdf5-worker.js')), 'an AEDAT 4 file loads no HDF5 worker');

    const got = await open(h5, 20);
    console.log(`HDF5 in the page: ${got.st.framesProcessed} frames (${got.st.pass} passes) in ${got.ms} ms (the AEDAT 4's first ${T}: ${ref.ms} ms, loading ORT)`);
    assert.equal(got.st.error, null);
    assert.ok(got.st.framesProcessed >= 20, `${got.st.framesProcessed} frames`);
    // the page reopens the file on each loop pass: the clean worker is reused (fetched once for both passes)
    const workers = (): number => requests.filter((p) => p === '/local/hdf5-worker.js').length;
    assert.ok(got.st.pass >= 2, `${got.st.pass} passes`);
    assert.equal(workers(), 1, requests.join(' '));
    assert.deepEqual(errors, []);
    await page.screenshot({ path: join(artifactsDir(), 'browser-local-hdf5.png') });
    // the first T frames: same windows and the same logits as the original recording's
    assert.equal(got.st.first.length, T);
    assert.deepEqual(got.st.first.map((f) => [f.index, f.t0]), ref.st.first.map((f) => [f.index, f.t0]));
    const maxDiff = (a: LocalState, b: LocalState): number => {
      let d = 0;
      for (let k = 0; k < T; k++) {
        const x = a.first[k]!.logits;
        const y = b.first[k]!.logits;
        assert.equal(x.length, y.length);
        for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
      }
      return d;
    };
    const d4 = maxDiff(got.st, ref.st);
    console.log(`HDF5 vs AEDAT 4 in the page, first ${T} frames: max |logit diff| ${d4}`);
    assert.equal(d4, 0);

    const bad = await open(broken, 1);
    console.log(`${basename(broken)} (${bad.ms} ms): ${bad.st.error}`);
    assert.ok(bad.st.error, `${basename(broken)}: an error`);
    assert.ok(bad.st.error.includes(basename(broken)), `the error names the file: ${bad.st.error}`);
    assert.deepEqual([bad.st.framesProcessed, bad.src.state], [0, 'error']);
    assert.ok(bad.src.text.includes(basename(broken)), bad.src.text);

    // DDD17: the same events as the AEDAT 2 file, so the same windows and logits
    const aedat2 = sharedRecording(AEDAT2)!;
    const ref2 = await open(aedat2, T);
    assert.equal(ref2.st.error, null);
    const dd = await open(sharedRecording(DDD17)!, 20);
    console.log(`DDD17 in the page: ${dd.st.framesProcessed} frames in ${dd.ms} ms`);
    assert.equal(dd.st.error, null);
    assert.ok(dd.st.framesProcessed >= 20, `${dd.st.framesProcessed} frames`);
    // one pass is ~42 windows of 50 ms: wait for the loop to reopen the file (the clean worker is reused)
    await page.waitForFunction(() => window.evstream.local.pass >= 2 || window.evstream.local.error, undefined, { timeout: 60_000 });
    const looped: LocalState = await page.evaluate(() => window.evstream.local);
    assert.equal(looped.error, null);
    console.log(`DDD17 looped: ${looped.framesProcessed} frames (${looped.pass} passes)`);
    await page.screenshot({ path: join(artifactsDir(), 'browser-local-ddd17.png') });
    assert.equal(dd.st.first.length, T);
    assert.deepEqual(dd.st.first.map((f) => [f.index, f.t0]), ref2.st.first.map((f) => [f.index, f.t0]));
    const d2 = maxDiff(dd.st, ref2.st);
    const { share, maxDiff: dNode } = pageParity(dd.st.first, aedat2, manifest, await manifestModel(manifest));
    console.log(`DDD17 vs AEDAT 2 in the page, first ${T} frames: max |logit diff| ${d2}; vs the Node onnx engine: argmax agreement ${(100 * share).toFixed(3)} %, max |logit diff| ${dNode.toExponential(2)}`);
    assert.equal(d2, 0);
    assert.ok(share >= 0.999, `argmax agreement ${share}`);
    // the truncated file tainted the reused worker (HDF5 error): it was ended and the DDD17 file got a fresh one, reused across its loop passes
    assert.equal(workers(), 2, requests.join(' '));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
});
