/**
 * Issue 15's in-browser pipeline, end to end in real Chromium (playwright-core; skipped with a reason when
 * there is no Chromium or no shared recording): dist/web (scripts/build-web.mjs, rebuilt here first) is
 * served by a plain node:http static server (no evstream code behind it), a shared recording is set on the
 * page's file input, and the page alone decodes, bins and segments it on onnxruntime-web.
 *
 * Per recording (an AEDAT 4 with LZ4 packets, an AEDAT 2 with IMU words to skip): >= 20 frames segmented
 * (the page loops the recording like the demo pipeline; the AEDAT 4 holds 12 windows, so its 20 frames
 * span two passes) within a generous 60 s (measured 5-7 s; a loaded 2-core machine also starts Chromium
 * and compiles ORT's 15 MB wasm here), the overlay canvas changes, a spike-rate bar per layer, `document.body.dataset.backend`
 * says which backend ran, no request to /api or /ws and no websocket, no page error; screenshot in
 * test-artifacts/. A file of no known format is reported in the page, naming the file.
 *
 * Parity: the first T frames' logits computed in the page (the demo's sliding-window graph) equal those of
 * the Node engine (onnx createSession on the same checkpoint, horizon T: over the first T frames a sliding
 * window and one continuous session are the same computation) on frames binned in Node from the same
 * file (Node's own decoder: lz4-napi instead of the page's lz4js): same argmax on >= 99.9 % of pixels;
 * the max logit difference is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifactsDir, launchChromium, viewerPage } from './helpers/server-helpers.js';
import { chromiumPath, CHROMIUM_MISSING } from './helpers/chromium.js';
import { installCanvasHash, type CanvasHash } from './helpers/canvas-hash.js';
import { sharedRecording } from './helpers/shared.js';
import { serveStatic } from './helpers/static-server.js';
import { buildWebOnce, manifestModel, WEB_ROOT, pageParity, webManifest, type PageLocalState } from './helpers/browser-local.js';
import { applyOverrides, loadPipeline } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';

// page-side code below runs in the browser (no DOM lib in this tsconfig)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;

const chromium = chromiumPath();
const RECORDINGS = ['dvs-lz4-sample.aedat4', 'davis240-translboxes.aedat'];
const missing = RECORDINGS.filter((r) => !sharedRecording(r));
const WEB = WEB_ROOT;

test('static dist/web in Chromium: open a shared AEDAT 4 and AEDAT 2, segmented in the page (no server, no /api, no /ws), class maps = Node engine', { skip: !chromium ? CHROMIUM_MISSING : missing.length ? `shared recordings absent: ${missing.join(', ')}` : false, timeout: 240_000 }, async () => {
  buildWebOnce();
  const manifest = webManifest(WEB);
  const T = manifest.model.T;
  const { url, close } = await serveStatic(WEB);
  const browser = await launchChromium(chromium!);
  const model = await manifestModel(manifest);
  try {
    for (const name of RECORDINGS) {
      const file = sharedRecording(name)!;
      const { page, errors } = await viewerPage(browser);
      const requests: string[] = [];
      let sockets = 0;
      page.on('request', (r) => requests.push(new URL(r.url()).pathname));
      page.on('websocket', () => sockets++);
      await page.goto(url);
      await installCanvasHash(page);
      // the live controls do nothing before a recording is opened (no server to call)
      await page.click('#pause');
      await page.click('#reset');
      const t0 = Date.now();
      await page.setInputFiles('[data-testid="open-recording"]', file);
      // 60 s: see the module comment (a cold Chromium compiling ORT's wasm on a loaded machine)
      await page.waitForFunction(() => Number(document.body.dataset.framesProcessed ?? 0) >= 1, undefined, { timeout: 60_000 });
      const firstMs = Date.now() - t0;
      const o1: CanvasHash = await page.evaluate(() => window.canvasHash('overlay'));
      await page.waitForFunction(() => Number(document.body.dataset.framesProcessed) >= 20 || window.evstream.local?.error, undefined, { timeout: 60_000 });
      const st: PageLocalState = await page.evaluate(() => window.evstream.local);
      assert.equal(st.error, null);
      assert.ok(st.framesProcessed >= 20, `${name}: ${st.framesProcessed} frames`);
      const backend = await page.evaluate(() => document.body.dataset.backend);
      assert.ok(backend === 'wasm' || backend === 'webgpu', `backend ${backend}`);
      assert.equal(backend, st.backend);
      // the overlay is drawn and changes while the recording plays (the page polls its own canvas: no sleep)
      const changed = await page.waitForFunction((h0) => window.canvasHash('overlay').h !== h0, o1.h, { timeout: 10_000 }).then(
        () => true,
        () => false,
      );
      assert.ok(changed, `${name}: overlay changes`);
      const o2: CanvasHash = await page.evaluate(() => window.canvasHash('overlay'));
      assert.ok(o2.nonEmpty > o2.n * 0.5, `overlay drawn (${o2.nonEmpty}/${o2.n})`);
      const bars = await page.$$eval('.layer[data-layer]', (els) => els.map((e) => (e as any).dataset.layer));
      assert.deepEqual(bars, manifest.layers.map((l) => l.name));
      const widths = await page.$$eval('.layer .fill', (els) => els.map((e) => parseFloat((e as any).style.width)));
      assert.ok(widths.some((w) => w > 0), 'spike-rate bars show non-zero rates');
      const counters = await page.evaluate(() => [document.getElementById('fps').textContent, document.getElementById('step').textContent]);
      assert.ok(Number(counters[0]) > 0 && /^model \d/.test(counters[1]), `fps and model ms shown: ${counters.join(', ')}`);
      await page.screenshot({ path: join(artifactsDir(), `browser-local-${name}.png`) });
      const live = requests.filter((p) => p.startsWith('/api') || p.startsWith('/ws'));
      assert.deepEqual(live, [], 'no request to /api or /ws');
      assert.equal(sockets, 0, 'no websocket');
      assert.deepEqual(errors, []);

      // parity with the Node engine on the first T frames (after the page's reset at the start)
      assert.equal(st.first.length, T);
      const { share, maxDiff } = pageParity(st.first, file, manifest, model);
      console.log(`${name}: ${backend}, first frame ${firstMs} ms after setInputFiles, ${st.framesProcessed} frames (${st.pass} passes); parity over ${T} frames: argmax agreement ${(100 * share).toFixed(3)} %, max |logit diff| ${maxDiff.toExponential(2)}`);
      assert.ok(share >= 0.999, `argmax agreement ${share}`);
      await page.close();
    }
    // a file of no known format: the page says so, naming the file (EventFormatError), and does not crash
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.setInputFiles('[data-testid="open-recording"]', { name: 'junk.aedat4', mimeType: 'application/octet-stream', buffer: Buffer.from('not an event file') });
    await page.waitForFunction(() => window.evstream.local?.error, undefined, { timeout: 60_000 });
    const bad = await page.evaluate(() => ({ error: window.evstream.local.error as string, frames: window.evstream.local.framesProcessed as number, src: document.getElementById('src').dataset.state, text: document.getElementById('src').textContent }));
    assert.match(bad.error, /junk\.aedat4/);
    assert.deepEqual([bad.frames, bad.src], [0, 'error']);
    assert.match(bad.text, /junk\.aedat4/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    model.dispose();
    await browser.close();
    await close();
  }
});

test('live viewer (evstream run demo): Open recording closes the websocket and segments the file in the page', { skip: !chromium ? CHROMIUM_MISSING : missing.length ? `shared recordings absent: ${missing.join(', ')}` : false, timeout: 240_000 }, async () => {
  buildWebOnce();
  const run = await runPipeline(applyOverrides(loadPipeline('demo'), { port: 0 }), { log: () => {} });
  const browser = await launchChromium(chromium!);
  try {
    const { page, errors } = await viewerPage(browser);
    await page.goto(run.url!);
    // live first: frames arrive over the websocket
    await page.waitForFunction(() => window.evstream.framesReceived >= 2, undefined, { timeout: 30_000 });
    const after: string[] = [];
    let sockets = 0;
    page.on('request', (r) => after.push(new URL(r.url()).pathname));
    page.on('websocket', () => sockets++);
    const t0 = Date.now();
    await page.setInputFiles('[data-testid="open-recording"]', sharedRecording(RECORDINGS[0]!)!);
    // 90 s, not 60: the demo pipeline keeps running in this process (its model steps hold the event loop
    // the server sends ORT's 15 MB wasm from) and competes for the 2 cores (measured: 20 s here, 6 s static)
    await page.waitForFunction(() => Number(document.body.dataset.framesProcessed ?? 0) >= 20 || window.evstream.local?.error, undefined, { timeout: 90_000 });
    console.log(`live viewer: 20 frames segmented in the page ${Date.now() - t0} ms after setInputFiles`);
    const v = await page.evaluate(() => ({ mode: window.evstream.mode, error: window.evstream.local.error, backend: document.body.dataset.backend }));
    assert.deepEqual([v.mode, v.error], ['local', null]);
    assert.ok(v.backend === 'wasm' || v.backend === 'webgpu');
    // the page fetched the bundle, ORT and the model from the evstream server, and nothing live any more
    assert.ok(after.includes('/local/local.js') && after.includes('/models/demo.onnx'), after.join(' '));
    assert.deepEqual(after.filter((p) => p.startsWith('/api') || p.startsWith('/ws')), []);
    assert.equal(sockets, 0, 'no reconnection after opening a recording');
    assert.deepEqual(errors, []);
    await page.screenshot({ path: join(artifactsDir(), 'browser-local-live-viewer.png') });
  } finally {
    await browser.close();
    await run.stop();
  }
});
