/**
 * Live path end to end: replay-server (DV TCP) -> `run live-davis` pipeline -> viewer in Chromium.
 * Killing the replay server shows "reconnecting"; starting it again recovers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { loadPipeline, applyOverrides } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';
import { artifactsDir, chromiumPath, CHROMIUM_ARGS, ROOT, waitFor } from './helpers/server-helpers.js';

const chromium = chromiumPath();
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const RECORDING = join(ROOT, 'recordings', 'demo.aedat4');

test('live path: replay-server -> run live-davis -> browser; replay-server killed -> reconnecting -> recovers', { skip: chromium ? false : 'Chromium not installed (apt-get install chromium); CI installs it', timeout: 90_000 }, async () => {
  const { chromium: pw } = await import('playwright-core');
  let replay = await startReplayServer(RECORDING, { port: 0, speed: 1, loop: true });
  const port = replay.port;
  const cfg = applyOverrides(loadPipeline('live-davis'), { source: `tcp://127.0.0.1:${port}`, port: 0 });
  const run = await runPipeline(cfg);
  const browser = await pw.launch({ executablePath: chromium, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(run.url!);
    await page.waitForFunction(() => window.evstream.framesReceived >= 10, undefined, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.evstream.source), 'connected');

    // camera gone: the viewer shows the source reconnecting, the page stays connected to the server
    await replay.close();
    await page.waitForFunction(() => window.evstream.source === 'reconnecting', undefined, { timeout: 10_000 });
    assert.match((await page.locator('#src').textContent()) ?? '', /reconnecting/);
    assert.equal(await page.evaluate(() => window.evstream.connection), 'connected');
    await page.screenshot({ path: join(artifactsDir(), 'viewer-reconnecting.png') });

    // camera back on the same port: frames flow again
    replay = await startReplayServer(RECORDING, { port, speed: 1, loop: true });
    const n = await page.evaluate(() => window.evstream.framesReceived as number);
    await page.waitForFunction(() => window.evstream.source === 'connected', undefined, { timeout: 15_000 });
    await page.waitForFunction((k: number) => window.evstream.framesReceived >= k + 10, n, { timeout: 15_000 });
    await waitFor(() => run.pipeline.status().source.state === 'connected', 2000, 'pipeline reconnected');
    // the restarted stream begins at t = 0 again: removed as a time jump, not dropped as late events
    assert.ok(run.pipeline.status().frames.timeRebases >= 1);
  } finally {
    await browser.close();
    await run.stop();
    await replay.close();
  }
});
