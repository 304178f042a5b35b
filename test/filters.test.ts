/**
 * Denoising filters (src/filters): crafted streams with hand-computed results, every split of a small
 * stream into batches, hostile values, the RxJS operators, and the real DAVIS240 recording against naive
 * re-implementations written here (per-event, bounds-checked, no shared code with src/filters).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, from, toArray } from 'rxjs';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { readEventFile } from '../src/events/read-file.js';
import {
  BackgroundActivityFilter,
  FilterChain,
  FilterOptionError,
  HotPixelFilter,
  RefractoryFilter,
  backgroundActivityFilter,
  filterChain,
  PixelRates,
  refractoryFilter,
  type EventFilter,
} from '../src/filters/index.js';
import { batchOf, type EventRow } from './helpers/batches.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { runCli } from './helpers/cli.js';
import { filterArg } from '../src/cli/options.js';
import { UsageError } from '../src/cli/errors.js';
import { parsePipeline } from '../src/pipeline/config.js';
import { Pipeline } from '../src/pipeline/runner.js';
import { VirtualClock } from './helpers/virtual-time.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The kept events of one filter over `rows` in one batch, as rows. */
function keptRows(f: EventFilter, rows: readonly EventRow[], w = 8, h = 6): EventRow[] {
  return rowsOf(f.apply(batchOf(rows, w, h)));
}

function rowsOf(b: EventBatch): EventRow[] {
  return Array.from({ length: b.length }, (_, i) => [b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!] as EventRow);
}

// ------------------------------------------------------------------ naive references (independent)

/** BAF as stated: an event passes if one of its 8 neighbours (inside the sensor) had an event with |dt| < win. */
function naiveBaf(rows: readonly EventRow[], win: number, w: number, h: number): boolean[] {
  const last: number[][] = Array.from({ length: w }, () => Array.from({ length: h }, () => NaN));
  return rows.map(([t, x, y]) => {
    let ok = false;
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++) {
        if (dx === 0 && dy === 0) continue;
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const l = last[nx]![ny]!;
        if (!Number.isNaN(l) && Math.abs(t - l) < win) ok = true;
      }
    last[x]![y] = t;
    return ok;
  });
}

/** Refractory as stated: dropped when 0 <= t - (the pixel's last kept time) < period. */
function naiveRefractory(rows: readonly EventRow[], period: number): boolean[] {
  const last = new Map<string, number>();
  return rows.map(([t, x, y]) => {
    const l = last.get(`${x},${y}`);
    if (l !== undefined && t >= l && t - l < period) return false;
    last.set(`${x},${y}`, t);
    return true;
  });
}

// ------------------------------------------------------------------ background activity

test('BAF: a neighbour less than windowUs before passes the event; exactly windowUs, a pixel two away, or the pixel itself do not', () => {
  const f = new BackgroundActivityFilter({ windowUs: 100, width: 8, height: 6 });
  const kept = keptRows(f, [
    [1000, 3, 3, 1], // no one before: dropped
    [1099, 4, 4, 0], // diagonal neighbour 99 µs before: kept (either polarity supports)
    [1199, 4, 4, 1], // only the pixel itself fired (100 µs before): dropped (self never supports)
    [1200, 6, 4, 1], // two pixels away from (4,4): dropped
    [1299, 5, 4, 1], // (4,4) at 1199 is 100 µs before (not < 100), (6,4) at 1200 99 µs before: kept
    [1400, 2, 2, 1], // (3,3) fired at 1000: 400 µs before: dropped
  ]);
  assert.deepEqual(kept, [
    [1099, 4, 4, 0],
    [1299, 5, 4, 1],
  ]);
  assert.deepEqual(f.stats, { in: 6, kept: 2, outside: 0 });
});

test('BAF: edge and corner pixels see only their in-sensor neighbours (no wrap to the other side)', () => {
  const f = new BackgroundActivityFilter({ windowUs: 1000, width: 8, height: 6 });
  // (7,0) and (0,1) are neighbours in a flat row-major array (index 7 and 8): they must not support each other
  assert.deepEqual(keptRows(f, [[10, 7, 0, 1], [11, 0, 1, 1], [12, 0, 0, 1], [13, 7, 5, 1], [14, 6, 4, 1], [15, 0, 5, 0]]), [
    [12, 0, 0, 1], // (0,1) supports the corner
    [14, 6, 4, 1], // the opposite corner (7,5) supports (6,4)
  ]);
});

test('BAF: a time jump backwards is a fresh start, not a free pass', () => {
  const f = new BackgroundActivityFilter({ windowUs: 100, width: 8, height: 6 });
  // neighbours at t = 1e6; then time restarts at 0 (a looped file): |dt| is huge, nothing supports
  assert.deepEqual(keptRows(f, [[1_000_000, 1, 1, 1], [1_000_050, 2, 1, 1], [0, 1, 2, 1], [30, 2, 2, 1]]), [
    [1_000_050, 2, 1, 1],
    [30, 2, 2, 1], // supported by (1,2) at 0, after the jump
  ]);
});

test('BAF: streams whose time goes back and forth (loops, jitter) match the naive filter, in any batch sizes', () => {
  // The filter keeps a neighbour-max map while time runs forward and falls back to eight reads after a
  // backward jump, rebuilding the map once enough events have passed: thousands of events on a small
  // sensor (42 padded cells) cross both paths and many rebuilds, with jumps back, jitter and ties.
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const rows: EventRow[] = [];
  let t = 0;
  for (let i = 0; i < 6000; i++) {
    const r = rnd(100);
    if (r < 3) t = Math.max(0, t - rnd(400)); // a jump back
    else if (r < 10) t -= rnd(30); // jitter: slightly out of order
    else t += rnd(25); // forward (0: a tie)
    rows.push([t, rnd(5), rnd(4), rnd(2)]);
  }
  const expected = rows.filter((_, i) => naiveBaf(rows, 60, 5, 4)[i]);
  assert.ok(expected.length > 1000 && expected.length < rows.length - 500, `both outcomes occur (${expected.length} of ${rows.length})`);
  assert.deepEqual(rowsOf(new BackgroundActivityFilter({ windowUs: 60, width: 5, height: 4 }).apply(batchOf(rows, 5, 4))), expected);
  for (const size of [1, 7, 100, 999]) {
    const f = new BackgroundActivityFilter({ windowUs: 60, width: 5, height: 4 });
    const got: EventRow[] = [];
    for (let i = 0; i < rows.length; i += size) got.push(...rowsOf(f.apply(batchOf(rows.slice(i, i + size), 5, 4))));
    assert.deepEqual(got, expected, `batches of ${size}`);
  }
  // a long forward run after the jumps (the one-read path, after a rebuild) still matches
  const tail: EventRow[] = Array.from({ length: 3000 }, (_, i) => [t + 1000 + 7 * i, rnd(5), rnd(4), 1] as EventRow);
  const all = [...rows, ...tail];
  const f = new BackgroundActivityFilter({ windowUs: 60, width: 5, height: 4 });
  assert.deepEqual([...rowsOf(f.apply(batchOf(rows, 5, 4))), ...rowsOf(f.apply(batchOf(tail, 5, 4)))], all.filter((_, i) => naiveBaf(all, 60, 5, 4)[i]));
});

// ------------------------------------------------------------------ refractory

test('refractory: per pixel, either polarity, from the last kept event', () => {
  const f = new RefractoryFilter({ periodUs: 100, width: 8, height: 6 });
  const kept = keptRows(f, [
    [0, 2, 2, 1],
    [50, 2, 2, 0], // 50 after a kept one, other polarity: dropped
    [60, 3, 2, 1], // another pixel: kept
    [100, 2, 2, 1], // 100 after the kept one at 0: kept (not < 100)
    [150, 2, 2, 1], // dropped
    [199, 2, 2, 1], // 99 after 100 (the period runs from the last kept, not from 150): dropped
    [200, 2, 2, 1], // kept
  ]);
  assert.deepEqual(kept, [
    [0, 2, 2, 1],
    [60, 3, 2, 1],
    [100, 2, 2, 1],
    [200, 2, 2, 1],
  ]);
});

test('refractory: a backward time jump never silences a pixel', () => {
  const f = new RefractoryFilter({ periodUs: 100, width: 8, height: 6 });
  assert.deepEqual(keptRows(f, [[5000, 1, 1, 1], [10, 1, 1, 1], [60, 1, 1, 1], [110, 1, 1, 1]]), [
    [5000, 1, 1, 1],
    [10, 1, 1, 1],
    [110, 1, 1, 1],
  ]);
});

// ------------------------------------------------------------------ hot pixels

test('hot pixels: learned over learnUs from the first event (k x the mean of active pixels), listed, then masked', () => {
  const rows: EventRow[] = [];
  // learning [1000, 2000): pixel (5,1) fires 40 times, (6,1) 4 times, 6 pixels once each
  for (let i = 0; i < 40; i++) rows.push([1000 + i * 20, 5, 1, i & 1]);
  for (let i = 0; i < 4; i++) rows.push([1001 + i * 100, 6, 1, 1]);
  for (let i = 0; i < 6; i++) rows.push([1500 + i, i, 4, 0]);
  rows.sort((a, b) => a[0] - b[0]);
  // 50 events on 8 active pixels: mean 6.25, k = 5 -> threshold 31.25: only (5,1) (6,1 has 4)
  rows.push([2000, 5, 1, 1], [2001, 6, 1, 1], [2002, 0, 4, 0], [9000, 5, 1, 0]);
  const f = new HotPixelFilter({ learnUs: 1000, k: 5, width: 8, height: 6 });
  const kept = rowsOf(f.apply(batchOf(rows)));
  assert.equal(kept.length, 50 + 2, 'all 50 learning events pass, then (5,1) is masked');
  assert.deepEqual(kept.slice(50), [
    [2001, 6, 1, 1],
    [2002, 0, 4, 0],
  ]);
  assert.deepEqual(f.hotPixels, [{ x: 5, y: 1, count: 40 }]);
  assert.equal(f.learning, false);
});

test('hot pixels: an absolute rate threshold, a given list, and a stream that ends while learning', () => {
  const rows: EventRow[] = [];
  for (let i = 0; i < 10; i++) rows.push([i * 100, 1, 1, 1]); // 10 events in 1 ms = 10 kHz
  for (let i = 0; i < 9; i++) rows.push([i * 100 + 1, 2, 1, 1]); // 9 kHz
  rows.sort((a, b) => a[0] - b[0]);
  rows.push([1000, 1, 1, 1], [1001, 2, 1, 1], [1002, 3, 3, 1]);
  const byRate = new HotPixelFilter({ learnUs: 1000, rateHz: 10_000, width: 8, height: 6 });
  assert.deepEqual(keptRows(byRate, rows).slice(19), [[1001, 2, 1, 1], [1002, 3, 3, 1]]);
  assert.deepEqual(byRate.hotPixels, [{ x: 1, y: 1, count: 10 }]);

  const given = new HotPixelFilter({ pixels: [[3, 3], [2, 1]], width: 8, height: 6 });
  assert.equal(keptRows(given, rows).length, 10 + 1); // only (1,1)'s events are left
  assert.deepEqual(given.hotPixels, [{ x: 3, y: 3, count: 0 }, { x: 2, y: 1, count: 0 }]);
  assert.equal(given.learning, false);

  const short = new HotPixelFilter({ learnUs: 10_000, width: 8, height: 6 });
  assert.equal(keptRows(short, rows).length, rows.length);
  assert.equal(short.learning, true);
  assert.deepEqual(short.hotPixels, []);
});

// ------------------------------------------------------------------ batch boundaries

/** 12 events on a 5 x 4 sensor mixing kept and dropped for every filter (hand-picked). */
const SMALL: EventRow[] = [
  [100, 1, 1, 1],
  [130, 2, 2, 0],
  [150, 2, 2, 1],
  [170, 1, 1, 1],
  [260, 4, 3, 0],
  [300, 3, 3, 1],
  [320, 3, 3, 1],
  [330, 0, 0, 0],
  [400, 1, 1, 1],
  [420, 1, 1, 1],
  [480, 2, 1, 1],
  [900, 1, 1, 0],
];

test('every split of a small stream into batches gives the same kept events (state carries across batches)', () => {
  const make: [string, () => EventFilter][] = [
    ['baf', () => new BackgroundActivityFilter({ windowUs: 60, width: 5, height: 4 })],
    ['refractory', () => new RefractoryFilter({ periodUs: 50, width: 5, height: 4 })],
    ['hot', () => new HotPixelFilter({ learnUs: 250, k: 1.1, width: 5, height: 4 })],
    ['chain', () => new FilterChain([{ type: 'hotPixel', learnUs: 250, k: 1.1 }, { type: 'refractory', periodUs: 50 }, { type: 'backgroundActivity', windowUs: 60 }], { width: 5, height: 4 })],
  ];
  const n = SMALL.length;
  for (const [name, mk] of make) {
    const whole = rowsOf(mk().apply(batchOf(SMALL, 5, 4)));
    assert.ok(whole.length > 0 && whole.length < n, `${name}: the stream mixes kept and dropped (${whole.length} of ${n})`);
    // every composition: bit i of `cuts` set = a batch boundary after event i (2^(n-1) splits)
    for (let cuts = 0; cuts < 1 << (n - 1); cuts++) {
      const f = mk();
      const got: EventRow[] = [];
      let start = 0;
      for (let i = 0; i < n; i++)
        if (i === n - 1 || (cuts >> i) & 1) {
          got.push(...rowsOf(f.apply(batchOf(SMALL.slice(start, i + 1), 5, 4))));
          start = i + 1;
        }
      assert.deepEqual(got, whole, `${name}: split ${cuts.toString(2)}`);
    }
  }
  // and the single-batch results are the naive ones
  assert.deepEqual(rowsOf(new BackgroundActivityFilter({ windowUs: 60, width: 5, height: 4 }).apply(batchOf(SMALL, 5, 4))), SMALL.filter((_, i) => naiveBaf(SMALL, 60, 5, 4)[i]));
  assert.deepEqual(rowsOf(new RefractoryFilter({ periodUs: 50, width: 5, height: 4 }).apply(batchOf(SMALL, 5, 4))), SMALL.filter((_, i) => naiveRefractory(SMALL, 50)[i]));
});

// ------------------------------------------------------------------ hostile values

test('events outside the sensor or with a NaN time are counted and dropped, never indexed into a map', () => {
  const rows: EventRow[] = [
    [10, 8, 0, 1], // x = width
    [11, 0, 6, 1], // y = height
    [12, 65535, 65535, 0],
    [NaN, 1, 1, 1],
    [14, 1, 1, 1],
    [15, 2, 2, 1],
  ];
  for (const f of [new BackgroundActivityFilter({ windowUs: 100, width: 8, height: 6 }), new RefractoryFilter({ periodUs: 100, width: 8, height: 6 }), new HotPixelFilter({ learnUs: 5, width: 8, height: 6 })]) {
    const kept = keptRows(f, rows);
    assert.equal(f.stats.outside, 4, f.label);
    assert.ok(kept.every(([t, x, y]) => x < 8 && y < 6 && !Number.isNaN(t)), f.label);
  }
  // a filter sized from its first batch keeps that size: a later, larger batch's extra pixels are outside
  const lazy = new RefractoryFilter({ periodUs: 10 });
  lazy.apply(batchOf([[0, 1, 1, 1]], 4, 4));
  assert.deepEqual(keptRows(lazy, [[5, 6, 6, 1], [6, 3, 3, 1]], 8, 8), [[6, 3, 3, 1]]);
  assert.equal(lazy.stats.outside, 1);
});

test('bad options and implausible sensors are a FilterOptionError naming the field', () => {
  assert.throws(() => new BackgroundActivityFilter({ windowUs: 0 }), (e: unknown) => e instanceof FilterOptionError && /windowUs must be a number > 0, got 0/.test(e.message));
  assert.throws(() => new RefractoryFilter({ periodUs: NaN }), /periodUs must be a number > 0/);
  assert.throws(() => new HotPixelFilter({ k: -1 }), /k must be a number > 0/);
  assert.throws(() => new HotPixelFilter({ learnUs: -5 }), /learnUs must be a number >= 0/);
  assert.throws(() => new HotPixelFilter({ pixels: [[8, 0]], width: 8, height: 6 }), /pixel \[8, 0\] is outside the 8 x 6 sensor/);
  assert.throws(() => new BackgroundActivityFilter({ windowUs: 10, width: 5000, height: 10 }), /sensor size must be integers 1..4096, got 5000 x 10/);
  assert.throws(() => new RefractoryFilter({ periodUs: 10 }).apply(batchOf([[0, 0, 0, 0]], 0, 0)), FilterOptionError);
});

// ------------------------------------------------------------------ operators

test('operators: the same events as apply(), empty results not emitted, fresh state per subscription', async () => {
  const batches = [batchOf(SMALL.slice(0, 5), 5, 4), batchOf(SMALL.slice(5, 6), 5, 4), batchOf(SMALL.slice(6), 5, 4)];
  const op = backgroundActivityFilter({ windowUs: 60, width: 5, height: 4 });
  const src = from(batches);
  const a = await firstValueFrom(src.pipe(op, toArray()));
  const b = await firstValueFrom(src.pipe(op, toArray())); // a second subscription starts from a clean map
  const expected = SMALL.filter((_, i) => naiveBaf(SMALL, 60, 5, 4)[i]);
  assert.deepEqual(a.flatMap(rowsOf), expected);
  assert.deepEqual(b.flatMap(rowsOf), expected);
  assert.ok(a.every((x) => x.length > 0));
  // refractory via the operator, and a chain handed in keeps its reports
  const r = await firstValueFrom(src.pipe(refractoryFilter({ periodUs: 50 }), toArray()));
  assert.deepEqual(r.flatMap(rowsOf), SMALL.filter((_, i) => naiveRefractory(SMALL, 50)[i]));
  const chain = new FilterChain([{ type: 'refractory', periodUs: 50 }, { type: 'backgroundActivity', windowUs: 60 }]);
  await firstValueFrom(src.pipe(filterChain(chain), toArray()));
  const rep = chain.report();
  assert.deepEqual(rep.map((x) => [x.filter, x.in, x.kept]), [
    ['refractory(periodUs=50)', 12, naiveRefractory(SMALL, 50).filter(Boolean).length],
    ['backgroundActivity(windowUs=60)', naiveRefractory(SMALL, 50).filter(Boolean).length, naiveBafKept(SMALL.filter((_, i) => naiveRefractory(SMALL, 50)[i]))],
  ]);
});

/** Kept count of the naive BAF (window 60, 5 x 4) over `rows`. */
function naiveBafKept(rows: EventRow[]): number {
  return naiveBaf(rows, 60, 5, 4).filter(Boolean).length;
}

// ------------------------------------------------------------------ a real recording

const DAVIS = 'davis240-translboxes.aedat';

test('real DAVIS240 recording: each filter keeps exactly what the naive re-implementation keeps', { skip: skipUnless(sharedRecording(DAVIS), DAVIS) }, async () => {
  const baf = new BackgroundActivityFilter({ windowUs: 10_000 });
  const refr = new RefractoryFilter({ periodUs: 1000 });
  const hot = new HotPixelFilter({ learnUs: 500_000 });
  const all: EventBatch[] = [];
  const kept: Record<string, number> = { baf: 0, refr: 0, hot: 0 };
  await readEventFile(sharedRecording(DAVIS)!, (b) => {
    all.push(b);
    kept.baf! += baf.apply(b).length;
    kept.refr! += refr.apply(b).length;
    kept.hot! += hot.apply(b).length;
  });
  assert.ok(all.length > 1, 'the file arrives in many batches');
  const whole = concatBatches(all);
  assert.equal(whole.length, 162771); // README fact
  const rows = rowsOf(whole);
  const naiveKeptBaf = naiveBaf(rows, 10_000, 240, 180).filter(Boolean).length;
  assert.equal(kept.baf, naiveKeptBaf);
  assert.ok(naiveKeptBaf > 0.3 * rows.length && naiveKeptBaf < rows.length, `BAF keeps part of the file (${naiveKeptBaf})`);
  assert.equal(kept.refr, naiveRefractory(rows, 1000).filter(Boolean).length);
  // hot pixels: counts over [t0, t0 + 0.5 s), threshold 10 x the mean of the active pixels
  const t0 = rows[0]![0];
  const counts = new Map<string, number>();
  for (const [t, x, y] of rows) if (t < t0 + 500_000) counts.set(`${x},${y}`, (counts.get(`${x},${y}`) ?? 0) + 1);
  const learnN = [...counts.values()].reduce((s, c) => s + c, 0);
  const thr = (10 * learnN) / counts.size;
  const hotSet = new Set([...counts].filter(([, c]) => c >= thr).map(([k]) => k));
  assert.deepEqual(new Set(hot.hotPixels.map((p) => `${p.x},${p.y}`)), hotSet);
  assert.ok(hotSet.size >= 1, 'the recording has a hot pixel');
  const expectHot = rows.filter(([t, x, y]) => t < t0 + 500_000 || !hotSet.has(`${x},${y}`)).length;
  assert.equal(kept.hot, expectHot);
});

// ------------------------------------------------------------------ configuration and CLI

test('framing.filters: defaults filled in, each bad field named', () => {
  const cfg = (filters: unknown) => parsePipeline({ source: { type: 'file', path: 'a' }, framing: { filters } }, '/x', 'p.json');
  assert.deepEqual(parsePipeline({ source: { type: 'file', path: 'a' } }, '/x').framing.filters, []);
  assert.deepEqual(cfg([{ type: 'backgroundActivity' }, { type: 'refractory' }, { type: 'hotPixel', k: 4 }]).framing.filters, [
    { type: 'backgroundActivity', windowUs: 10_000 },
    { type: 'refractory', periodUs: 100 },
    { type: 'hotPixel', k: 4 },
  ]);
  assert.throws(() => cfg([{ type: 'refractory', periodUs: 0 }]), /p\.json: \/framing\/filters\/0\/periodUs must be > 0/);
  assert.throws(() => cfg([{ type: 'refractory' }, { type: 'backgroundActivity', periodUs: 5 }]), /\/framing\/filters\/1\/periodUs is not a known field/);
  assert.throws(() => cfg([{ type: 'median' }]), /\/framing\/filters\/0\/type must be one of "backgroundActivity", "hotPixel", "refractory"/);
  assert.throws(() => cfg([{ windowUs: 5 }]), /p\.json: \/framing\/filters\/0\/type is required$/);
  assert.throws(() => cfg([{ type: 'hotPixel', pixels: [[1]] }]), /\/framing\/filters\/0\/pixels\/0 must NOT have fewer than 2 items/);
});

test('pixel rates: each pixel in its decade bin (count / duration), silent pixels apart, the busiest rate', () => {
  const r = new PixelRates();
  // 2 s from the first to the last event; 8 x 6 = 48 pixels
  const rows: EventRow[] = [[0, 0, 0, 1]];
  for (let i = 1; i <= 30; i++) rows.push([i * 1000, 1, 0, 0]); // 30 events / 2 s = 15 Hz
  rows.push([1_000_000, 2, 0, 1], [1_500_000, 2, 0, 1]); // 2 / 2 s = 1 Hz: the 1-10 bin (edges are lower-inclusive)
  rows.push([2_000_000, 3, 0, 0]); // 0.5 Hz
  r.add(batchOf(rows.slice(0, 10)));
  r.add(batchOf(rows.slice(10)));
  r.add(batchOf([[2_000_000, 9, 9, 0]])); // outside the 8 x 6 sensor: not counted
  const h = r.histogram();
  assert.deepEqual(h.bins, ['silent', '<0.1 Hz', '0.1-1 Hz', '1-10 Hz', '10-100 Hz', '100-1000 Hz', '>=1000 Hz']);
  // pixel (0,0): 1 event = 0.5 Hz; (1,0): 15 Hz; (2,0): 1 Hz; (3,0): 0.5 Hz; 44 silent
  assert.deepEqual(h.pixels, [44, 0, 2, 1, 1, 0, 0]);
  assert.equal(h.maxHz, 15);
  assert.deepEqual(r.histogram(20_000_000).pixels, [44, 2, 1, 1, 0, 0, 0], 'over 20 s: 0.05, 1.5, 0.1 and 0.05 Hz');
  assert.deepEqual(new PixelRates().histogram().pixels, [0, 0, 0, 0, 0, 0, 0], 'no events: no sensor, no pixels');
});

test('--filter items: short names, defaults, numbers, and one-line refusals', () => {
  assert.deepEqual(filterArg('baf', '--filter'), { type: 'backgroundActivity', windowUs: 10_000 });
  assert.deepEqual(filterArg('baf:2500', '--filter'), { type: 'backgroundActivity', windowUs: 2500 });
  assert.deepEqual(filterArg('refractory:1000', '--filter'), { type: 'refractory', periodUs: 1000 });
  assert.deepEqual(filterArg('refractory', '--filter'), { type: 'refractory', periodUs: 100 });
  assert.deepEqual(filterArg('hot', '--filter'), { type: 'hotPixel' });
  assert.deepEqual(filterArg('hot:0', '--filter'), { type: 'hotPixel', learnUs: 0 });
  assert.deepEqual(filterArg('hotPixel:200000:3', '--filter'), { type: 'hotPixel', learnUs: 200_000, k: 3 });
  for (const bad of ['bof', 'baf:0', 'baf:-1', 'baf:', 'baf:1:2', 'refractory:x', 'hot:1:0', 'hot:1:2:3', ''])
    assert.throws(() => filterArg(bad, '--filter'), (e: unknown) => e instanceof UsageError && e.message.startsWith('--filter must be baf[:windowUs]'), bad);
});

test('evstream info / frames --filter: kept counts per filter, frames built from the kept events', { skip: skipUnless(sharedRecording(DAVIS), DAVIS) }, async () => {
  const path = sharedRecording(DAVIS)!;
  const r = await runCli(['info', path, '--json', '--filter', 'baf:10000,refractory:1000', '--filter', 'hot']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    events: number;
    width: number;
    height: number;
    durationUs: number;
    filters: { filter: string; in: number; kept: number }[];
    pixelRates: { before: { bins: string[]; pixels: number[]; maxHz: number }; after: { pixels: number[]; maxHz: number } };
  };
  assert.equal(j.events, 162771, 'info still describes the file');
  // per-pixel rate histograms: every pixel in one bin, before and after; the filters only remove events
  const { before, after } = j.pixelRates;
  assert.equal(before.pixels.reduce((s, v) => s + v, 0), j.width * j.height);
  assert.equal(after.pixels.reduce((s, v) => s + v, 0), j.width * j.height);
  assert.ok(after.pixels[0]! > before.pixels[0]!, 'the filters silence some pixels');
  assert.ok(after.maxHz < before.maxHz);
  // the same chain in process (each filter's kept counts are checked against naive ones above)
  const chain = new FilterChain([{ type: 'backgroundActivity', windowUs: 10_000 }, { type: 'refractory', periodUs: 1000 }, { type: 'hotPixel' }]);
  await readEventFile(path, (b) => void chain.apply(b));
  assert.deepEqual(j.filters.map((f) => [f.filter, f.in, f.kept]), chain.report().map((f) => [f.filter, f.in, f.kept]));
  assert.ok(j.filters[0]!.kept < j.filters[0]!.in && j.filters[1]!.in === j.filters[0]!.kept);

  const dir = mkdtempSync(join(tmpdir(), 'evstream-filters-'));
  try {
    const out = join(dir, 'f.npy');
    const fr = await runCli(['frames', path, '--out', out, '--filter', 'baf']);
    assert.equal(fr.code, 0, fr.stderr);
    assert.match(fr.stderr, /frames: backgroundActivity\(windowUs=10000\) kept (\d+) of 162771 events/);
    const kept = Number(/kept (\d+) of/.exec(fr.stderr)![1]);
    // float32 counts after the 128-byte header sum to the events kept
    const bytes = readFileSync(out);
    const counts = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + bytes.length));
    assert.equal(counts.reduce((s, v) => s + v, 0), kept);
    assert.equal(kept, j.filters[0]!.kept);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pipeline: framing.filters run before binning; the recorder stream stays unfiltered; status counts each filter', { skip: skipUnless(sharedRecording(DAVIS), DAVIS) }, async () => {
  const path = sharedRecording(DAVIS)!;
  const cfg = parsePipeline(
    {
      source: { type: 'file', path, speed: 100, loop: false },
      framing: { windowMs: 50, size: [16, 16], filters: [{ type: 'backgroundActivity', windowUs: 10_000 }, { type: 'refractory', periodUs: 1000 }] },
      model: { arch: 'spiking-fcn', checkpoint: null, width: 0.0625, T: 1, seed: 1 },
      runtime: { dropPolicy: 'merge' },
      sinks: { viewer: { enabled: false } },
    },
    '/',
  );
  const clock = new VirtualClock();
  const p = await Pipeline.create(cfg, { scheduler: clock.scheduler });
  let raw = 0;
  let binned = 0;
  let done = false;
  p.events$.subscribe((b) => (raw += b.length));
  p.results$.subscribe({ next: (r) => (binned += r.events), complete: () => (done = true) });
  p.start();
  try {
    await clock.run({ until: () => done, what: 'the source to end', realTimeoutMs: 60_000 });
    const chain = new FilterChain(cfg.framing.filters!);
    await readEventFile(path, (b) => void chain.apply(b));
    const want = chain.report().map((r) => ({ filter: r.filter, in: r.in, kept: r.kept, outside: 0 }));
    assert.deepEqual(p.status().filters, want);
    assert.equal(raw, 162771, 'the recorder sees every event');
    assert.equal(binned, want[1]!.kept, 'frames (merged, none dropped) hold exactly the kept events');
  } finally {
    p.stop();
  }
});

test('the filters keep no batch: on pooled AEDAT 4 batches (reused arrays) the chain keeps exactly what it keeps on fresh ones', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4'), 'dvs-lz4-sample.aedat4') }, async () => {
  // `evstream info` / `frames` read with reuseBatches: a filter that held a batch (or a view of it) past
  // apply() would see it overwritten by the next packet and keep other events than on fresh batches.
  const path = sharedRecording('dvs-lz4-sample.aedat4')!;
  const run = async (reuseBatches: boolean): Promise<{ kept: EventBatch; batches: number }> => {
    const chain = new FilterChain([{ type: 'hotPixel', learnUs: 200_000 }, { type: 'backgroundActivity', windowUs: 5_000 }, { type: 'refractory', periodUs: 500 }]);
    const out: EventBatch[] = [];
    let batches = 0;
    await readEventFile(path, (b) => {
      batches++;
      const k = chain.apply(b);
      out.push({ ...k, t: k.t.slice(0, k.length), x: k.x.slice(0, k.length), y: k.y.slice(0, k.length), p: k.p.slice(0, k.length) });
    }, { reuseBatches, chunkSize: 16 << 10 }); // small chunks: the arena is reset (reused) many times
    return { kept: concatBatches(out), batches };
  };
  const fresh = await run(false);
  const pooled = await run(true);
  assert.ok(fresh.batches > 10, `many packets (${fresh.batches})`);
  assert.ok(fresh.kept.length > 0 && fresh.kept.length < 1e9);
  assert.equal(pooled.kept.length, fresh.kept.length);
  assert.deepEqual([pooled.kept.t, pooled.kept.x, pooled.kept.y, pooled.kept.p], [fresh.kept.t, fresh.kept.x, fresh.kept.y, fresh.kept.p]);
});
