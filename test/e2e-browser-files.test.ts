/**
 * Issue 15's in-browser pipeline on more inputs, in real Chromium (playwright-core), on the static dist/web
 * served by a plain node:http server (see e2e-browser-local.test.ts for the AEDAT 4 / AEDAT 2 runs):
 *
 * 1. One page, served cross-origin isolated (COOP + COEP: onnxruntime-web then runs min(4, cores) wasm
 *    threads, shown in the backend label), the other byte-stream formats, each reopening ending the previous file's run: Prophesee
 *    EVT 3 dropped on the canvas (drag and drop, a DataTransfer holding a File), then EVT 2, AEDAT 3.1 and DAT
 *    through the file input. For each, the page's first frames (up to T) equal the Node engine on the same
 *    frames binned in Node (helpers/browser-local.ts pageParity), and no page error.
 * 2. A 100 MB recording (an uncompressed AEDAT 4 written here by the project's writer, 6.5 M events, about
 *    130 windows) is read as a stream, never as one buffer: after 20 frames the page has read well under
 *    half of the file (`document.body.dataset.bytesRead`); from frame 20 to frame 110 it reads more than
 *    50 MB more while the renderer's memory (garbage collected before each reading, through CDP) grows by
 *    less than 40 MB. A page that buffered the file, or kept its chunks, fails one of the two.
 * 3. WebGPU: Chromium started with its software adapter (SwiftShader, `--use-webgpu-adapter=swiftshader`)
 *    offers `navigator.gpu`; the page then runs the model on onnxruntime-web's WebGPU backend, and its first
 *    T frames agree with the Node engine (argmax >= 99.9 %; the logits differ by float rounding only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, viewerPage } from './helpers/server-helpers.js';
import { chromiumPath, CHROMIUM_MISSING } from './helpers/chromium.js';
import { sharedRecording } from './helpers/shared.js';
import { serveStatic } from './helpers/static-server.js';
import { buildWebOnce, manifestModel, pageParity, WEB_ROOT, webManifest, type PageLocalState } from './helpers/browser-local.js';
import { Aedat4Writer } from '../src/events/aedat4/writer.js';
import type { EventBatch } from '../src/events/types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
declare const DataTransfer: any;
declare const File: any;
declare const navigator: any;

const chromium = chromiumPath();
const DROPPED = 'prophesee/evt3-pedestrians.raw';
const OPENED = ['prophesee/evt2-sparklers.raw', 'davis240-translboxes.aedat3', 'prophesee/ncars-car.dat'];
const missing = [DROPPED, ...OPENED].filter((r) => !sharedRecording(r));

/**
 * Wait until the page's run of `name` kept its first frames (a whole pass, or T frames) or failed. The bound
 * is generous on purpose (a behaviour check, not a speed goal): WebGPU here is SwiftShader, a CPU emulation
 * that took ~40 s for its first T frames on a quiet 2-core box and over 60 s with the CI's other tests and
 * two more jobs on the cores; 180 s leaves room for a loaded CI machine.
 */
async function firstFramesOf(page: Page, name: string, T: number): Promise<PageLocalState> {
  await page.waitForFunction(
    ({ n, t }) => {
      const l = window.evstream.local;
      return l && l.file === n && (l.error || (l.framesProcessed >= 1 && (l.pass >= 2 || l.ended || l.first.length >= t)));
    },
    { n: name, t: T },
    { timeout: 180_000 },
  );
  return page.evaluate(() => window.evstream.local);
}

test('static page in Chromium: EVT 3 dropped on the canvas, then EVT 2, AEDAT 3.1 and DAT opened in turn, each = Node engine', { skip: !chromium ? CHROMIUM_MISSING : missing.length ? `shared recordings absent: ${missing.join(', ')}` : false, timeout: 480_000 }, async () => {
  buildWebOnce();
  const manifest = webManifest(WEB_ROOT);
  const T = manifest.model.T;
  const model = await manifestModel(manifest);
  // served cross-origin isolated (COOP + COEP, as `evstream run` serves the viewer): ORT may use wasm threads
  const { url, close } = await serveStatic(WEB_ROOT, { isolated: true });
  const browser = await launchChromium(chromium!);
  try {
    const { page, errors } = await viewerPage(browser);
    await page.goto(`${url}?speed=0`);
    const env = await page.evaluate(() => ({ isolated: window.crossOriginIsolated as boolean, cores: navigator.hardwareConcurrency as number }));
    assert.equal(env.isolated, true, 'COOP + COEP make the page cross-origin isolated');
    const check = async (rel: string): Promise<void> => {
      const file = sharedRecording(rel)!;
      const st = await firstFramesOf(page, basename(file), T);
      assert.equal(st.error, null, `${rel}: ${st.error}`);
      // isolated: the page asks for min(4, cores) wasm threads (local-run.ts configure) and says so
      const threads = Number(await page.evaluate(() => document.body.dataset.threads));
      assert.equal(threads, Math.min(4, env.cores));
      if (threads > 1) assert.match((await page.textContent('#backend')) ?? '', new RegExp(`\\(${threads} threads\\)`));
      const p = pageParity(st.first, file, manifest, model);
      console.log(`${rel}: ${threads} wasm threads, ${p.frames} frames compared, argmax agreement ${(100 * p.share).toFixed(3)} %, max |logit diff| ${p.maxDiff.toExponential(2)}`);
      assert.ok(p.share >= 0.999, `${rel}: argmax agreement ${p.share}`);
    };

    // drag and drop: the bytes go into the page as a File in a DataTransfer, dropped on the canvas
    const dropped = sharedRecording(DROPPED)!;
    const dt = await page.evaluateHandle(
      ({ b64, name }) => {
        const bin = atob(b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const d = new DataTransfer();
        d.items.add(new File([bytes], name));
        return d;
      },
      { b64: readFileSync(dropped).toString('base64'), name: basename(dropped) },
    );
    await page.dispatchEvent('#canvasWrap', 'dragover', { dataTransfer: dt });
    assert.ok(await page.$eval('#canvasWrap', (e) => e.classList.contains('drop')), 'dragover marks the drop zone');
    await page.dispatchEvent('#canvasWrap', 'drop', { dataTransfer: dt });
    await check(DROPPED);
    assert.ok(!(await page.$eval('#canvasWrap', (e) => e.classList.contains('drop'))), 'the drop zone mark is cleared');

    for (const rel of OPENED) {
      await page.setInputFiles('[data-testid="open-recording"]', sharedRecording(rel)!);
      await check(rel);
    }
    assert.deepEqual(errors, []);
  } finally {
    model.dispose();
    await browser.close();
    await close();
  }
});

/** A moving bar over a DAVIS346 sensor: `events` events, 1 µs apart, in batches of 100 k. */
function* barEvents(events: number): Generator<EventBatch> {
  const W = 346;
  const H = 260;
  const n = 100_000;
  for (let start = 0; start < events; start += n) {
    const len = Math.min(n, events - start);
    const t = new Float64Array(len);
    const x = new Uint16Array(len);
    const y = new Uint16Array(len);
    const p = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const k = start + i;
      t[i] = k;
      x[i] = (Math.floor(k / 20_000) + (k % 7)) % W; // the bar moves one column per 20 ms
      y[i] = (k * 13) % H;
      p[i] = k & 1;
    }
    yield { t, x, y, p, length: len, width: W, height: H };
  }
}

/** Sum of the renderers' resident memory (MiB), after a garbage collection in every page. */
async function rendererRssMiB(browser: Browser, page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.detach();
  const b = await browser.newBrowserCDPSession();
  const info = (await b.send('SystemInfo.getProcessInfo')) as { processInfo: { id: number; type: string }[] };
  await b.detach();
  let kib = 0;
  for (const pr of info.processInfo.filter((q) => q.type === 'renderer')) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pr.id}/status`, 'utf8'));
    if (m) kib += Number(m[1]);
  }
  return kib / 1024;
}

test('static page in Chromium: a 100 MB recording is read as a stream (bytes read and renderer memory bounded)', { skip: !chromium ? CHROMIUM_MISSING : false, timeout: 240_000 }, async () => {
  buildWebOnce();
  const dir = mkdtempSync(join(tmpdir(), 'evstream-big-'));
  const big = join(dir, 'big-100mb.aedat4');
  const { url, close } = await serveStatic(WEB_ROOT);
  let browser: Browser | undefined;
  try {
    const w = await Aedat4Writer.open(big, { width: 346, height: 260, compression: 'none' });
    for (const b of barEvents(6_500_000)) await w.write(b);
    await w.close();
    const size = statSync(big).size;
    assert.ok(size >= 100e6, `the recording is ${size} bytes`);
    browser = await launchChromium(chromium!);
    const { page, errors } = await viewerPage(browser);
    await page.goto(`${url}?speed=0`);
    await page.setInputFiles('[data-testid="open-recording"]', big);
    const at = async (frames: number): Promise<{ bytes: number; rss: number }> => {
      await page.waitForFunction((n) => Number(document.body.dataset.framesProcessed ?? 0) >= n || window.evstream.local?.error, frames, { timeout: 120_000 });
      await page.click('#pause'); // the viewer's pause button: the page reads no more while measured
      const paused = Number(await page.evaluate(() => document.body.dataset.framesProcessed));
      const bytes = Number(await page.evaluate(() => document.body.dataset.bytesRead));
      const rss = await rendererRssMiB(browser!, page);
      // paused: at most the frame already in the model finishes while the memory is read
      assert.ok(Number(await page.evaluate(() => document.body.dataset.framesProcessed)) <= paused + 1, 'pause stops the local run');
      assert.equal(await page.evaluate(() => window.evstream.local.paused), true);
      await page.click('#pause');
      return { bytes, rss };
    };
    const a = await at(20);
    const b = await at(110);
    const st = await page.evaluate(() => window.evstream.local);
    console.log(`100 MB AEDAT 4 (${size} bytes) in the page: frame 20 after ${(a.bytes / 2 ** 20).toFixed(1)} MiB read, renderer RSS ${a.rss.toFixed(0)} MiB; frame 110 after ${(b.bytes / 2 ** 20).toFixed(1)} MiB read, RSS ${b.rss.toFixed(0)} MiB (growth ${(b.rss - a.rss).toFixed(1)} MiB)`);
    assert.equal(st.error, null);
    assert.ok(a.bytes > 0 && a.bytes < size / 2, `after 20 frames ${a.bytes} of ${size} bytes read`);
    assert.ok(b.bytes - a.bytes > 50e6, `frames 20 to 110 read ${b.bytes - a.bytes} bytes`);
    assert.ok(b.rss - a.rss < 40, `renderer memory grew ${(b.rss - a.rss).toFixed(1)} MiB while ${((b.bytes - a.bytes) / 2 ** 20).toFixed(0)} MiB were read`);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Chromium's software WebGPU adapter (SwiftShader): a real `navigator.gpu` adapter on a machine with no GPU. */
const SOFTWARE_WEBGPU = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

test('WebGPU: with an adapter offered (Chromium SwiftShader), the page runs the model on onnxruntime-web WebGPU, same class maps as the Node engine', { skip: !chromium ? CHROMIUM_MISSING : !sharedRecording(OPENED[1]!) ? `shared recording absent: ${OPENED[1]}` : false, timeout: 360_000 }, async () => {
  buildWebOnce();
  const manifest = webManifest(WEB_ROOT);
  const model = await manifestModel(manifest);
  const { url, close } = await serveStatic(WEB_ROOT);
  const browser = await launchChromium(chromium!, SOFTWARE_WEBGPU);
  try {
    const { page, errors } = await viewerPage(browser);
    await page.goto(`${url}?speed=0`);
    const adapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
    assert.equal(adapter, true, 'SwiftShader offers a WebGPU adapter');
    const file = sharedRecording(OPENED[1]!)!;
    await page.setInputFiles('[data-testid="open-recording"]', file);
    // software WebGPU is slow (shaders run on the CPU): the first frames take seconds each
    const st = await firstFramesOf(page, basename(file), manifest.model.T);
    assert.equal(st.error, null);
    assert.equal(st.backend, 'webgpu', 'the page picked WebGPU when the browser offered an adapter');
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'webgpu');
    const p = pageParity(st.first, file, manifest, model);
    console.log(`WebGPU (SwiftShader): ${p.frames} frames, argmax agreement ${(100 * p.share).toFixed(3)} %, max |logit diff| ${p.maxDiff.toExponential(2)}`);
    assert.ok(p.share >= 0.999, `argmax agreement ${p.share}`);
    assert.deepEqual(errors, []);
  } finally {
    model.dispose();
    await browser.close();
    await close();
  }
});
