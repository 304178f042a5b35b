/**
 * `npm run bench -- browser` (issue 15): in-browser segmentation of the demo model in headless Chromium
 * (dist/web served by a plain static server, wasm forced, unpaced: `?backend=wasm&speed=0`) next to the
 * Node onnx engine on the same frames, under the same streaming policy (the manifest's). Needs `npm run build` (dist/web) and Chromium.
 *
 * Browser fps counts whole frames (stream decode, binning, model, drawing) over 10 s after a 10-frame
 * warm-up; its ms/frame is the model call alone (`state.stepMsTotal`). Node: median of 50 warm steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEventBytes } from '../src/events/index.js';
import { FrameBinner } from '../src/framing/binner.js';
import { binOptionsOf } from '../src/pipeline/frame-options.js';
import { modelInput } from '../src/web/frame-stream.js';
import { parseManifest } from '../src/web/manifest.js';
import { loadCheckpoint } from '../src/snn/checkpoint.js';
import { createSession, WindowedSession } from '../src/snn/engines/index.js';
import { initBackend } from '../src/snn/backend.js';
import { chromiumPath, CHROMIUM_MISSING } from '../test/helpers/chromium.js';
import { CHROMIUM_ARGS } from '../test/helpers/server-helpers.js';
import { serveStatic } from '../test/helpers/static-server.js';
import { median } from './table.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;

const RECORDING = join(process.cwd(), 'recordings', 'demo.aedat4');

export async function benchBrowser(): Promise<object[]> {
  const web = join(process.cwd(), 'dist', 'web');
  if (!existsSync(join(web, 'local', 'local.js'))) throw new Error('dist/web is not built: run `npm run build` first');
  const manifest = parseManifest(readFileSync(join(web, 'models', 'demo.json'), 'utf8'), 'dist/web/models/demo.json');
  const rows: object[] = [];
  const chromium = chromiumPath();
  if (!chromium) rows.push({ engine: 'onnxruntime-web in Chromium', backend: '-', 'model ms/frame': '-', fps: CHROMIUM_MISSING });
  else {
    const { chromium: pw } = await import('playwright-core');
    // a plain static server (one wasm thread), then one sending COOP + COEP (cross-origin isolated: ORT's wasm threads)
    for (const isolated of [false, true]) {
      const srv = await serveStatic(web, { isolated });
      const browser = await pw.launch({ executablePath: chromium, args: CHROMIUM_ARGS, headless: true });
      try {
        const page = await browser.newPage();
        await page.goto(`${srv.url}?backend=wasm&speed=0`);
        await page.setInputFiles('[data-testid="open-recording"]', RECORDING);
        await page.waitForFunction(() => Number(document.body.dataset.framesProcessed ?? 0) >= 10, undefined, { timeout: 180_000 });
        const read = () => page.evaluate(() => ({ n: window.evstream.local.framesProcessed as number, ms: window.evstream.local.stepMsTotal as number, t: performance.now(), backend: window.evstream.local.backend as string, threads: window.evstream.local.threads as number }));
        const a = await read();
        await page.waitForTimeout(10_000);
        const b = await read();
        const n = b.n - a.n;
        rows.push({ engine: `onnxruntime-web in headless Chromium (whole page${isolated ? ', COOP + COEP' : ''})`, backend: `${b.backend}, ${b.threads} thread${b.threads > 1 ? 's' : ''}`, 'model ms/frame': (b.ms - a.ms) / n, fps: (1000 * n) / (b.t - a.t) });
      } finally {
        await browser.close();
        await srv.close();
      }
    }
  }
  // Node: the same checkpoint and framing, the onnx engine on frames binned in Node
  await initBackend(undefined, false);
  const binner = new FrameBinner(binOptionsOf(manifest.framing));
  const frames: Float32Array[] = [];
  const keep = (f: Parameters<typeof modelInput>[0]): void => void (frames.length < 60 && frames.push(modelInput(f, manifest.framing)));
  decodeEventBytes(new Uint8Array(readFileSync(RECORDING)), (b) => binner.push(b, keep));
  const { model } = loadCheckpoint(join('pipelines', manifest.model.checkpoint!), { set: { size: manifest.framing.size }, bnPolicy: manifest.model.bnPolicy as 'last' });
  try {
    // the page runs the manifest's streaming policy: the Node rows run the same (a sliding window of T
    // sessions, as the demo pipeline does, or one continuous session)
    const sliding = manifest.model.streaming === 'sliding-window';
    for (const threads of [1, 2]) {
      const make = () => createSession(model, { engine: 'onnx', horizon: manifest.model.T, bnPolicy: manifest.model.bnPolicy as 'last', onnx: { threads }, log: () => {} });
      const s = new WindowedSession(make, sliding ? { sliding: manifest.model.T } : {});
      const times: number[] = [];
      frames.forEach((f, i) => {
        const t = performance.now();
        s.step(f);
        if (i >= 10) times.push(performance.now() - t);
      });
      s.dispose();
      const ms = median(times);
      rows.push({ engine: `Node onnx engine (onnxruntime-node${sliding ? `, sliding window of ${manifest.model.T}` : ''})`, backend: `cpu, ${threads} thread${threads > 1 ? 's' : ''}`, 'model ms/frame': ms, fps: 1000 / ms });
    }
  } finally {
    model.dispose();
  }
  return rows;
}
