/**
 * End-to-end in real Chromium with a Prophesee source: the bundled demo recording written as EVT 3.0 (by the
 * project's EVT 3 writer), run through the demo pipeline with `--source file.raw` and `fit: 'crop'`, shows a
 * moving overlay in the viewer. The bound on the first frames is generous (a loaded 2-core CI box starts a
 * browser, a model and a replay at once): it only catches a viewer that never starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline, applyOverrides, resolveIn } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';
import { readEventFile } from '../src/events/read-file.js';
import { Evt3Writer } from '../src/events/prophesee/evt3-writer.js';
import { chromiumPath, CHROMIUM_MISSING, launchChromium, viewerPage } from './helpers/server-helpers.js';
import { installCanvasHash } from './helpers/canvas-hash.js';

const chromium = chromiumPath();
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;

test('viewer in Chromium on a Prophesee EVT 3.0 source: frames flow and the overlay moves', { skip: chromium ? false : CHROMIUM_MISSING, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-e2e-evt3-'));
  const demo = loadPipeline('demo');
  const raw = join(dir, 'demo.raw');
  let writer: Evt3Writer | undefined;
  const info = await readEventFile(resolveIn(demo, (demo.source as { path: string }).path), async (b) => {
    writer ??= await Evt3Writer.open(raw, { width: b.width, height: b.height });
    await writer.write(b);
  });
  await writer!.close();
  assert.ok(writer!.eventCount > 100_000, `demo written as EVT 3 (${writer!.eventCount} events)`);

  const cfg = applyOverrides(demo, { source: raw, port: 0, fit: 'crop' });
  const log: string[] = [];
  const run = await runPipeline(cfg, { log: (l) => log.push(l) });
  const browser = await launchChromium(chromium!);
  try {
    const { page, errors } = await viewerPage(browser);
    await page.goto(run.url!);
    await page.waitForFunction(() => window.evstream.framesReceived >= 10, undefined, { timeout: 60_000 });
    // the overlay's hash is defined once in the page and polled there (no fixed sleeps)
    await installCanvasHash(page);
    const first: number = await page.evaluate(() => window.canvasHash('overlay').h);
    // the overlay changes as the scene moves
    await page.waitForFunction((h0) => window.canvasHash('overlay').h !== h0, first, { timeout: 30_000, polling: 100 });
    const status = run.pipeline.status();
    assert.equal(status.framing.size.join('x'), '64x64');
    assert.equal(cfg.framing.fit, 'crop');
    assert.ok(status.frames.processed >= 10);
    assert.deepEqual(errors, []);
    assert.ok(log.some((l) => l.includes('demo.raw')), `the log names the EVT 3 source:\n${log.join('\n')}`);
    assert.equal(info.format, 'aedat4');
  } finally {
    await browser.close();
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
