/**
 * End-to-end in real Chromium (playwright-core driving /usr/bin/chromium; skipped with a reason when there
 * is no Chromium): the shipped demo pipeline -> fastify/ws -> the viewer page. The same browser then plays
 * attacker: a page from another origin and a DNS-rebinding page (evil.example mapped to 127.0.0.1 by
 * Chromium's resolver rules) must neither read nor control the pipeline, while the viewer keeps working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { loadPipeline, applyOverrides } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';
import { artifactsDir, chromiumPath, launchChromium, viewerPage } from './helpers/server-helpers.js';
import { installCanvasHash, type CanvasHash } from './helpers/canvas-hash.js';

const chromium = chromiumPath();

// page-side code below runs in the browser (no DOM lib in this tsconfig)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;

interface ViewState {
  connection: string;
  source: string;
  framesReceived: number;
  lastSeq: number;
  lastStepT: number;
  paused: boolean;
  layerNames: string[];
}

/** The attacker's page: opens the viewer's websocket, reads its status, posts a pause (no-cors, like a form). */
function evilPage(viewerPort: number): string {
  const base = `127.0.0.1:${viewerPort}`;
  return `<!doctype html><meta charset="utf-8"><title>evil</title><script>
const r = (window.result = { wsOpen: false, wsMessages: 0, wsError: false, wsClosed: false, status: 'pending', post: 'pending' });
const ws = new WebSocket('ws://${base}/ws');
ws.onopen = () => { r.wsOpen = true; ws.send(JSON.stringify({ type: 'control', action: 'pause' })); };
ws.onmessage = () => { r.wsMessages++; };
ws.onerror = () => { r.wsError = true; };
ws.onclose = () => { r.wsClosed = true; };
fetch('http://${base}/api/status').then((x) => (r.status = 'read ' + x.status), () => (r.status = 'failed'));
fetch('http://${base}/api/control', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"action":"pause"}' })
  .then(() => (r.post = 'sent'), () => (r.post = 'failed'));
</script>`;
}

test('viewer in Chromium: live frames, overlay, spike-rate bars, pause and reset; other origins and rebinding refused', { skip: chromium ? false : 'Chromium not installed (apt-get install chromium); CI installs it', timeout: 120_000 }, async () => {
  // viewer.lan: a LAN name the user allowed (--allow-host), as a DNS name for this machine
  const cfg = applyOverrides(loadPipeline('demo'), { port: 0, allowHosts: ['viewer.lan'] });
  const log: string[] = [];
  const run = await runPipeline(cfg, { log: (l) => log.push(l) });
  // evil.example resolves to this machine, as after a DNS rebinding
  const browser = await launchChromium(chromium!, ['--host-resolver-rules=MAP evil.example 127.0.0.1, MAP viewer.lan 127.0.0.1']);
  let evil: Server | undefined;
  try {
    const { page, errors } = await viewerPage(browser);
    const view = () => page.evaluate(() => (window.evstream as ViewState));
    const t0 = Date.now();
    await page.goto(run.url!);
    // The product goal is moving events and an overlay within 3 s of opening the page; firstMs is printed
    // below. The bound asserted here is deliberately generous (20 s): it catches a viewer that never starts,
    // not a slow or loaded machine (Chromium start-up alone takes seconds on a busy 2-core CI box).
    await page.waitForFunction(() => (window.evstream as ViewState).framesReceived >= 2, undefined, { timeout: 20_000 });
    const firstMs = Date.now() - t0;
    await page.waitForFunction(() => (window.evstream as ViewState).framesReceived >= 20, undefined, { timeout: 15_000 });
    let v = await view();
    assert.equal(v.connection, 'connected');

    await installCanvasHash(page);
    const canvasHash = (id: string): Promise<CanvasHash> => page.evaluate((cid) => window.canvasHash(cid), id);
    const o1 = await canvasHash('overlay');
    assert.ok(o1.nonEmpty > o1.n * 0.5, `overlay canvas is drawn (${o1.nonEmpty}/${o1.n} pixels)`);
    const e1 = await canvasHash('events');
    // the page polls its own canvas (every animation frame) until the overlay differs: no sleep here
    const changed = await page
      .waitForFunction(
        (h0) => window.canvasHash('overlay').h !== h0,
        o1.h,
        { timeout: 10_000 },
      )
      .then(
        () => true,
        () => false,
      );
    assert.ok(changed, 'overlay changes over time');
    // o1 and e1 are read by two evaluate calls, so a frame can land between them (e1 then belongs to the
    // frame after o1's, and the first overlay change leaves the events canvas at e1): wait for the event
    // frame to change the same way (read at once, it failed once in CI at load 10)
    const eventsChanged = await page
      .waitForFunction((h0) => window.canvasHash('events').h !== h0, e1.h, { timeout: 10_000 })
      .then(
        () => true,
        () => false,
      );
    assert.ok(eventsChanged, 'event frame changes');

    // one spike-rate bar per spiking layer of the model
    const bars = await page.$$eval('.layer[data-layer]', (els) => els.map((e) => (e as any).dataset.layer));
    assert.deepEqual(bars, run.pipeline.model.info.layers.map((l) => l.name));
    const widths = await page.$$eval('.layer .fill', (els) => els.map((e) => parseFloat((e as any).style.width)));
    assert.ok(widths.some((w) => w > 0), 'bars show non-zero rates');
    assert.equal(await page.locator('#legend li').count(), 6);
    // the shipped demo model is trained: no 'untrained' badge (the badge itself is covered in server-api tests)
    assert.equal(await page.locator('#untrained').isVisible(), false);

    // pause: frames stop (the source stands still); resume: they flow again. Showing that nothing arrives
    // needs real time in a real browser: 300 ms for frames already in flight, then 700 ms of silence (the
    // paced demo sends 20 frames/s, so a pause that did not stop the source shows ~14 frames).
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

    // --- hostile pages (the viewer page stays open and must keep working) ---
    const viewerPort = Number(new URL(run.url!).port);
    evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(evilPage(viewerPort)));
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    const evilPort = (evil.address() as { port: number }).port;
    const refusedBefore = log.filter((l) => /refused/.test(l)).length;
    const tHostile = Date.now();

    // 1. a page from another origin (here http://evil.example:<evilPort>, served by our tiny server);
    // one second tab visits all three sites in turn (a new tab per site costs seconds on a loaded machine)
    const other = await browser.newPage();
    await other.goto(`http://evil.example:${evilPort}/`);
    await other.waitForFunction(() => (window.result.wsClosed || window.result.wsMessages > 0) && window.result.status !== 'pending' && window.result.post !== 'pending', undefined, { timeout: 10_000 });
    const res = await other.evaluate(() => window.result as { wsOpen: boolean; wsMessages: number; wsError: boolean; status: string; post: string });
    assert.equal(res.wsOpen, false, 'websocket from another origin never opens');
    assert.equal(res.wsMessages, 0, 'no frames for another origin');
    assert.equal(res.wsError, true);
    assert.equal(res.status, 'failed', 'the status API is not readable from another origin');
    const refusedOther = log.filter((l) => /refused/.test(l)).slice(refusedBefore);
    const originOf = `Origin "http://evil.example:${evilPort}"`;
    for (const what of [/refused GET "\/ws"/, /refused GET "\/api\/status"/, /refused POST "\/api\/control"/]) {
      assert.ok(refusedOther.some((l) => what.test(l) && l.includes(originOf)), `${what} logged with the page's origin: ${refusedOther.join(' | ')}`);
    }

    // 2. DNS rebinding: the attacker's name now points at the viewer's port; every request is refused by Host
    const rebound = other;
    const resp = await rebound.goto(`http://evil.example:${viewerPort}/`);
    assert.equal(resp?.status(), 403, 'the viewer page is refused under a foreign Host');
    // same-origin now (so the page could read answers), yet the API and the websocket are refused
    const reboundStatus = await rebound.evaluate(() => fetch('/api/status').then((x: { status: number }) => x.status));
    assert.equal(reboundStatus, 403);
    const reboundWs = await rebound.evaluate(
      () =>
        new Promise((resolve) => {
          const ws = new window.WebSocket(`ws://${window.location.host}/ws`);
          let n = 0;
          ws.onmessage = () => n++;
          ws.onopen = () => ws.send(JSON.stringify({ type: 'control', action: 'pause' }));
          ws.onclose = () => resolve({ opened: ws.readyState, messages: n });
        }),
    );
    assert.deepEqual(reboundWs, { opened: 3, messages: 0 });
    assert.ok(log.some((l) => l.includes(`refused GET "/api/status"`) && l.includes(`Host "evil.example:${viewerPort}"`)));

    // 3. the name the user allowed serves the viewer, which connects and streams under it
    const lan = other;
    const lanResp = await lan.goto(`http://viewer.lan:${viewerPort}/`);
    assert.equal(lanResp?.status(), 200);
    await lan.waitForFunction(() => (window.evstream as ViewState).framesReceived >= 2, undefined, { timeout: 10_000 });
    await lan.close();

    const hostileMs = Date.now() - tHostile;
    // nothing was paused; the viewer page still streams
    assert.equal(run.pipeline.source.paused, false, 'the hostile pages did not pause the pipeline');
    const n0 = (await view()).framesReceived;
    await page.waitForFunction((n) => (window.evstream as ViewState).framesReceived > n + 3, n0, { timeout: 5000 });
    assert.equal((await view()).connection, 'connected');

    v = await view();
    assert.ok(v.framesReceived >= 20);
    await page.screenshot({ path: join(artifactsDir(), 'viewer.png') });
    assert.deepEqual(errors, []);
    process.stderr.write(`# e2e viewer: first frames ${firstMs} ms after navigation, ${v.framesReceived} frames, hostile pages ${hostileMs} ms, status ${JSON.stringify(run.pipeline.status().latency)}\n`);
  } finally {
    await browser.close();
    await run.stop();
    evil?.close();
  }
});
