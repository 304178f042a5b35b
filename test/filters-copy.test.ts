/**
 * How filters copy their kept events out (KeptEvents, issue 17): the index form's run copy (few dropped) and
 * gather (many dropped), the column form, and the batch itself when all are kept; checked against a plain
 * per-event copy written here, including runs at the start and end of a batch and a one-event batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBatch } from '../src/events/types.js';
import { KeptEvents } from '../src/filters/filter.js';
import { RefractoryFilter } from '../src/filters/index.js';

function batch(n: number, seed: number): EventBatch {
  let s = seed >>> 0;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const b: EventBatch = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width: 50, height: 40 };
  for (let i = 0; i < n; i++) {
    b.t[i] = 1e15 + i * 0.5; // fractional and large: copied bit for bit
    b.x[i] = Math.floor(rnd() * 50);
    b.y[i] = Math.floor(rnd() * 40);
    b.p[i] = rnd() < 0.5 ? 1 : 0;
  }
  return b;
}

/** The events at `idx`, copied one by one. */
function naive(b: EventBatch, idx: readonly number[]): EventBatch {
  return {
    t: Float64Array.from(idx, (i) => b.t[i]!),
    x: Uint16Array.from(idx, (i) => b.x[i]!),
    y: Uint16Array.from(idx, (i) => b.y[i]!),
    p: Uint8Array.from(idx, (i) => b.p[i]!),
    length: idx.length,
    width: b.width,
    height: b.height,
  };
}

const plain = (b: EventBatch): unknown => ({ t: Array.from(b.t), x: Array.from(b.x), y: Array.from(b.y), p: Array.from(b.p), length: b.length, width: b.width, height: b.height });

test('fromIndex: run copy (few dropped) and gather (many) equal a per-event copy; all kept is the batch itself', () => {
  const n = 1000;
  const b = batch(n, 1);
  const out = new KeptEvents();
  const every = [...Array(n).keys()];
  const cases: [string, number[]][] = [
    ['drop first', every.slice(1)],
    ['drop last', every.slice(0, -1)],
    ['drop a few inside', every.filter((i) => i !== 3 && i !== 500 && i !== 501 && i !== 998)],
    ['keep half', every.filter((i) => i % 2 === 0)],
    ['keep runs of 3', every.filter((i) => i % 5 < 3)],
    ['keep one', [417]],
    ['keep none', []],
  ];
  for (const [name, idx] of cases) {
    const index = out.reserveIndex(n);
    index.set(idx);
    const got = out.fromIndex(b, idx.length);
    assert.deepEqual(plain(got), plain(naive(b, idx)), name);
    assert.notEqual(got.t.buffer, b.t.buffer, `${name}: a copy`);
  }
  out.reserveIndex(n).set(every);
  assert.equal(out.fromIndex(b, n), b, 'all kept');
  // a later, larger batch after a gather: the scratch grows
  const big = batch(5000, 2);
  const idx = [...Array(5000).keys()].filter((i) => i % 3 === 0);
  out.reserveIndex(5000).set(idx);
  assert.deepEqual(plain(out.fromIndex(big, idx.length)), plain(naive(big, idx)));
});

test('fromColumns: the first k events written, copied (later writes do not change them)', () => {
  const out = new KeptEvents().reserveColumns(4);
  out.t.set([1, 2, 3, 4]);
  out.x.set([5, 6, 7, 8]);
  out.y.set([9, 10, 11, 12]);
  out.p.set([1, 0, 1, 0]);
  const got = out.fromColumns(3, 20, 30);
  out.t[0] = 99;
  assert.deepEqual(plain(got), { t: [1, 2, 3], x: [5, 6, 7], y: [9, 10, 11], p: [1, 0, 1], length: 3, width: 20, height: 30 });
});

test('a filter over batches whose drop rate crosses the run-copy threshold equals a per-event reference', () => {
  // refractory 100 µs on one pixel row firing at varying rates: some batches drop 1 event in 500, others half
  const n = 20_000;
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    // first half: 1000 pixels in turn, 10 µs apart, every 500th event repeating the previous pixel (dropped);
    // second half: two pixels in turn 30 µs apart (every other event of each pixel dropped)
    t[i] = i < n / 2 ? i * 10 : n * 5 + (i - n / 2) * 30;
    x[i] = i < n / 2 ? (i % 500 === 499 ? (i - 1) % 1000 : i % 1000) : i % 2;
  }
  const b: EventBatch = { t, x, y: new Uint16Array(n), p: new Uint8Array(n).fill(1), length: n, width: 1000, height: 1 };
  const f = new RefractoryFilter({ periodUs: 100 });
  const got: number[] = [];
  for (let o = 0; o < n; o += 777) {
    const part = f.apply({ t: t.subarray(o, o + 777), x: x.subarray(o, o + 777), y: b.y.subarray(o, o + 777), p: b.p.subarray(o, o + 777), length: Math.min(777, n - o), width: 1000, height: 1 });
    got.push(...part.t);
  }
  // reference: last kept time per pixel
  const last = new Map<number, number>();
  const want: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = last.get(x[i]!);
    if (l !== undefined && t[i]! >= l && t[i]! - l < 100) continue;
    last.set(x[i]!, t[i]!);
    want.push(t[i]!);
  }
  assert.ok(want.length < n * 0.8 && want.length > n / 2, 'both regimes');
  assert.deepEqual(got, want);
});
