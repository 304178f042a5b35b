#!/usr/bin/env node
/**
 * Soak test of the live pipeline (not a CI test): the demo pipeline looped for N minutes with the viewer
 * server and one websocket client, sampling RSS, heap and the tfjs tensor count. Passes when the tensor
 * count stays constant and RSS is flat (growth over the second half below --max-growth-mb).
 *
 *   npm run build && node scripts/soak.mjs [--minutes 10] [--speed 1] [--max-growth-mb 20]
 * (`npm run soak` when wired in package.json). Exit code 1 on failure.
 */
import WebSocket from 'ws';
const dist = process.env.EVSTREAM_DIST ? new URL(process.env.EVSTREAM_DIST.replace(/\/?$/, '/'), 'file://' + process.cwd() + '/') : new URL('../dist/', import.meta.url);
const { loadPipeline, applyOverrides } = await import(new URL('src/pipeline/config.js', dist).href);
const { runPipeline } = await import(new URL('src/server/live-run.js', dist).href);
const { tensorCount } = await import(new URL('src/pipeline/model-adapter.js', dist).href);

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const minutes = arg('minutes', 10);
const speed = arg('speed', 1);
const maxGrowthMB = arg('max-growth-mb', 20);
const sampleS = Math.max(1, Math.min(10, (minutes * 60) / 30));

const cfg = applyOverrides(loadPipeline('demo'), { port: 0, speed });
const run = await runPipeline(cfg, { log: (l) => console.error(l) });
const ws = new WebSocket(run.url.replace('http', 'ws') + 'ws');
let received = 0;
ws.on('message', (_d, bin) => bin && received++);
console.error(`soak: ${minutes} min, speed ${speed}, viewer ${run.url}`);

const samples = [];
const t0 = performance.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    global.gc?.();
    const s = run.pipeline.status();
    const m = process.memoryUsage();
    const row = { t: Math.round((performance.now() - t0) / 1000), rssMB: +(m.rss / 2 ** 20).toFixed(1), heapMB: +(m.heapUsed / 2 ** 20).toFixed(1), tensors: tensorCount(), frames: s.frames.processed, dropped: s.frames.dropped, loops: s.source.loops ?? 0, fps: s.fps, received };
    samples.push(row);
    console.log(JSON.stringify(row));
    if (performance.now() - t0 >= minutes * 60_000) {
      clearInterval(timer);
      resolve();
    }
  }, sampleS * 1000);
});
ws.terminate();
await run.stop();

const warm = samples.slice(Math.min(2, samples.length - 1));
const half = samples.slice(Math.floor(samples.length / 2));
const tensors = new Set(warm.map((s) => s.tensors));
const growth = half.length > 1 ? half.at(-1).rssMB - Math.min(...half.map((s) => s.rssMB)) : 0;
const ok = tensors.size === 1 && growth <= maxGrowthMB;
console.log(JSON.stringify({ result: ok ? 'pass' : 'FAIL', tensors: [...tensors], rssGrowthSecondHalfMB: +growth.toFixed(1), rssMaxMB: Math.max(...samples.map((s) => s.rssMB)), frames: samples.at(-1)?.frames, loops: samples.at(-1)?.loops }));
process.exit(ok ? 0 : 1);
