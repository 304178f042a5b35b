/**
 * `npm run bench -- pipeline`: the shipped demo pipeline end to end (paced file -> frames -> SNN ->
 * fastify/ws -> a websocket client on this machine).
 *   - real time: frames/s reaching the client, event-to-screen latency (wall time at which the window's
 *     last event time was due -> frame received by the client) p50/p95, model step p50/p95, dropped frames;
 *   - overloaded (speed 4, 80 frames/s offered): the frames/s the chain sustains and the share dropped by policy.
 */
import WebSocket from 'ws';
import { applyOverrides, loadPipeline } from '../src/pipeline/config.js';
import { runPipeline } from '../src/server/live-run.js';
import { tensorCount } from '../src/pipeline/model-adapter.js';

export interface PipelineBenchRow {
  [k: string]: string | number;
}

function pct(a: number[], p: number): number {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))]!;
}

async function measure(speed: number, seconds: number, warmS = 2): Promise<PipelineBenchRow> {
  const cfg = applyOverrides(loadPipeline('demo'), { port: 0, speed });
  const run = await runPipeline(cfg);
  const ws = new WebSocket(run.url!.replace('http', 'ws') + 'ws');
  const lat: number[] = [];
  let frames = 0;
  let counting = false;
  ws.on('message', (d: WebSocket.RawData, bin: boolean) => {
    if (bin || !counting) return;
    const m = JSON.parse(String(d)) as { type: string; windowEndWallMs: number };
    if (m.type !== 'frame') return;
    frames++;
    lat.push(Date.now() - m.windowEndWallMs);
  });
  await new Promise((r) => ws.once('open', r));
  await new Promise((r) => setTimeout(r, warmS * 1000));
  const s0 = run.pipeline.status();
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const el = (performance.now() - t0) / 1000;
  const s1 = run.pipeline.status();
  const tensors = tensorCount();
  ws.terminate();
  await run.stop();
  const binned = s1.frames.binned - s0.frames.binned;
  const processed = s1.frames.processed - s0.frames.processed;
  return {
    mode: speed === 1 ? 'real time (1x)' : `overloaded (${speed}x: ${20 * speed} frames/s offered)`,
    engine: s1.model.engine === 'onnx' ? 'onnxruntime' : `tfjs ${s1.backend}`,
    'frames in/s': Math.round((binned / el) * 10) / 10,
    'frames out/s': Math.round((processed / el) * 10) / 10,
    'client frames/s': Math.round((frames / el) * 10) / 10,
    'dropped %': binned ? Math.round(((s1.frames.dropped - s0.frames.dropped) / binned) * 1000) / 10 : 0,
    'step p50 ms': s1.latency.stepMs.p50,
    'step p95 ms': s1.latency.stepMs.p95,
    'event-to-screen p50 ms': Math.round(pct(lat, 50) * 10) / 10,
    'event-to-screen p95 ms': Math.round(pct(lat, 95) * 10) / 10,
    tensors,
    'rss MB': Math.round(s1.memory.rssMB),
  };
}

export async function benchPipeline(): Promise<PipelineBenchRow[]> {
  const seconds = Number(process.env.EVSTREAM_BENCH_SECONDS ?? 10);
  return [await measure(1, seconds), await measure(4, Math.max(3, seconds / 2))];
}
