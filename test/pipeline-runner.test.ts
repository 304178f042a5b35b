import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, toArray, firstValueFrom } from 'rxjs';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundedStep } from '../src/pipeline/bounded-step.js';
import { loadPipeline, parsePipeline } from '../src/pipeline/config.js';
import { Pipeline, type FrameResult } from '../src/pipeline/runner.js';
import { startSinks } from '../src/pipeline/sinks.js';
import { continuousTime } from '../src/pipeline/source.js';
import type { EventBatch } from '../src/events/types.js';
import { tensorCount } from '../src/pipeline/model-adapter.js';
import { ROOT } from './helpers/server-helpers.js';
import { ManualQueue, VirtualClock } from './helpers/virtual-time.js';

test('boundedStep drop: a slow step keeps only the newest pending input, in order, and counts the rest', () => {
  // steps run only when the test says: "slow" is 50 arrivals before the first step
  const steps = new ManualQueue();
  const src = new Subject<number>();
  const dropped: number[] = [];
  const got: number[] = [];
  let done = false;
  src.pipe(boundedStep<number, number>({ maxPending: 1, policy: 'drop', process: (x) => x, onOverflow: (x) => dropped.push(x), scheduler: steps })).subscribe({ next: (x) => got.push(x), complete: () => (done = true) });
  for (let i = 0; i < 50; i++) src.next(i); // all arrive while the first step has not run yet
  assert.equal(steps.length, 1, 'one step scheduled, not one per arrival');
  steps.step();
  assert.deepEqual(got, [49]);
  src.next(50);
  src.next(51);
  src.complete();
  steps.drain();
  assert.deepEqual(got, [49, 51]);
  assert.ok(done);
  assert.equal(dropped.length, 50);
  assert.deepEqual(dropped.slice(0, 3), [0, 1, 2]);
  assert.equal(dropped.at(-1), 50);
});

test('boundedStep merge: pending inputs are merged, nothing lost, order kept; never more than maxPending queued', () => {
  const steps = new ManualQueue();
  const src = new Subject<number[]>();
  const got: number[][] = [];
  let merges = 0;
  src.pipe(boundedStep<number[], number[]>({ maxPending: 2, policy: 'merge', merge: (a, b) => [...a, ...b], process: (x) => x, onOverflow: () => merges++, scheduler: steps })).subscribe((x) => got.push(x));
  for (let i = 0; i < 10; i++) src.next([i]);
  src.complete();
  steps.drain();
  assert.equal(got.length, 2);
  assert.deepEqual(got.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(merges, 8);
});

test('boundedStep: by default one step per macrotask (I/O and timers run between steps); unsubscribing cancels the next step', async () => {
  const src = new Subject<number>();
  const order: (number | string)[] = [];
  const sub = src.pipe(boundedStep<number, number>({ maxPending: 8, policy: 'drop', process: (x) => x })).subscribe((x) => order.push(x));
  src.next(0);
  src.next(1);
  src.next(2);
  assert.equal(order.length, 0, 'not run synchronously');
  setImmediate(() => order.push('io')); // queued after the first step, before the second
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 'io', 1]);
  sub.unsubscribe();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 'io', 1], 'no step after unsubscribe');
  // the same with a hand-run scheduler: nothing left queued
  const steps = new ManualQueue();
  const s2 = new Subject<number>();
  const sub2 = s2.pipe(boundedStep<number, number>({ maxPending: 8, policy: 'drop', process: (x) => x, scheduler: steps })).subscribe();
  s2.next(1);
  sub2.unsubscribe();
  assert.equal(steps.length, 0);
});

test('continuousTime: a restarted live stream (time jumps back) continues after the last event', async () => {
  const batch = (ts: number[]): EventBatch => ({ t: Float64Array.from(ts), x: new Uint16Array(ts.length), y: new Uint16Array(ts.length), p: new Uint8Array(ts.length), length: ts.length, width: 4, height: 4 });
  const src = new Subject<EventBatch>();
  const jumps: number[] = [];
  const out = firstValueFrom(src.pipe(continuousTime(1_000_000, (j) => jumps.push(j)), toArray()));
  src.next(batch([5_000_000, 5_000_010]));
  src.next(batch([0, 20])); // restarted at zero
  src.next(batch([40]));
  src.next(batch([9_000_000_000])); // far forward gap
  src.complete();
  const got = (await out).map((b) => [...b.t]);
  assert.deepEqual(got, [[5_000_000, 5_000_010], [5_000_011, 5_000_031], [5_000_051], [5_000_052]]);
  assert.equal(jumps.length, 2);
});

function smallPipeline(extra: Record<string, unknown> = {}) {
  // the bundled recording, a tiny seeded model (no checkpoint), 4x speed
  return parsePipeline(
    {
      name: 'test',
      source: { type: 'file', path: 'recordings/demo.aedat4', speed: 4, loop: true },
      framing: { windowMs: 50, size: [32, 32] },
      model: { arch: 'spiking-deeplab', checkpoint: null, width: 0.0625, T: 4, seed: 1 },
      sinks: { viewer: { enabled: false } },
      ...extra,
    },
    ROOT,
  );
}

test('pipeline: file -> frames -> SNN session; reset, pause, speed, constant tensor count, sinks (virtual time)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-run-'));
  const cfg = smallPipeline({ sinks: { viewer: { enabled: false }, predictions: { path: join(dir, 'pred.evpred') }, overlays: { dir: join(dir, 'png'), every: 5, scale: 2 }, metrics: { path: join(dir, 'm.jsonl'), intervalMs: 100 } } });
  // the file is paced on a virtual clock; model steps run on real macrotasks as in production
  const clock = new VirtualClock();
  const p = await Pipeline.create(cfg, { scheduler: clock.scheduler });
  const got: FrameResult[] = [];
  p.results$.subscribe((r) => got.push(r));
  // the metrics sink ticks on a clock of its own, moved by hand below (one clock per actor doing I/O)
  const metricsClock = new VirtualClock();
  const sinks = startSinks(p, { scheduler: metricsClock.scheduler });
  p.start();
  const until = (what: string, cond: () => boolean) => clock.run({ until: cond, what, realTimeoutMs: 20_000 });
  /** Event time (µs) covered from `a` to `b`, both indexes into `got`. */
  const eventSpan = (a: number, b: number) => got[b]!.t1 - got[a]!.t1;
  try {
    await until('12 frames', () => got.length >= 12);
    const r = got.at(-1)!;
    assert.equal(r.classMap.length, 32 * 32);
    assert.equal(r.counts.length, 2 * 32 * 32);
    assert.equal(r.layers.length, p.model.info.layers.length);
    assert.ok(r.layers.every((l) => l.rate >= 0 && l.rate <= 1));
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.t1 > got[i - 1]!.t1, 'event-time order');
    assert.ok(got.some((g) => g.events > 0));
    // latency is measured on the source's clock: virtual here, and the model step takes no virtual time
    assert.ok(got.every((g) => g.e2eMs >= 0 && g.e2eMs < 50), `e2e ${got.map((g) => g.e2eMs).join(' ')}`);
    const tensors = tensorCount();

    // reset: the next step starts from t = 0
    p.control({ action: 'reset' });
    const n0 = got.length;
    await until('frame after reset', () => got.length > n0);
    assert.equal(got[n0]!.t, 0);

    // pause: frames already binned are processed, then none for 5 s; event time does not move meanwhile
    p.control({ action: 'pause' });
    assert.equal(p.status().source.state, 'paused');
    await clock.advance(100);
    const n1 = got.length;
    await clock.advance(5000, '5 s paused');
    assert.equal(got.length, n1, 'no frames while paused');
    p.control({ action: 'resume' });
    const resumed = clock.now();
    await until('250 ms after resume', () => clock.now() >= resumed + 250);
    // at 4x, 250 ms of clock cover 1 s of recording (less the window still being binned), not the 20 s a
    // burst of the paused time would give
    const afterResume = eventSpan(n1 - 1, got.length - 1);
    assert.ok(afterResume > 850_000 && afterResume <= 1_050_000, `event time after resume ${afterResume} µs`);

    // speed 8: 250 ms of clock now cover 2 s of recording
    p.control({ action: 'speed', value: 8 });
    assert.equal(p.status().speed, 8);
    const n2 = got.length;
    const changed = clock.now();
    await until('250 ms at 8x', () => clock.now() >= changed + 250);
    const atEight = eventSpan(n2 - 1, got.length - 1);
    assert.ok(atEight > 1_850_000 && atEight <= 2_050_000, `event time at 8x ${atEight} µs`);
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.t1 > got[i - 1]!.t1, 'event-time order across pause and speed change');

    assert.equal(tensorCount(), tensors, 'tensor count stays constant');
    const s = p.status();
    assert.equal(s.frames.processed, got.length);
    const waiting = s.frames.binned - s.frames.processed - s.frames.dropped;
    assert.ok(waiting >= 0 && waiting <= cfg.runtime.maxPending, `every frame is processed, counted as dropped or waiting (${waiting})`);
    assert.ok(s.fps > 0);
    // the metrics sink writes one line per interval (100 ms here): 250 ms of its clock give 2 lines
    await metricsClock.advance(250, 'two metrics intervals');
    assert.equal(metricsClock.fired, 2);
  } finally {
    p.stop();
    await Promise.all(sinks.map((k) => k.close()));
  }
  // prediction recording: header line + fixed-size records
  const buf = readFileSync(join(dir, 'pred.evpred'));
  const nl = buf.indexOf(10);
  const head = JSON.parse(buf.subarray(0, nl).toString()) as { width: number; height: number; classes: number };
  assert.deepEqual([head.width, head.height, head.classes], [32, 32, 6]);
  const rec = 24 + 32 * 32;
  assert.equal((buf.length - nl - 1) % rec, 0);
  assert.ok((buf.length - nl - 1) / rec >= 12);
  assert.ok(readdirSync(join(dir, 'png')).filter((f) => f.endsWith('.png')).length >= 2);
  // written on close (the stream is flushed): exactly the two lines, nothing after close
  const lines = readFileSync(join(dir, 'm.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  const m = JSON.parse(lines[1]!) as { fps: number; frames: { processed: number } };
  assert.equal(typeof m.fps, 'number');
  assert.ok(m.frames.processed >= 12, `the line describes the running pipeline (${m.frames.processed} frames processed)`);
});

test('pipeline: a model slower than real time drops frames by the counted policy, queue stays bounded', async () => {
  const cfg = smallPipeline({ source: { type: 'file', path: 'recordings/demo.aedat4', speed: 16, loop: true } });
  // virtual time: the model takes 30 ms of clock per frame vs 50/16 = 3 ms of event time per frame
  const clock = new VirtualClock();
  const steps = new ManualQueue();
  const p = await Pipeline.create(cfg, { scheduler: clock.scheduler, stepScheduler: steps });
  let n = 0;
  p.results$.subscribe(() => n++);
  p.start();
  try {
    let maxWaiting = 0;
    while (n < 15) {
      await clock.advance(30, 'one model step');
      steps.step();
      const s = p.status();
      maxWaiting = Math.max(maxWaiting, s.frames.binned - s.frames.processed - s.frames.dropped);
    }
    const s = p.status();
    // about 30 / 3.125 = 9.6 frames binned per step, one processed: the rest dropped
    assert.ok(s.frames.dropped >= 15 * 7, `frames dropped: ${s.frames.dropped} of ${s.frames.binned}`);
    assert.ok(maxWaiting <= cfg.runtime.maxPending, `at most maxPending frames waiting (${maxWaiting})`);
    assert.equal(s.frames.processed, 15);
  } finally {
    p.stop();
  }
});

test('the shipped demo pipeline runs with its bundled trained checkpoint (label from metadata)', async () => {
  const cfg = loadPipeline('demo');
  cfg.sinks.viewer.enabled = false;
  const p = await Pipeline.create(cfg);
  try {
    assert.equal(p.model.info.untrained, false);
    assert.match(p.model.info.checkpoint ?? '', /demo\.safetensors$/);
    assert.equal(p.model.info.width, 0.25);
    assert.equal(p.model.info.arch, 'spiking-deeplab');
    // The bundled model steps on a frame (its speed is measured by `npm run bench -- pipeline`, not here).
    const x = new Float32Array(2 * 64 * 64).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
    let out = p.model.step(x);
    for (let i = 1; i < 5; i++) out = p.model.step(x);
    assert.equal(out.classMap.length, 64 * 64);
    assert.ok(out.classMap.every((c) => c < 6));
    assert.deepEqual(out.layers.map((l) => l.name), p.model.info.layers.map((l) => l.name));
    assert.ok(out.layers.some((l) => l.spikes > 0), 'the input makes some layer fire');
  } finally {
    p.stop();
  }
});
