/**
 * End-to-end in real Chromium (playwright-core driving /usr/bin/chromium; skipped with a reason when there
 * is no Chromium): the shipped demo pipeline -> fastify/ws -> the viewer page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPipeline, applyOverrides } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';
import { artifactsDir, chromiumPath, CHROMIUM_ARGS } from './server-helpers.js';

const chromium = chromiumPath();

// page-side code below runs in the browser (no DOM lib in this tsconfig)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;

interface ViewState {
  connection: string;
  source: string;
  framesReceived: number;
  lastSeq: number;
  lastStepT: number;
  paused: boolean;
  layerNames: string[];
}

test('viewer in Chromium: live frames, overlay, spike-rate bars, pause and reset', { skip: chromium ? false : 'Chromium not installed (apt-get install chromium); CI installs it', timeout: 90_000 }, async () => {
  const { chromium: pw } = await import('playwright-core');
  const cfg = applyOverrides(loadPipeline('demo'), { port: 0 });
  const run = await runPipeline(cfg);
  const browser = await pw.launch({ executablePath: chromium, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const view = () => page.evaluate(() => (window.evstream as ViewState));
    const t0 = Date.now();
    await page.goto(run.url!);
    // acceptance: moving events and an overlay within 3 s of opening the page
    await page.waitForFunction(() => (window.evstream as ViewState).framesReceived >= 2, undefined, { timeout: 3000 });
    const firstMs = Date.now() - t0;
    await page.waitForFunction(() => (window.evstream as ViewState).framesReceived >= 20, undefined, { timeout: 15_000 });
    let v = await view();
    assert.equal(v.connection, 'connected');

    const canvasHash = (id: string) =>
      page.evaluate((cid) => {
        const c = document.getElementById(cid);
        const d: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let h = 0;
        let nonEmpty = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3]! > 0 && d[i]! + d[i + 1]! + d[i + 2]! > 0) nonEmpty++;
          h = (h * 31 + d[i]! * 7 + d[i + 1]! * 3 + d[i + 2]!) >>> 0;
        }
        return { h, nonEmpty, n: d.length / 4 };
      }, id);
    const o1 = await canvasHash('overlay');
    assert.ok(o1.nonEmpty > o1.n * 0.5, `overlay canvas is drawn (${o1.nonEmpty}/${o1.n} pixels)`);
    const e1 = await canvasHash('events');
    let changed = false;
    for (let i = 0; i < 40 && !changed; i++) {
      await page.waitForTimeout(100);
      changed = (await canvasHash('overlay')).h !== o1.h;
    }
    assert.ok(changed, 'overlay changes over time');
    assert.notEqual((await canvasHash('events')).h, e1.h, 'event frame changes');

    // one spike-rate bar per spiking layer of the model
    const bars = await page.$$eval('.layer[data-layer]', (els) => els.map((e) => (e as any).dataset.layer));
    assert.deepEqual(bars, run.pipeline.model.info.layers.map((l) => l.name));
    const widths = await page.$$eval('.layer .fill', (els) => els.map((e) => parseFloat((e as any).style.width)));
    assert.ok(widths.some((w) => w > 0), 'bars show non-zero rates');
    assert.equal(await page.locator('#legend li').count(), 6);
    // the shipped demo model is trained: no 'untrained' badge (the badge itself is covered in server-api tests)
    assert.equal(await page.locator('#untrained').isVisible(), false);

    // pause: frames stop (the source stands still); resume: they flow again
    await page.click('#pause');
    await page.waitForFunction(() => (window.evstream as ViewState).paused === true);
    await page.waitForTimeout(300);
    const nPaused = (await view()).framesReceived;
    await page.waitForTimeout(700);
    assert.ok((await view()).framesReceived - nPaused <= 1, 'no frames while paused');
    assert.equal(await page.locator('#pausedTag').isVisible(), true);
    await page.screenshot({ path: join(artifactsDir(), 'viewer-paused.png') });
    await page.click('#pause');
    await page.waitForFunction((n) => (window.evstream as ViewState).framesReceived > n + 3, nPaused, { timeout: 5000 });

    // reset state: the session's step counter starts over
    await page.waitForFunction(() => (window.evstream as ViewState).lastStepT > 20, undefined, { timeout: 10_000 });
    const before = (await view()).lastStepT;
    await page.click('#reset');
    await page.waitForFunction((b) => (window.evstream as ViewState).lastStepT < b - 10, before, { timeout: 5000 });
    assert.equal(run.pipeline.status().resets, 1);

    v = await view();
    assert.ok(v.framesReceived >= 20);
    await page.screenshot({ path: join(artifactsDir(), 'viewer.png') });
    assert.deepEqual(errors, []);
    process.stderr.write(`# e2e viewer: first frames ${firstMs} ms after navigation, ${v.framesReceived} frames, status ${JSON.stringify(run.pipeline.status().latency)}\n`);
  } finally {
    await browser.close();
    await run.stop();
  }
});
