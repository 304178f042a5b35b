/**
 * Framing behaviour that Stryker's mutants of src/framing survived (issue 19, item 4): area resize and its
 * scatter form, min-max normalisation, the binner's options (sensor size, fit, resize, normalize, bounds) and
 * the operator's error path. Expected values are worked out by hand in the comments, or computed
 * independently in the test (a dense count grid built here, the transposed weight matrix built here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, lastValueFrom, throwError, toArray } from 'rxjs';
import { MAX_SENSOR_SIDE, type EventBatch } from '../src/events/types.js';
import { FrameBinner, MAX_LATENESS_WINDOWS, MAX_WINDOW_US, centredCrop } from '../src/framing/binner.js';
import { binFrames } from '../src/framing/bin-frames.js';
import type { CropRect, Frame } from '../src/framing/frame.js';
import { normalizeMinMax } from '../src/framing/normalize.js';
import { areaWeights, resizeArea, scatterWeights } from '../src/framing/resize.js';
import { countRun, isSorted, lowerBound, planeOffsets, type CountGeometry, type CountResult } from '../src/framing/count.js';
import { batchOf, type EventRow } from './helpers/batches.js';

type Ev = EventRow;
const batch = batchOf;

function frames(b: FrameBinner, ...batches: EventBatch[]): Frame[] {
  const out: Frame[] = [];
  for (const x of batches) b.push(x, (f) => out.push(f));
  b.flush((f) => out.push(f));
  return out;
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, eps = 1e-5, what = ''): void => {
  assert.equal(got.length, want.length, `${what} length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= eps, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
};

// ------------------------------------------------------------------ normalize

test('normalize: a constant first channel does not stop the second from being scaled', () => {
  // channel 0 constant -> 0; channel 1: min 1, max 5 -> (v - 1) / 4 - 0.5
  const d = Float32Array.from([5, 5, 5, 1, 3, 5]);
  assert.equal(normalizeMinMax(d, 2), d, 'in place');
  assert.deepEqual(Array.from(d), [0, 0, 0, -0.5, 0, 0.5]);
});

test('normalize: negative values, min and max in the middle of a plane, three channels', () => {
  // ch0 [3, -1, 1]: min -1, range 4 -> [0.5, -0.5, 0]; ch1 [2, 7, -3]: min -3, range 10 -> [0, 0.5, -0.5];
  // ch2 [0, 0, 0] -> zeros
  const d = Float32Array.from([3, -1, 1, 2, 7, -3, 0, 0, 0]);
  normalizeMinMax(d, 3);
  assert.deepEqual(Array.from(d), [0.5, -0.5, 0, 0, 0.5, -0.5, 0, 0, 0]);
});

// ------------------------------------------------------------------ resize

test('areaWeights 3 -> 2 and 2 -> 3 by hand', () => {
  // scale 1.5: out 0 covers [0, 1.5): in 0 whole, half of in 1; out 1 covers [1.5, 3).
  const down = areaWeights(3, 2);
  assert.deepEqual(Array.from(down.start), [0, 2, 4]);
  assert.deepEqual(Array.from(down.src), [0, 1, 1, 2]);
  close(down.weight, [2 / 3, 1 / 3, 1 / 3, 2 / 3]);
  // scale 2/3: out 0 = [0, .667) inside in 0; out 1 = [.667, 1.333) half in 0, half in 1; out 2 inside in 1.
  const up = areaWeights(2, 3);
  assert.deepEqual(Array.from(up.start), [0, 1, 3, 4]);
  assert.deepEqual(Array.from(up.src), [0, 0, 1, 1]);
  close(up.weight, [1, 0.5, 0.5, 1]);
});

test('resizeArea by hand: 3x1 -> 2x1, 2x3 -> 1x2 on two channels, 2x4 -> 2x2, 2x1 -> 3x1', () => {
  // [3, 6, 9]: (3 + 6/2) / 1.5 = 4, (6/2 + 9) / 1.5 = 8
  close(resizeArea(Float32Array.from([3, 6, 9]), 1, 3, 1, 2, 1), [4, 8]);
  // rows [1 2], [3 4], [5 6] -> row means 1.5, 3.5, 5.5 -> (1.5 + 3.5/2) / 1.5, (3.5/2 + 5.5) / 1.5
  const two = resizeArea(Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]), 2, 2, 3, 1, 2);
  close(two, [3.25 / 1.5, 7.25 / 1.5, 32.5 / 1.5, 72.5 / 1.5]);
  // same width, half the height: mean of row pairs
  close(resizeArea(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 1, 2, 4, 2, 2), [2, 3, 6, 7]);
  // upscale 2 -> 3: [2, 4] -> [2, 3, 4]
  close(resizeArea(Float32Array.from([2, 4]), 1, 2, 1, 3, 1), [2, 3, 4]);
});

test('resizeArea writes every output cell of a reused buffer, and copies only the first planes when sizes match', () => {
  const out = new Float32Array(4).fill(NaN);
  const r = resizeArea(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 1, 2, 4, 2, 2, undefined, undefined, out);
  assert.equal(r, out);
  close(out, [2, 3, 6, 7]);
  // 1 channel of 2x2 out of a longer array: the first 4 values
  const same = new Float32Array(4).fill(NaN);
  assert.equal(resizeArea(Float32Array.from([1, 2, 3, 4, 99, 99]), 1, 2, 2, 2, 2, undefined, undefined, same), same);
  assert.deepEqual(Array.from(same), [1, 2, 3, 4]);
});

test('resizeArea into a larger reused buffer writes only its planes (no cell past channels * outW * outH)', () => {
  const out = new Float32Array(2 * 2 + 3).fill(-7);
  // 2 channels of 2x2 -> 1x2: rows averaged horizontally; channel 1 = 10 x channel 0
  resizeArea(Float32Array.from([1, 3, 5, 7, 10, 30, 50, 70]), 2, 2, 2, 1, 2, undefined, undefined, out);
  assert.deepEqual(Array.from(out), [2, 6, 20, 60, -7, -7, -7]);
});

test('scatterWeights is the transpose of areaWeights (dense matrices compared)', () => {
  for (const [inSize, outSize] of [[3, 2], [2, 3], [5, 5], [346, 64], [7, 3], [1, 4]] as const) {
    const w = areaWeights(inSize, outSize);
    const s = scatterWeights(w, inSize);
    const byOut = new Float64Array(inSize * outSize);
    for (let o = 0; o < outSize; o++) for (let k = w.start[o]!; k < w.start[o + 1]!; k++) byOut[w.src[k]! * outSize + o] += w.weight[k]!;
    const byIn = new Float64Array(inSize * outSize);
    assert.equal(s.start.length, inSize + 1, `${inSize}->${outSize}: start length`);
    assert.equal(s.start[0], 0);
    assert.equal(s.start[inSize], w.src.length);
    for (let i = 0; i < inSize; i++) for (let k = s.start[i]!; k < s.start[i + 1]!; k++) byIn[i * outSize + s.dst[k]!] += s.weight[k]!;
    close(byIn, byOut, 1e-7, `${inSize}->${outSize}`);
  }
});

// ------------------------------------------------------------------ binner options

/** Dense [2, h, w] counts of the events (t in [t0, t1)) inside the crop, computed here independently. */
function dense(events: Ev[], t0: number, t1: number, crop: { x: number; y: number; width: number; height: number }): Float32Array {
  const g = new Float32Array(2 * crop.width * crop.height);
  for (const [t, x, y, p] of events) {
    if (t < t0 || t >= t1) continue;
    const cx = x - crop.x;
    const cy = y - crop.y;
    if (cx < 0 || cy < 0 || cx >= crop.width || cy >= crop.height) continue;
    g[(p ? 0 : 1) * crop.width * crop.height + cy * crop.width + cx]++;
  }
  return g;
}

/** Pseudo-random in-order events on a w x h sensor, `perWindow` per 100 µs window. */
function randomEvents(n: number, w: number, h: number, seed = 11): Ev[] {
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => [1000 + Math.floor(i * 3.7), Math.floor(rnd() * w), Math.floor(rnd() * h), rnd() < 0.5 ? 1 : 0] as Ev);
}

test('crop + resize: each frame equals resizeArea of the dense crop counts, window after window (grids reused)', () => {
  const crop = { x: 1, y: 2, width: 7, height: 5 };
  const events = randomEvents(400, 10, 9); // 1000 .. 2476: 15 windows of 100 µs
  for (const size of [{ width: 3, height: 2 }, { width: 7, height: 2 }, { width: 3, height: 5 }, { width: 9, height: 8 }]) {
    const b = new FrameBinner({ windowUs: 100, crop, resize: size });
    const fs = frames(b, batch(events, 10, 9));
    assert.equal(fs.length, 15);
    for (const f of fs) {
      assert.deepEqual([f.width, f.height], [size.width, size.height]);
      const want = resizeArea(dense(events, f.t0, f.t1, crop), 2, crop.width, crop.height, size.width, size.height);
      close(f.counts, want, 1e-4, `${size.width}x${size.height} frame ${f.index}`);
    }
  }
});

test('normalize option: frames are the min-max normalised counts; resize equal to the crop adds no resampling', () => {
  const events = randomEvents(300, 6, 4);
  const crop = { x: 0, y: 0, width: 6, height: 4 };
  const b = new FrameBinner({ windowUs: 100, normalize: true, resize: { width: 6, height: 4 } });
  const fs = frames(b, batch(events, 6, 4));
  assert.ok(fs.length >= 10);
  for (const f of fs) close(f.counts, normalizeMinMax(dense(events, f.t0, f.t1, crop), 2), 1e-6, `frame ${f.index}`);
  assert.ok(fs.some((f) => f.counts.some((v) => v === 0.5)), 'normalised values are in use');
});

test('sensor size: width alone from the options (height from the batch), clamped to MAX_SENSOR_SIDE, at least 1', () => {
  // width 8 from the options, height 6 from the batch: an event at y = 5 is inside
  const f1 = frames(new FrameBinner({ windowUs: 100, width: 8 }), batch([[0, 7, 5, 1]], 4, 6));
  assert.deepEqual([f1[0]!.width, f1[0]!.height], [8, 6]);
  assert.equal(f1[0]!.counts[5 * 8 + 7], 1);
  // both given: the batch's claim is ignored
  const f2 = frames(new FrameBinner({ windowUs: 100, width: 3, height: 2 }), batch([[0, 2, 1, 0]], 640, 480));
  assert.deepEqual([f2[0]!.width, f2[0]!.height], [3, 2]);
  assert.equal(f2[0]!.counts[6 + 1 * 3 + 2], 1);
  // a claimed width beyond any sensor is framed within MAX_SENSOR_SIDE; a fractional one below 1 is 1
  const f3 = frames(new FrameBinner({ windowUs: 100 }), batch([[0, 0, 0, 1]], 1e9, 2));
  assert.deepEqual([f3[0]!.width, f3[0]!.height], [MAX_SENSOR_SIDE, 2]);
  const f4 = frames(new FrameBinner({ windowUs: 100, width: 0.5, height: 2.9 }), batch([[0, 0, 1, 1]], 8, 8));
  assert.deepEqual([f4[0]!.width, f4[0]!.height], [1, 2]);
  assert.equal(f4[0]!.events, 1);
});

test("fit: 'crop' needs a resize; 'stretch' (default) and a crop option win", () => {
  const ev = batch([[0, 0, 0, 1], [1, 7, 1, 1]], 8, 2); // a 4:1 sensor
  // fit crop to a square: the centred 2x2 at x = 3; both events are outside it
  const c = frames(new FrameBinner({ windowUs: 100, fit: 'crop', resize: { width: 1, height: 1 } }), ev);
  assert.equal(c[0]!.events, 0);
  // stretch: the whole 8x2 sensor averaged into 1 pixel: 2 ON events / 16 pixels
  const s = frames(new FrameBinner({ windowUs: 100, resize: { width: 1, height: 1 } }), ev);
  assert.equal(s[0]!.events, 2);
  close(s[0]!.counts, [2 / 16, 0]);
  // fit crop without a resize: nothing to match, the whole sensor
  const n = frames(new FrameBinner({ windowUs: 100, fit: 'crop' }), ev);
  assert.deepEqual([n[0]!.width, n[0]!.height, n[0]!.events], [8, 2, 2]);
  // an explicit crop is used as given
  const e = frames(new FrameBinner({ windowUs: 100, fit: 'crop', crop: { x: 6, y: 0, width: 2, height: 2 }, resize: { width: 1, height: 1 } }), ev);
  assert.equal(e[0]!.events, 1);
  close(e[0]!.counts, [1 / 4, 0]);
});

test('defaults: 50 ms windows, lateness one window; the bounds themselves are accepted', () => {
  const b = new FrameBinner();
  assert.equal(b.windowUs, 50_000);
  assert.equal(b.latenessUs, 50_000);
  assert.equal(b.keepGaps, false);
  const out: Frame[] = [];
  // window 0 = [0, 50000) is emitted once the newest event reaches 50000 + lateness = 100000, not before
  b.push(batch([[0, 0, 0, 1], [99_999, 0, 0, 1]], 2, 2), (f) => out.push(f));
  assert.equal(out.length, 0);
  b.push(batch([[100_000, 0, 0, 1]], 2, 2), (f) => out.push(f));
  assert.deepEqual(out.map((f) => [f.index, f.t0, f.t1, f.events]), [[0, 0, 50_000, 1]]);
  assert.doesNotThrow(() => new FrameBinner({ windowUs: MAX_WINDOW_US }));
  assert.doesNotThrow(() => new FrameBinner({ windowUs: 100, latenessUs: 100 * MAX_LATENESS_WINDOWS }));
  assert.throws(() => new FrameBinner({ windowUs: 100, latenessUs: -1 }), /latenessUs must be between 0 and 256 windows \(25600 µs\), got -1/);
  assert.throws(() => new FrameBinner({ windowUs: MAX_WINDOW_US + 1 }), /got 60000001/);
});

test('a window stays open for events up to `lateness` behind the newest, for a lateness of several windows', () => {
  // window 100, lateness 250: window 0 [0, 100) closes when the newest event reaches 350
  const b = new FrameBinner({ windowUs: 100, latenessUs: 250 });
  const out: Frame[] = [];
  const push = (ev: Ev[]) => b.push(batch(ev, 4, 4), (f) => out.push(f));
  push([[0, 0, 0, 1], [349, 1, 0, 1]]);
  push([[10, 2, 0, 1]]); // 339 behind the newest, but window 0 is still open
  assert.equal(out.length, 0);
  push([[350, 3, 0, 1]]);
  assert.deepEqual(out.map((f) => [f.index, f.events]), [[0, 2]]);
  push([[20, 3, 3, 1]]); // window 0 is gone: late
  assert.equal(b.lateDropped, 1);
  b.flush((f) => out.push(f));
  assert.deepEqual(out.map((f) => [f.index, f.events]), [[0, 2], [1, 0], [2, 0], [3, 2]]);
});

test('a crop past the sensor on one axis only is refused, at construction when the size is given', () => {
  assert.throws(() => new FrameBinner({ width: 8, height: 6, crop: { x: 4, y: 0, width: 6, height: 2 } }), /exceeds the 8x6 sensor/);
  assert.throws(() => new FrameBinner({ width: 8, height: 6, crop: { x: 0, y: 3, width: 2, height: 4 } }), /exceeds the 8x6 sensor/);
  assert.doesNotThrow(() => new FrameBinner({ width: 8, height: 6, crop: { x: 2, y: 1, width: 6, height: 5 } }));
  // height alone from the options, width from the batch
  const f = frames(new FrameBinner({ windowUs: 100, height: 3 }), batch([[0, 6, 2, 1]], 7, 9));
  assert.deepEqual([f[0]!.width, f[0]!.height], [7, 3]);
  assert.equal(f[0]!.counts[2 * 7 + 6], 1);
});

test('a fresh binner flushes nothing (kills a non-empty initial window list); reused grids start clean window after window', () => {
  const b = new FrameBinner({ windowUs: 100, latenessUs: 0 });
  const out: Frame[] = [];
  b.flush((f) => out.push(f));
  assert.deepEqual(out, []);
  const b2 = new FrameBinner({ windowUs: 100, latenessUs: 0 });
  const ev: Ev[] = Array.from({ length: 2000 }, (_, i) => [i * 50, i % 4, 0, 1]);
  const fs = frames(b2, batch(ev, 4, 1));
  assert.equal(fs.length, 1000);
  assert.ok(fs.every((f) => f.events === 2));
});

test('stop() inside emit during flush ends the flush after that frame', () => {
  // lateness 300 keeps windows 0, 1, 2 open until the end: flush emits all three unless stopped
  const b = new FrameBinner({ windowUs: 100, latenessUs: 300 });
  const got: Frame[] = [];
  b.push(batch([[0, 0, 0, 1], [100, 0, 0, 1], [200, 0, 0, 1]], 2, 2), (f) => got.push(f));
  assert.equal(got.length, 0);
  b.flush((f) => {
    got.push(f);
    b.stop();
  });
  assert.deepEqual(got.map((f) => f.index), [0]);
});

test('centredCrop: an odd margin is rounded down, and a crop is never thinner than one pixel', () => {
  // 5 x 2 to square: 2 x 2, margin 3 -> x = 1 (floor of 1.5); 2 x 5: y = 1
  assert.deepEqual(centredCrop(5, 2, { width: 1, height: 1 }), { x: 1, y: 0, width: 2, height: 2 });
  assert.deepEqual(centredCrop(2, 5, { width: 1, height: 1 }), { x: 0, y: 1, width: 2, height: 2 });
  // 1000 x 1 to 1 x 1000: the width would round to 0 -> 1, centred at floor(999 / 2)
  assert.deepEqual(centredCrop(1000, 1, { width: 1, height: 1000 }), { x: 499, y: 0, width: 1, height: 1 });
  assert.deepEqual(centredCrop(1, 1000, { width: 1000, height: 1 }), { x: 0, y: 499, width: 1, height: 1 });
});

test('the sensor size is fixed by the first non-empty batch; stop() ends push and flush', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const out: Frame[] = [];
  b.push(batch([], 0, 0), (f) => out.push(f)); // an empty batch claims nothing
  b.push(batch([[0, 7, 5, 1]], 8, 6), (f) => out.push(f));
  b.push(batch([[10, 7, 5, 0], [20, 1, 1, 1]], 4, 4), (f) => out.push(f)); // a later, smaller claim changes nothing
  b.flush((f) => out.push(f));
  assert.deepEqual(out.map((f) => [f.width, f.height, f.events]), [[8, 6, 3]]);
  assert.equal(out[0]!.counts[5 * 8 + 7], 1);
  assert.equal(out[0]!.counts[48 + 5 * 8 + 7], 1);
  assert.equal(b.outliers, 0);
  assert.equal(b.outOfBounds, 0);

  const s = new FrameBinner({ windowUs: 100, latenessUs: 0 });
  const got: Frame[] = [];
  s.push(batch([[0, 0, 0, 1], [50, 0, 0, 1]], 2, 2), (f) => got.push(f));
  s.stop();
  s.push(batch([[100, 0, 0, 1], [150, 0, 0, 1], [300, 0, 0, 1]], 2, 2), (f) => got.push(f));
  s.flush((f) => got.push(f));
  assert.deepEqual(got, [], 'nothing after stop()');
});

// ------------------------------------------------------------------ operator

test('binFrames: a binner error (crop outside the sensor) and a source error reach the subscriber', async () => {
  const s = new Subject<EventBatch>();
  const got = lastValueFrom(s.pipe(binFrames({ windowUs: 100, crop: { x: 0, y: 0, width: 9, height: 9 } }), toArray()));
  s.next(batch([[0, 0, 0, 1]], 8, 6));
  await assert.rejects(got, /exceeds the 8x6 sensor/);
  await assert.rejects(lastValueFrom(throwError(() => new Error('source broke')).pipe(binFrames())), /source broke/);
});

test('binFrames: frames are delivered as windows complete, not only at the end', async () => {
  const s = new Subject<EventBatch>();
  const seen: number[] = [];
  const done = lastValueFrom(s.pipe(binFrames({ windowUs: 100, latenessUs: 0 }), toArray()));
  const sub = s.pipe(binFrames({ windowUs: 100, latenessUs: 0 })).subscribe((f) => seen.push(f.index));
  s.next(batch([[0, 0, 0, 1], [50, 0, 0, 1], [100, 0, 0, 1], [150, 0, 0, 1], [200, 0, 0, 1], [250, 0, 0, 1]], 2, 2));
  assert.ok(seen.length >= 1 && seen[0] === 0, `frames before completion: ${seen}`);
  s.complete();
  assert.deepEqual(seen, [0, 1, 2]);
  assert.deepEqual((await done).map((f) => f.events), [2, 2, 2]);
  sub.unsubscribe();
});

// ------------------------------------------------------------------ windowing core (when frames come out)

test('an out-of-order event inside the newest window does not pull the newest time back (fast path keeps the max)', () => {
  // window 100, lateness 50: window 0 = [0, 100) is complete once the newest event reaches 100 + 50 = 150.
  // 0 opens window 0; 120 opens window 1 (120 < 150: window 0 stays open); 160 and then 130 land in window 1
  // together. The newest time is 160 >= 150, so window 0 comes out during this push; a binner that took the
  // last time (130) for the newest would hold it back until the end. Kills binner.ts's fast-path maxT update.
  for (const split of [4, 2]) {
    const b = new FrameBinner({ windowUs: 100, latenessUs: 50 });
    const out: Frame[] = [];
    const ev: Ev[] = [[0, 0, 0, 1], [120, 1, 0, 1], [160, 2, 0, 1], [130, 3, 0, 1]];
    for (let i = 0; i < ev.length; i += split) b.push(batch(ev.slice(i, i + split), 4, 1), (f) => out.push(f));
    assert.deepEqual(out.map((f) => [f.index, f.events]), [[0, 1]], `batches of ${split}: window 0 out, window 1 open`);
    // and the newest time stays 160 for later events: 149 still lands in window 1, window 1 waits for 250
    b.push(batch([[149, 0, 0, 0], [249, 0, 0, 0]], 4, 1), (f) => out.push(f));
    assert.equal(out.length, 1);
    b.push(batch([[250, 0, 0, 0]], 4, 1), (f) => out.push(f));
    assert.deepEqual(out.map((f) => [f.index, f.events]), [[0, 1], [1, 4]]);
  }
});

test('a jump of exactly maxGap is no discontinuity, either way; with the guard off (maxGapUs 0) a step back is no clock reset', () => {
  // window 100, lateness 100, maxGap 1000. Back: 4000 after 5000 is exactly 1000 behind: an old event,
  // dropped as late (its window -10 was never open), not a clock reset.
  const opts = { windowUs: 100, latenessUs: 100, maxGapUs: 1000 };
  const back = new FrameBinner(opts);
  const fb = frames(back, batch([[5000, 0, 0, 1], [4000, 1, 0, 1]], 2, 1));
  assert.deepEqual(fb.map((f) => [f.index, f.t0, f.events]), [[0, 5000, 1]]);
  assert.deepEqual([back.lateDropped, back.discontinuities], [1, 0]);
  // Forward: 6000 is exactly 1000 ahead: an ordinary silence, so windows 0..10 all come out (9 of them
  // empty) and nothing is counted as skipped.
  const fwd = new FrameBinner(opts);
  const ff = frames(fwd, batch([[5000, 0, 0, 1], [6000, 1, 0, 1]], 2, 1));
  assert.deepEqual(ff.map((f) => f.index), Array.from({ length: 11 }, (_, i) => i));
  assert.deepEqual(ff.map((f) => f.events), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([fwd.discontinuities, fwd.gapWindows], [0, 0]);
  // Guard off: 5090 after 5150 is a late event of window 0 (still open), not a reset of the clock.
  const off = new FrameBinner({ windowUs: 100, maxGapUs: 0 });
  const fo = frames(off, batch([[5000, 0, 0, 1], [5150, 1, 0, 0], [5090, 1, 0, 1]], 2, 1));
  assert.deepEqual(fo.map((f) => [f.index, f.t0, f.events]), [[0, 5000, 2], [1, 5100, 1]]);
  assert.equal(off.discontinuities, 0);
});

test('stop() inside emit while one event completes several windows: no frame after it', () => {
  // window 100, lateness 200: windows 0, 1, 2 stay open until 500 arrives, which completes all three.
  for (const split of [4, 1]) {
    const b = new FrameBinner({ windowUs: 100, latenessUs: 200 });
    const got: number[] = [];
    const ev: Ev[] = [[0, 0, 0, 1], [100, 0, 0, 1], [200, 0, 0, 1], [500, 0, 0, 1]];
    for (let i = 0; i < ev.length; i += split) {
      b.push(batch(ev.slice(i, i + split), 2, 1), (f) => {
        got.push(f.index);
        b.stop();
      });
    }
    assert.deepEqual(got, [0], `batches of ${split}`);
  }
});

test('an event at any distance before or after the newest window lands in its own window or is dropped as late', () => {
  // window 100, lateness 0, origin 1000: after 1000, 1100, 1200, 1300 window 3 = [1300, 1400) is the only
  // open one. A probe at 1300 + d: window floor((300 + d) / 100); below 3 it is late (dropped and counted),
  // else it lands there (the windows in between come out empty). Kills a fast path that takes the wrong
  // window for "the newest" (an event two windows ahead, or a late one, counted in window 3).
  for (let d = -650; d <= 275; d += 25) {
    const t = 1300 + d;
    const k = Math.floor((t - 1000) / 100);
    const want = new Map<number, number>([[0, 1], [1, 1], [2, 1], [3, 1]]);
    if (k >= 3) want.set(k, (want.get(k) ?? 0) + 1);
    const last = Math.max(3, k);
    const wantFrames = Array.from({ length: last + 1 }, (_, i) => [i, want.get(i) ?? 0]);
    for (const split of [5, 4]) {
      const b = new FrameBinner({ windowUs: 100, latenessUs: 0 });
      const ev: Ev[] = [[1000, 0, 0, 1], [1100, 0, 0, 1], [1200, 0, 0, 1], [1300, 0, 0, 1], [t, 1, 0, 0]];
      const fs = frames(b, ...(split === 5 ? [batch(ev, 2, 1)] : [batch(ev.slice(0, 4), 2, 1), batch(ev.slice(4), 2, 1)]));
      assert.deepEqual(fs.map((f) => [f.index, f.events]), wantFrames, `probe at ${t}, batches of ${split}`);
      assert.equal(b.lateDropped, k < 3 ? 1 : 0, `probe at ${t}`);
    }
  }
});

test('a confirmed jump past maxGap into the window right after the open ones is a discontinuity (no window skipped)', () => {
  // window 1000, lateness 1000. 64 events confirm a jump (the guard's run length).
  const run = (t0: number): Ev[] => Array.from({ length: 64 }, (_, i) => [t0 + i, 0, 0, 1] as Ev);
  // maxGap 1500: 1600 is 1600 past the newest event (0) and lands in window 1, the first window after the
  // open one: a discontinuity with no window skipped; the frames are windows 0 and 1
  const a = new FrameBinner({ windowUs: 1000, latenessUs: 1000, maxGapUs: 1500 });
  const fa = frames(a, batch([[0, 0, 0, 1], ...run(1600)], 2, 1));
  assert.deepEqual(fa.map((f) => [f.index, f.events]), [[0, 1], [1, 64]]);
  assert.deepEqual([a.discontinuities, a.gapWindows], [1, 0]);
});

test('keepGaps: at a confirmed jump every silent window before it comes out at once, not only those past the lateness', () => {
  // window 100, lateness 300, maxGap 1000: 64 events from 2000 confirm a jump from 0 into window 20.
  // The push emits window 0 and silent windows 1..19 right away (window 20 stays open); without keepGaps
  // nothing but window 0 comes out and 19 windows are counted as skipped.
  const ev: Ev[] = [[0, 0, 0, 1], ...Array.from({ length: 64 }, (_, i) => [2000 + i, 0, 0, 1] as Ev)];
  for (const keepGaps of [true, false]) {
    const b = new FrameBinner({ windowUs: 100, latenessUs: 300, maxGapUs: 1000, keepGaps });
    const out: Frame[] = [];
    b.push(batch(ev, 2, 1), (f) => out.push(f));
    assert.deepEqual(out.map((f) => f.index), keepGaps ? Array.from({ length: 20 }, (_, i) => i) : [0], `keepGaps ${keepGaps}`);
    assert.deepEqual([b.discontinuities, b.gapWindows], [1, keepGaps ? 0 : 19]);
  }
});

// ------------------------------------------------------------------ count kernels, touched lists, recycle

test('countRun: ON (any non-zero byte) / OFF planes, crop edges, out of bounds, touched cells in first-touch order', () => {
  // sensor 5 x 4, crop x 1..3, y 1..2 (3 x 2, plane 6); cell = plane(OFF) + (y - 1) * 3 + (x - 1)
  const g: CountGeometry = { cx: 1, cy: 1, cw: 3, ch: 2, planeOf: planeOffsets(6) };
  const b = batch([
    [0, 9, 9, 1], // before the run: not counted
    [1, 3, 2, 1], // ON (2, 1) -> 5
    [2, 1, 1, 0], // OFF (0, 0) -> 6
    [3, 3, 2, 7], // ON again (byte 7) -> 5, not a new cell
    [4, 0, 1, 1], // x below the crop: on the sensor
    [5, 4, 1, 1], // x = crop end: on the sensor
    [6, 2, 3, 0], // y = crop end: on the sensor
    [7, 5, 1, 1], // x = sensor width: out of bounds
    [8, 1, 4, 1], // y = sensor height: out of bounds
    [9, 2, 1, 1], // ON (1, 0) -> 1
    [10, 1, 1, 0], // OFF (0, 0) again
    [11, 2, 2, 1], // after the run: not counted
  ], 5, 4);
  const want = new Float32Array(12);
  want[5] = 2;
  want[6] = 2;
  want[1] = 1;
  for (const withList of [true, false]) {
    const grid = new Float32Array(12);
    const touched = withList ? new Int32Array(13).fill(-1) : undefined;
    // the list already holds two cells from an earlier call: new cells are appended after them
    if (touched) touched.set([8, 9]);
    const res: CountResult = { counted: 99, outOfBounds: 99, nTouched: withList ? 2 : 0 };
    countRun(b, 1, 11, g, grid, touched, res);
    assert.deepEqual(Array.from(grid), Array.from(want), `grid, touched list ${withList}`);
    assert.equal(res.counted, 5, 'events inside the crop');
    assert.equal(res.outOfBounds, 2, 'events off the 5 x 4 sensor');
    if (touched) {
      assert.equal(res.nTouched, 5);
      assert.deepEqual(Array.from(touched.subarray(0, 5)), [8, 9, 5, 6, 1]);
    }
  }
  assert.deepEqual(Array.from(planeOffsets(6)).map((v, p) => [p, v]).filter(([, v]) => v !== 0), [[0, 6]], 'only byte 0 is OFF');
});

test('isSorted and lowerBound on runs of equal times and inner ranges', () => {
  assert.equal(isSorted(Float64Array.from([3, 3, 3]), 3), true, 'equal times are in order');
  assert.equal(isSorted(Float64Array.from([1, 5, 4, 6]), 4), false, 'a drop in the middle');
  assert.equal(isSorted(Float64Array.from([1, 2, 3, 0]), 4), false, 'a drop at the end');
  assert.equal(isSorted(new Float64Array(0), 0), true);
  const t = Float64Array.from([0, 7, 7, 7, 7, 8, 9]);
  // the first 7 at or after `from`
  assert.equal(lowerBound(t, 1, 7, 7), 1);
  assert.equal(lowerBound(t, 3, 7, 7), 3);
  assert.equal(lowerBound(t, 0, 7, 7.5), 5);
  assert.equal(lowerBound(t, 2, 2, 7), 2, 'empty range');
  assert.equal(lowerBound(t, 0, 3, 100), 3, 'none in the range: its end');
  for (let k = 0; k <= 10; k++) assert.equal(lowerBound(t, 0, 7, k), [...t].findIndex((v) => v >= k) === -1 ? 7 : [...t].findIndex((v) => v >= k), `bound ${k}`);
});

test('resize: a window that touches every crop cell (both planes) keeps all of them, window after window', () => {
  // 2 x 1 sensor resized to 1 x 1: ON = (a + b) / 2, OFF = (c + d) / 2. Each window touches all 4 cells,
  // so the touched list fills up (its spare slot included); later windows reuse the grid and the list.
  const rows: Ev[] = [];
  for (let k = 0; k < 3; k++) {
    const t = 1000 + k * 100;
    // k + 1 ON at x 0, 1 ON at x 1, 2 OFF at x 0, 3 OFF at x 1; first event through the slow path
    for (let i = 0; i <= k; i++) rows.push([t + i, 0, 0, 1]);
    rows.push([t + 10, 1, 0, 1], [t + 11, 0, 0, 0], [t + 12, 0, 0, 0], [t + 13, 1, 0, 0], [t + 14, 1, 0, 0], [t + 15, 1, 0, 0]);
  }
  for (const split of [rows.length, 1, 3]) {
    const b = new FrameBinner({ windowUs: 100, latenessUs: 0, resize: { width: 1, height: 1 } });
    const parts: EventBatch[] = [];
    for (let i = 0; i < rows.length; i += split) parts.push(batch(rows.slice(i, i + split), 2, 1));
    const fs = frames(b, ...parts);
    assert.deepEqual(fs.map((f) => [f.index, f.events, ...f.counts]), [[0, 7, 1, 2.5], [1, 8, 1.5, 2.5], [2, 9, 2, 2.5]], `batches of ${split}`);
  }
});

test('recycle: at most 4 frames kept, each once, zeroed before reuse; other sizes and views into a larger buffer are refused', () => {
  // no resize, 2 x 2 sensor: frames are 8 floats; lateness 0, one event per window
  const b = new FrameBinner({ windowUs: 100, latenessUs: 0, width: 2, height: 2 });
  const mk = (): Frame => ({ index: 0, t0: 0, t1: 1, counts: new Float32Array(8).fill(9), width: 2, height: 2, events: 0, lateDropped: 0 });
  const kept = [mk(), mk(), mk(), mk()];
  const extra = mk();
  const big = new Float32Array(16).fill(9);
  b.recycle(kept[0]!);
  b.recycle(kept[0]!); // twice: kept once
  b.recycle({ ...mk(), counts: big.subarray(8) }); // a view at byte offset 32: refused
  b.recycle({ ...mk(), counts: new Float32Array(2).fill(9) }); // another size (2 * w / h): refused
  for (const f of kept.slice(1)) b.recycle(f);
  b.recycle(extra); // a fifth: refused
  const out: Frame[] = [];
  b.push(batch(Array.from({ length: 7 }, (_, k): Ev => [k * 100, k % 2, 0, 1]), 2, 2), (f) => out.push(f));
  b.flush((f) => out.push(f));
  assert.equal(out.length, 7);
  // every frame has exactly its one event, whatever array it got
  for (const [k, f] of out.entries()) assert.deepEqual(Array.from(f.counts), k % 2 ? [0, 1, 0, 0, 0, 0, 0, 0] : [1, 0, 0, 0, 0, 0, 0, 0], `frame ${k}`);
  const arrays = out.map((f) => f.counts);
  assert.equal(new Set(arrays).size, 7, 'no array handed out twice');
  assert.deepEqual(kept.map((f) => arrays.filter((a) => a === f.counts).length), [1, 1, 1, 1], 'the 4 kept arrays are reused');
  assert.ok(!arrays.includes(extra.counts), 'a fifth is not kept');
  assert.ok(arrays.every((a) => a.length === 8 && a.byteOffset === 0));
  assert.ok(big.every((v) => v === 9), 'the larger buffer is never written');
});

// ------------------------------------------------------------------ the binner against a naive one

/** Area weight of input pixel s in output o along one axis (in -> out), from the overlap of their spans. */
function areaWeight(s: number, o: number, inSize: number, outSize: number): number {
  const scale = inSize / outSize;
  const overlap = Math.min(s + 1, (o + 1) * scale) - Math.max(s, o * scale);
  return overlap > 0 ? overlap / scale : 0;
}

interface NaiveFrame {
  index: number;
  t0: number;
  events: number;
  counts: Float64Array;
}

/**
 * The binner's rules event by event, written plainly (guard off): windows of w from the first event; an
 * event whose window was already emitted is late; window k is emitted once the newest time reaches its end
 * plus the lateness and a newer window exists. Counts are dense and resized here in float64.
 */
function naiveBin(rows: readonly Ev[], cuts: readonly number[], w: number, lateness: number, sensor: { w: number; h: number }, crop: CropRect, out: { width: number; height: number }) {
  let origin = NaN;
  let maxT = -Infinity;
  let first = 0;
  let late = 0;
  let oob = 0;
  const grids = new Map<number, { g: Float64Array; n: number }>();
  const emittedAfter: number[] = [];
  rows.forEach(([t, x, y, p], i) => {
    if (Number.isNaN(origin)) origin = maxT = t;
    const k = Math.floor((t - origin) / w);
    if (k < first) late++;
    else {
      maxT = Math.max(maxT, t);
      const cell = grids.get(k) ?? { g: new Float64Array(2 * crop.width * crop.height), n: 0 };
      grids.set(k, cell);
      const cx = x - crop.x;
      const cy = y - crop.y;
      if (cx >= 0 && cy >= 0 && cx < crop.width && cy < crop.height) {
        cell.g[(p ? 0 : crop.width * crop.height) + cy * crop.width + cx]++;
        cell.n++;
      } else if (x >= sensor.w || y >= sensor.h) oob++;
      const newest = Math.floor((maxT - origin) / w);
      while (first < newest && maxT >= origin + (first + 1) * w + lateness) first++;
    }
    if (cuts.includes(i + 1)) emittedAfter.push(first);
  });
  const frames: NaiveFrame[] = [];
  for (let k = 0; k <= Math.floor((maxT - origin) / w); k++) {
    const g = grids.get(k);
    const counts = new Float64Array(2 * out.width * out.height);
    if (g)
      for (let c = 0; c < 2; c++)
        for (let sy = 0; sy < crop.height; sy++)
          for (let sx = 0; sx < crop.width; sx++) {
            const v = g.g[c * crop.width * crop.height + sy * crop.width + sx]!;
            if (v === 0) continue;
            for (let oy = 0; oy < out.height; oy++)
              for (let ox = 0; ox < out.width; ox++)
                counts[c * out.width * out.height + oy * out.width + ox] += v * areaWeight(sy, oy, crop.height, out.height) * areaWeight(sx, ox, crop.width, out.width);
          }
    frames.push({ index: k, t0: origin + k * w, events: g?.n ?? 0, counts });
  }
  return { frames, emittedAfter, late, oob };
}

test('random streams going back and forth, any lateness, crop and resize, any batching: the same frames as a naive binner', () => {
  const W = 9;
  const H = 7;
  let seed = 5;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  const crops: (CropRect | undefined)[] = [undefined, { x: 1, y: 2, width: 6, height: 4 }];
  const sizes = [undefined, { width: 3, height: 2 }, { width: 6, height: 4 }, { width: 10, height: 9 }, { width: 4, height: 8 }];
  for (let round = 0; round < 24; round++) {
    const w = round % 2 ? 150 : 100;
    const lateness = [0, 60, 100, 330][round % 4]!;
    const crop = crops[(round >> 2) % 2];
    const size = sizes[round % 5];
    const rows: Ev[] = [];
    let base = 1000 + Math.floor(rnd() * 50);
    for (let i = 0; i < 160; i++) {
      base += Math.floor(rnd() * 9);
      // one event in six is late by up to 2.5 windows
      const t = rnd() < 1 / 6 ? base - Math.floor(rnd() * 2.5 * w) : base;
      rows.push([t, Math.floor(rnd() * (W + 1)), Math.floor(rnd() * (H + 1)), rnd() < 0.5 ? 1 : rnd() < 0.5 ? 0 : 3]);
    }
    const cuts = [...new Set([0, ...Array.from({ length: 6 }, () => 1 + Math.floor(rnd() * (rows.length - 1))), rows.length])].sort((a, b) => a - b);
    const region = crop ?? { x: 0, y: 0, width: W, height: H };
    const outSize = size ?? { width: region.width, height: region.height };
    const want = naiveBin(rows, cuts.slice(1), w, lateness, { w: W, h: H }, region, outSize);
    const b = new FrameBinner({ windowUs: w, latenessUs: lateness, maxGapUs: 0, ...(crop ? { crop } : {}), ...(size ? { resize: size } : {}) });
    const got: Frame[] = [];
    const emittedAfter: number[] = [];
    for (let c = 1; c < cuts.length; c++) {
      b.push(batch(rows.slice(cuts[c - 1], cuts[c]), W, H), (f) => got.push({ ...f, counts: f.counts.slice() }));
      emittedAfter.push(got.length);
    }
    b.flush((f) => got.push(f));
    const what = `round ${round} (window ${w}, lateness ${lateness}, crop ${JSON.stringify(crop)}, resize ${JSON.stringify(size)})`;
    assert.deepEqual(emittedAfter, want.emittedAfter, `${what}: frames out after each push`);
    assert.deepEqual(got.map((f) => [f.index, f.t0, f.t1, f.events, f.width, f.height]), want.frames.map((f) => [f.index, f.t0, f.t0 + w, f.events, outSize.width, outSize.height]), what);
    for (const [k, f] of got.entries()) close(f.counts, want.frames[k]!.counts, 1e-5, `${what} frame ${k}`);
    assert.deepEqual([b.lateDropped, b.outOfBounds], [want.late, want.oob], `${what}: late, out of bounds`);
    assert.ok(want.late > 0 && want.oob > 0, `${what}: the stream has late and off-sensor events`);
  }
});

test('an event behind the newest time (fast path sorted or not, or an older open window) never lowers it: no false discontinuity', () => {
  // window 100, lateness 100, maxGap 1000 (the guard holds forward steps past 200 until 64 events agree).
  // Events every 50 µs up to 550 (window 5 is the newest, window 4 still open), then a late event, then a
  // confirmed run from 1520: 1520 is within maxGap of the newest time 550, so windows 6..14 are ordinary
  // silent windows and come out; a binner that took the late event's time for the newest (510, 450) would
  // see a jump past maxGap and skip them as a discontinuity.
  const ramp: Ev[] = Array.from({ length: 12 }, (_, i) => [i * 50, 0, 0, 1]);
  const run: Ev[] = Array.from({ length: 64 }, (_, i) => [1520 + i, 1, 0, 1]);
  for (const late of [[[510, 1, 0, 0]], [[510, 1, 0, 0], [505, 1, 0, 0]], [[450, 1, 0, 0]]] as Ev[][]) {
    const b = new FrameBinner({ windowUs: 100, latenessUs: 100, maxGapUs: 1000 });
    const fs = frames(b, batch(ramp, 2, 1), batch(late, 2, 1), batch(run, 2, 1));
    const what = `late ${JSON.stringify(late)}`;
    assert.deepEqual(fs.map((f) => f.index), Array.from({ length: 16 }, (_, i) => i), what);
    assert.deepEqual([b.discontinuities, b.gapWindows, b.outliers, b.lateDropped], [0, 0, 0, 0], what);
    assert.equal(fs[15]!.events, 64);
    assert.equal(fs[late[0]![0] === 450 ? 4 : 5]!.events, 2 + late.length);
  }
});

test('guard off, a jump of 2^40 µs: silent windows come out one at a time and stop() ends them (nothing is built up to the jump)', () => {
  // 1.1e10 windows of 100 µs lie between the two events; the binner emits window 0 and the silent windows
  // lazily, so a subscriber that stops after three frames costs three frames. Opening the windows up to the
  // jump first (as a list) would not fit in memory.
  const b = new FrameBinner({ windowUs: 100, latenessUs: 0, maxGapUs: 0 });
  const got: [number, number][] = [];
  b.push(batch([[0, 0, 0, 1], [2 ** 40, 1, 0, 1]], 2, 1), (f) => {
    got.push([f.index, f.events]);
    if (got.length === 3) b.stop();
  });
  assert.deepEqual(got, [[0, 1], [1, 0], [2, 0]]);
});
