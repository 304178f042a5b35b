/**
 * The binner's fast path (issue 17): sorted batches are split into windows by a binary search and counted by
 * countRun; unsorted ones (time going back, NaN) find each run by testing times. Both, any batch split, the
 * two-slot downscale emit and recycled frames must give the same frames bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBatch } from '../src/events/types.js';
import { FrameBinner, type BinOptions } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';
import { isSorted, lowerBound } from '../src/framing/count.js';
import { areaWeights, pairWeights, scatterWeights } from '../src/framing/resize.js';

const W = 40;
const H = 30;

/** Random events, time increasing by 0..2 µs, a few outside the crop used below and outside the sensor. */
function events(n: number, seed: number): EventBatch {
  let s = seed >>> 0;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const b: EventBatch = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width: W, height: H };
  let t = 1000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 3);
    b.t[i] = t;
    b.x[i] = rnd() < 0.01 ? W + 3 : Math.floor(rnd() * W);
    b.y[i] = Math.floor(rnd() * H);
    b.p[i] = rnd() < 0.02 ? 7 : rnd() < 0.5 ? 1 : 0; // any non-zero byte is ON
  }
  return b;
}

function slice(b: EventBatch, from: number, to: number): EventBatch {
  return { t: b.t.subarray(from, to), x: b.x.subarray(from, to), y: b.y.subarray(from, to), p: b.p.subarray(from, to), length: to - from, width: b.width, height: b.height };
}

/** `b` split into batches of `size` events; with `nan`, each batch gets a NaN-time event appended (unsorted). */
function split(b: EventBatch, size: number, nan = false): EventBatch[] {
  const out: EventBatch[] = [];
  for (let o = 0; o < b.length; o += size) {
    const part = slice(b, o, Math.min(b.length, o + size));
    if (!nan) {
      out.push(part);
      continue;
    }
    const n = part.length + 1;
    const t = new Float64Array(n);
    t.set(part.t);
    t[n - 1] = NaN;
    const x = new Uint16Array(n);
    x.set(part.x);
    const y = new Uint16Array(n);
    y.set(part.y);
    const p = new Uint8Array(n);
    p.set(part.p);
    out.push({ t, x, y, p, length: n, width: W, height: H });
  }
  return out;
}

/** Frames with their counts copied out, each handed back for reuse when `recycle`. */
function frames(opts: BinOptions, batches: readonly EventBatch[], recycle = false): Frame[] {
  const b = new FrameBinner(opts);
  const out: Frame[] = [];
  const sink = (f: Frame): void => {
    out.push({ ...f, counts: f.counts.slice() });
    if (recycle) b.recycle(f);
  };
  for (const x of batches) b.push(x, sink);
  b.flush(sink);
  return out;
}

function sameBits(a: readonly Frame[], b: readonly Frame[], what: string): void {
  assert.equal(a.length, b.length, `${what}: frame count`);
  for (let i = 0; i < a.length; i++) {
    const { counts: ca, ...ra } = a[i]!;
    const { counts: cb, ...rb } = b[i]!;
    assert.deepEqual(ra, rb, `${what}: frame ${i}`);
    assert.deepEqual(new Uint32Array(ca.buffer, ca.byteOffset, ca.length), new Uint32Array(cb.buffer, cb.byteOffset, cb.length), `${what}: frame ${i} counts`);
  }
}

const OPTS: [string, BinOptions][] = [
  ['no resize', {}],
  ['crop', { crop: { x: 3, y: 2, width: 31, height: 21 } }],
  ['downscale', { resize: { width: 7, height: 5 } }],
  ['crop + downscale, normalize', { crop: { x: 3, y: 2, width: 31, height: 21 }, resize: { width: 9, height: 6 }, normalize: true }],
  ['mild upscale (pairs)', { resize: { width: 50, height: 45 } }],
  ['upscale (general scatter)', { resize: { width: 100, height: 90 } }],
  ['down x, up y', { resize: { width: 11, height: 90 } }],
];

test('sorted batches (binary search) and unsorted ones (per-event scan) give the same frames, any split', () => {
  const ev = events(20_000, 3);
  for (const [name, o] of OPTS) {
    // guard off, so NaN times reach the binner and make every batch unsorted; short windows, lateness 0
    const opts: BinOptions = { windowUs: 200, latenessUs: 0, maxGapUs: 0, ...o };
    const whole = frames(opts, [ev]);
    assert.ok(whole.length > 100, name);
    for (const size of [1, 2, 7, 199, 1000]) sameBits(frames(opts, split(ev, size)), whole, `${name}, batches of ${size}`);
    for (const size of [1, 7, 1000]) sameBits(frames(opts, split(ev, size, true)), whole, `${name}, unsorted batches of ${size}`);
  }
});

test('recycled frames: the same values as fresh ones', () => {
  const ev = events(20_000, 5);
  for (const [name, o] of OPTS) {
    const opts: BinOptions = { windowUs: 300, ...o };
    sameBits(frames(opts, split(ev, 500), true), frames(opts, split(ev, 500)), name);
  }
  // a frame handed back twice is kept once: the next two windows (open at once) must not share its array
  const twice = new FrameBinner({ windowUs: 100, latenessUs: 300, width: W, height: H });
  const spare = { index: 0, t0: 0, t1: 1, counts: new Float32Array(2 * W * H), width: W, height: H, events: 0, lateDropped: 0 };
  twice.recycle(spare);
  twice.recycle(spare);
  const ev2 = events(5000, 9);
  sameBits(frames({ windowUs: 100, latenessUs: 300, width: W, height: H }, [ev2]), (() => {
    const got: Frame[] = [];
    twice.push(ev2, (f) => got.push({ ...f, counts: f.counts.slice() }));
    twice.flush((f) => got.push({ ...f, counts: f.counts.slice() }));
    return got;
  })(), 'recycled twice');
  // a frame of another size is ignored
  const b = new FrameBinner({ windowUs: 300, width: W, height: H });
  b.recycle({ index: 0, t0: 0, t1: 1, counts: new Float32Array(5), width: 1, height: 1, events: 0, lateDropped: 0 });
  const got: Frame[] = [];
  b.push(split(events(2000, 7), 2000)[0]!, (f) => got.push(f));
  b.flush((f) => got.push(f));
  assert.ok(got.every((f) => f.counts.length === 2 * W * H));
});

test('pairWeights: the scatter weights in two slots per input (weight 0 repeats the dst); none past two outputs per input', () => {
  for (const [inS, outS] of [[346, 64], [260, 64], [200, 64], [5, 5], [7, 3], [10, 1], [640, 480]] as const) {
    const s = scatterWeights(areaWeights(inS, outS), inS);
    const pw = pairWeights(s)!;
    assert.ok(pw, `${inS}->${outS}`);
    for (let i = 0; i < inS; i++) {
      const a = s.start[i]!;
      const len = s.start[i + 1]! - a;
      const want = [...Array(len).keys()].map((k) => [s.dst[a + k]!, s.weight[a + k]!]);
      const got = [[pw.d0[i]!, pw.w0[i]!], [pw.d1[i]!, pw.w1[i]!]].filter(([, w]) => w !== 0);
      assert.deepEqual(got, want.filter(([, w]) => w !== 0), `${inS}->${outS} input ${i}`);
      if (len === 1) assert.equal(pw.d1[i], pw.d0[i]);
    }
  }
  assert.ok(pairWeights(scatterWeights(areaWeights(2, 3), 2)), 'a mild upscale still has <= 2 outputs per input');
  assert.equal(pairWeights(scatterWeights(areaWeights(2, 5), 2)), undefined, '2 -> 5: 3 outputs per input');
});

test('isSorted and lowerBound', () => {
  assert.equal(isSorted(Float64Array.from([1, 1, 2, 5]), 4), true);
  assert.equal(isSorted(Float64Array.from([1, 3, 2]), 3), false);
  assert.equal(isSorted(Float64Array.from([1, NaN, 2]), 3), false);
  assert.equal(isSorted(Float64Array.from([1, 3, 2]), 2), true, 'only the first n');
  const t = Float64Array.from([1, 2, 2, 2, 5, 9]);
  assert.equal(lowerBound(t, 0, 6, 2), 1);
  assert.equal(lowerBound(t, 0, 6, 3), 4);
  assert.equal(lowerBound(t, 2, 6, 0), 2);
  assert.equal(lowerBound(t, 0, 6, 10), 6);
  assert.equal(lowerBound(t, 0, 4, 10), 4);
});
