import { test } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import type { EventBatch } from '../src/events/types.js';
import { FrameBinner, MAX_LATENESS_WINDOWS, MAX_WINDOW_US, MIN_WINDOW_US } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';
import { binFrames } from '../src/framing/bin-frames.js';
import { areaWeights, resizeArea } from '../src/framing/resize.js';
import { normalizeMinMax } from '../src/framing/normalize.js';
import { batchOf } from './helpers/batches.js';

const batch = batchOf;

/** Frames `push` emits for these batches, in order. */
function pushAll(b: FrameBinner, ...batches: EventBatch[]): Frame[] {
  const out: Frame[] = [];
  for (const x of batches) b.push(x, (f) => out.push(f));
  return out;
}

function flushAll(b: FrameBinner): Frame[] {
  const out: Frame[] = [];
  b.flush((f) => out.push(f));
  return out;
}

const sum = (a: Float32Array, from = 0, to = a.length) => a.subarray(from, to).reduce((s, v) => s + v, 0);

test('windows start at the first event, are half-open, and count ON in channel 0 and OFF in channel 1', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const frames = [
    ...pushAll(b, batch([
      [1000, 1, 2, 1],
      [1099, 1, 2, 1], // last µs of window 0
      [1100, 3, 4, 0], // first µs of window 1
      [1150, 3, 4, 0],
    ])),
    ...flushAll(b),
  ];
  assert.equal(frames.length, 2);
  assert.deepEqual(frames.map((f) => [f.index, f.t0, f.t1, f.events]), [[0, 1000, 1100, 2], [1, 1100, 1200, 2]]);
  const plane = 8 * 6;
  assert.equal(frames[0]!.counts[2 * 8 + 1], 2); // ON at (1,2)
  assert.equal(sum(frames[0]!.counts, plane), 0);
  assert.equal(frames[1]!.counts[plane + 4 * 8 + 3], 2); // OFF at (3,4)
  assert.equal(sum(frames[1]!.counts, 0, plane), 0);
});

test('time gaps produce empty frames, not skipped windows', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const frames = [...pushAll(b, batch([[0, 0, 0, 1], [550, 0, 0, 1]])), ...flushAll(b)];
  assert.deepEqual(frames.map((f) => f.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(frames.map((f) => f.events), [1, 0, 0, 0, 0, 1]);
});

test('events late by less than one window land in their window; older ones are dropped and counted', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const out = [
    ...pushAll(b, batch([[0, 0, 0, 1], [150, 0, 0, 1]])),
    ...pushAll(b, batch([[90, 1, 0, 1]])), // late by 60 µs < 100: goes to window 0
    ...pushAll(b, batch([[260, 0, 0, 1]])), // window 0 now closed (260 >= 100 + 100)
    ...pushAll(b, batch([[50, 2, 0, 0]])), // too late: dropped
  ];
  out.push(...flushAll(b));
  assert.deepEqual(out.map((f) => f.events), [2, 1, 1]);
  assert.equal(b.lateDropped, 1);
  assert.equal(out.at(-1)!.lateDropped, 1);
});

test('lateness 0 emits a window as soon as a later event arrives', () => {
  const b = new FrameBinner({ windowUs: 100, latenessUs: 0 });
  assert.equal(pushAll(b, batch([[0, 0, 0, 1], [99, 0, 0, 1]])).length, 0);
  assert.equal(pushAll(b, batch([[100, 0, 0, 1]])).length, 1);
});

test('result does not depend on how events are split into batches', () => {
  const events: [number, number, number, number][] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 5000; i++) events.push([Math.floor(i * 7.3 + rnd() * 40), Math.floor(rnd() * 8), Math.floor(rnd() * 6), rnd() < 0.5 ? 1 : 0]);
  const run = (size: number) => {
    const b = new FrameBinner({ windowUs: 500 });
    const frames = [];
    for (let i = 0; i < events.length; i += size) frames.push(...pushAll(b, batch(events.slice(i, i + size))));
    frames.push(...flushAll(b));
    return { frames: frames.map((f) => Array.from(f.counts)), dropped: b.lateDropped };
  };
  const whole = run(events.length);
  for (const size of [1, 3, 64, 1000]) assert.deepEqual(run(size), whole);
});

test('crop keeps the sensor region and resize area-averages it', () => {
  // 4x4 sensor, crop the top-left 4x2 and resize to 2x1: each output pixel averages a 2x2 block.
  const b = new FrameBinner({ windowUs: 100, crop: { x: 0, y: 0, width: 4, height: 2 }, resize: { width: 2, height: 1 } });
  const ev: [number, number, number, number][] = [
    [0, 0, 0, 1], [1, 1, 1, 1], [2, 1, 0, 1], [3, 0, 1, 1], // 4 ON in the left block
    [4, 2, 0, 0], [5, 3, 1, 0], // 2 OFF in the right block
    [6, 0, 3, 1], // outside the crop (y = 3)
  ];
  const [f] = [...pushAll(b, batch(ev, 4, 4)), ...flushAll(b)];
  assert.equal(f!.width, 2);
  assert.equal(f!.height, 1);
  assert.deepEqual(Array.from(f!.counts), [1, 0, 0, 0.5]);
  assert.equal(f!.events, 6);
});

test('area resize preserves the mean and handles non-integer ratios (346x200 -> 64x64)', () => {
  const inW = 346;
  const inH = 200;
  const img = new Float32Array(inW * inH);
  for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761) % 7;
  const out = resizeArea(img, 1, inW, inH, 64, 64);
  const meanIn = sum(img) / img.length;
  const meanOut = sum(out) / out.length;
  assert.ok(Math.abs(meanIn - meanOut) < 1e-3, `${meanIn} vs ${meanOut}`);
  const w = areaWeights(346, 64);
  for (let i = 0; i < 64; i++) {
    let s = 0;
    for (let k = w.start[i]!; k < w.start[i + 1]!; k++) s += w.weight[k]!;
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
});

test('normalize scales each channel to [-0.5, 0.5] and maps constant channels to 0', () => {
  const d = Float32Array.from([0, 2, 4, 3, 3, 3]);
  normalizeMinMax(d, 2);
  assert.deepEqual(Array.from(d), [-0.5, 0, 0.5, 0, 0, 0]);
});

test('binFrames operator flushes open windows on completion', async () => {
  const frames = await lastValueFrom(from([batch([[0, 1, 1, 1]]), batch([[120, 1, 1, 0]])]).pipe(binFrames({ windowUs: 100 }), toArray()));
  assert.deepEqual(frames.map((f) => f.events), [1, 1]);
});

// --size / --crop text parsing lives in src/cli/options.ts (test/cli-options.test.ts)
test('binner rejects a bad window and a crop outside the sensor', () => {
  assert.throws(() => new FrameBinner({ windowUs: 0 }), /windowUs/);
  const b = new FrameBinner({ crop: { x: 0, y: 0, width: 10, height: 10 } });
  assert.throws(() => pushAll(b, batch([[0, 0, 0, 1]], 8, 6)), /exceeds the 8x6 sensor/);
});

// ------------------------------------------------------------------ hostile timestamps (issue 12)

/** n events `dt` µs apart from t0 on an 8 x 6 sensor. */
function steady(t0: number, n: number, dt: number): [number, number, number, number][] {
  return Array.from({ length: n }, (_, i) => [t0 + dt * i, i % 8, (i >> 3) % 6, i & 1] as [number, number, number, number]);
}

test('windowUs is bounded to 0.1 ms .. 60 s and lateness to MAX_LATENESS_WINDOWS windows', () => {
  assert.throws(() => new FrameBinner({ windowUs: MIN_WINDOW_US - 1 }), /windowUs must be between 100 µs \(0\.1 ms\) and 60000000 µs/);
  assert.throws(() => new FrameBinner({ windowUs: 1 }), RangeError);
  assert.throws(() => new FrameBinner({ windowUs: MAX_WINDOW_US * 2 }), /windowUs/);
  assert.throws(() => new FrameBinner({ windowUs: NaN }), /windowUs/);
  assert.doesNotThrow(() => new FrameBinner({ windowUs: MIN_WINDOW_US }));
  assert.throws(() => new FrameBinner({ windowUs: 100, latenessUs: 100 * (MAX_LATENESS_WINDOWS + 1) }), /latenessUs/);
  assert.throws(() => new FrameBinner({ maxGapUs: -1 }), /maxGapUs/);
});

test('a confirmed forward jump of 1e9 µs gives counted gap windows, not frames', () => {
  const w = 50_000;
  const first = steady(0, 300, 1000); // 0 .. 299 ms: windows 0..5
  const second = steady(299_000 + 1e9, 300, 1000); // 1e9 µs later
  const b = new FrameBinner({ windowUs: w });
  const frames = [...pushAll(b, batch([...first, ...second])), ...flushAll(b)];
  const idx = (t: number) => Math.floor(t / w);
  const expected = [...new Set([...first, ...second].map((e) => idx(e[0])))];
  assert.deepEqual(frames.map((f) => f.index), expected, 'only windows with events');
  assert.equal(b.gapWindows, idx(second[0]![0]) - idx(first.at(-1)![0]) - 1);
  assert.equal(b.discontinuities, 1);
  assert.equal(frames.reduce((s, f) => s + f.events, 0), 600);
  for (const f of frames) assert.equal(f.t0, f.index * w, 'same grid after the jump');
});

test('keepGaps emits the silent windows of a discontinuity, one at a time, and stop() ends them', () => {
  const w = 50_000;
  const events = [...steady(0, 300, 1000), ...steady(299_000 + 1e9, 300, 1000)];
  const b = new FrameBinner({ windowUs: w, keepGaps: true });
  let n = 0;
  let prev = -1;
  let silent = 0;
  const sink = (f: Frame) => {
    assert.equal(f.index, prev + 1, 'consecutive windows');
    prev = f.index;
    if (f.events === 0) silent++;
    n++;
  };
  b.push(batch(events), sink);
  b.flush(sink);
  const last = Math.floor(events.at(-1)![0] / w);
  assert.equal(n, last + 1);
  assert.equal(silent, last + 1 - new Set(events.map((e) => Math.floor(e[0] / w))).size);
  assert.equal(b.gapWindows, 0);
  // A consumer that has had enough stops the emission inside the gap.
  const c = new FrameBinner({ windowUs: w, keepGaps: true });
  let m = 0;
  c.push(batch(events), () => {
    if (++m === 10) c.stop();
  });
  c.flush(() => m++);
  assert.equal(m, 10);
});

test('a confirmed backward jump (clock reset) restarts the windows instead of dropping everything as late', () => {
  const w = 1000;
  const before = steady(50e6, 200, 50); // 10 ms at 50 s
  const after = steady(1234, 200, 50); // the clock restarts near 0
  const b = new FrameBinner({ windowUs: w });
  const frames = [...pushAll(b, batch([...before, ...after])), ...flushAll(b)];
  assert.equal(b.lateDropped, 0);
  assert.equal(b.discontinuities, 1);
  assert.equal(frames.reduce((s, f) => s + f.events, 0), 400);
  const reset = frames.findIndex((f) => f.t0 < 50e6);
  assert.equal(frames[reset]!.t0, 1234, 'windowing restarts at the new time');
  assert.equal(frames.length - reset, Math.ceil((after.at(-1)![0] + 1 - 1234) / w));
  for (let i = 1; i < frames.length; i++) assert.equal(frames[i]!.index, frames[i - 1]!.index + 1, 'indices keep increasing');
});

test('silent windows below maxGap are still emitted as empty frames, lazily', () => {
  const b = new FrameBinner({ windowUs: 100 });
  let n = 0;
  const stopAt10 = (): void => {
    if (++n === 10) b.stop();
  };
  // The event 5 s ahead is held until the stream confirms it (here: its end), then the gap is emitted.
  b.push(batch([[0, 0, 0, 1], [5_000_000, 0, 0, 1]]), stopAt10);
  assert.equal(n, 0);
  b.flush(stopAt10);
  assert.equal(n, 10, 'a 5 s gap at 0.1 ms is 50 000 frames: stop() after 10 shows they come one by one');
  const c = new FrameBinner({ windowUs: 1000 });
  const frames = [...pushAll(c, batch([[0, 0, 0, 1], [5_000_000, 0, 0, 1]])), ...flushAll(c)];
  assert.equal(frames.length, 5001);
  assert.equal(c.gapWindows, 0);
});

test('framing with stray or hostile timestamps (NaN, ±Infinity, 2^53, negative) keeps memory bounded', () => {
  const clean = steady(1e9, 20_000, 50); // 1 s at 20 kev/s
  const count = (events: [number, number, number, number][], opts: ConstructorParameters<typeof FrameBinner>[0] = {}) => {
    const b = new FrameBinner({ windowUs: 50_000, width: 8, height: 6, ...opts });
    let n = 0;
    let ev = 0;
    const sink = (f: Frame) => {
      n++;
      ev += f.events;
    };
    for (let i = 0; i < events.length; i += 1000) b.push(batch(events.slice(i, i + 1000)), sink);
    b.flush(sink);
    return { n, ev, b };
  };
  const base = count(clean);
  const rss0 = process.memoryUsage().rss;
  for (const stray of [NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), -1, 0]) {
    const events = clean.slice();
    events[7000] = [stray, 1, 1, 1];
    for (const maxGapUs of [undefined, Infinity]) {
      if (maxGapUs === Infinity && stray === 2 ** 53) continue; // guard off: every window up to 2^53 is due (lazily, but ~1e11 of them)
      const r = count(events, { maxGapUs });
      assert.equal(r.n, base.n, `stray ${stray}, maxGap ${maxGapUs}: same frames`);
      assert.equal(r.ev, 20_000 - 1, `stray ${stray}: only that event lost`);
    }
  }
  // A whole confirmed run at 2^53 (and a clock reset back): windows skipped, never materialised.
  const jump = [...clean.slice(0, 10_000), ...steady(2 ** 53, 1000, 1), ...clean.slice(10_000)];
  const r = count(jump);
  assert.equal(r.ev, 21_000);
  assert.ok(r.b.gapWindows > 1e11);
  assert.equal(r.b.discontinuities, 2);
  assert.ok(r.n < base.n + 5);
  const grown = process.memoryUsage().rss - rss0;
  assert.ok(grown < 200 * 2 ** 20, `RSS grew ${(grown / 2 ** 20).toFixed(0)} MB`);
});

test('results with jumps and strays do not depend on batching (1-event batches vs whole)', () => {
  const events = [...steady(0, 2000, 37), ...steady(2000 * 37 + 3e7, 500, 41), ...steady(10, 800, 29)];
  events[100] = [9e12, 0, 0, 1];
  events[1500] = [NaN, 0, 0, 1];
  const run = (size: number) => {
    const b = new FrameBinner({ windowUs: 500 });
    const out: Frame[] = [];
    for (let i = 0; i < events.length; i += size) b.push(batch(events.slice(i, i + size)), (f) => out.push(f));
    b.flush((f) => out.push(f));
    return { frames: out.map((f) => [f.index, f.t0, f.events, Array.from(f.counts)]), c: [b.outliers, b.discontinuities, b.gapWindows, b.lateDropped] };
  };
  const whole = run(events.length);
  assert.deepEqual(whole.c.slice(0, 2), [2, 2]);
  for (const size of [1, 5, 300]) assert.deepEqual(run(size), whole, `batches of ${size}`);
});

test('binFrames stops producing silent windows once the subscriber has enough (take)', async () => {
  const frames = await lastValueFrom(from([batch([[0, 1, 1, 1]]), batch([[9_000_000, 1, 1, 0]])]).pipe(binFrames({ windowUs: 100 }), take(3), toArray()));
  assert.deepEqual(frames.map((f) => f.index), [0, 1, 2]);
});
