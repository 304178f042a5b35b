/** Shared helpers for the AEDAT 4 tests (not a test file itself: no `.test.` in the name). */
import type { EventBatch } from '../src/events/types.js';
import type { FormatWarning } from '../src/events/errors.js';
import { Aedat4Decoder, type Aedat4DecoderOptions } from '../src/events/aedat4/index.js';

export interface EventStats {
  count: number;
  on: number;
  off: number;
  tFirst: number;
  tLast: number;
  xyp: number;
  dt: number;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  monotonic: boolean;
  /** ON/OFF counts in 50 ms windows [t0 + k*50000, t0 + (k+1)*50000), k = 0..4. */
  windows: Array<[number, number]>;
}

const MOD = 4294967296;

export function statsOf(batches: readonly EventBatch[]): EventStats {
  const s: EventStats = {
    count: 0,
    on: 0,
    off: 0,
    tFirst: NaN,
    tLast: NaN,
    xyp: 0,
    dt: 0,
    minX: Infinity,
    maxX: -Infinity,
    minY: Infinity,
    maxY: -Infinity,
    monotonic: true,
    windows: [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  };
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const t = b.t[i]!;
      const x = b.x[i]!;
      const y = b.y[i]!;
      const p = b.p[i]!;
      if (s.count === 0) s.tFirst = t;
      else if (t < s.tLast) s.monotonic = false;
      s.tLast = t;
      s.count++;
      if (p) s.on++;
      else s.off++;
      // Reduce every step: each term < 2^21 and the running sum < 2^32, so doubles stay exact.
      s.xyp = (s.xyp + x + 1000 * y + 1000000 * p) % MOD;
      s.dt = (s.dt + (t - s.tFirst)) % MOD;
      if (x < s.minX) s.minX = x;
      if (x > s.maxX) s.maxX = x;
      if (y < s.minY) s.minY = y;
      if (y > s.maxY) s.maxY = y;
      const k = Math.floor((t - s.tFirst) / 50000);
      if (k >= 0 && k < 5) s.windows[k]![p ? 0 : 1]++;
    }
  }
  return s;
}

export interface DecodeResult {
  batches: EventBatch[];
  warnings: FormatWarning[];
  decoder: Aedat4Decoder;
  error?: unknown;
}

/** Feed `bytes` in chunks of `chunkSize` (whole input when undefined); errors are captured, not thrown. */
export function decodeChunked(bytes: Uint8Array, chunkSize?: number, opts: Partial<Aedat4DecoderOptions> = {}): DecodeResult {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const decoder = new Aedat4Decoder(
    { batch: (b) => batches.push(b), warn: (w) => warnings.push(w) },
    { source: 'test.aedat4', ...opts },
  );
  try {
    const step = chunkSize ?? Math.max(1, bytes.length);
    for (let i = 0; i < bytes.length; i += step) decoder.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
    decoder.end();
    return { batches, warnings, decoder };
  } catch (error) {
    return { batches, warnings, decoder, error };
  }
}

/** Deterministic DVS-like events: `n` events, µs timestamps increasing from `tStart`. */
export function syntheticEvents(n: number, tStart = 1_600_000_000_000_000, seed = 7): EventBatch {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / MOD;
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  const y = new Uint16Array(n);
  const p = new Uint8Array(n);
  let now = tStart;
  for (let i = 0; i < n; i++) {
    now += Math.floor(rnd() * 20);
    t[i] = now;
    x[i] = Math.floor(rnd() * 346);
    y[i] = Math.floor(rnd() * 260);
    p[i] = rnd() < 0.5 ? 1 : 0;
  }
  return { t, x, y, p, length: n, width: 346, height: 260 };
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function assertSameEvents(a: readonly EventBatch[], b: readonly EventBatch[]): string | undefined {
  const flat = (bs: readonly EventBatch[]) => {
    const n = bs.reduce((s, x) => s + x.length, 0);
    const t = new Float64Array(n);
    const xy = new Uint32Array(n);
    let o = 0;
    for (const bt of bs) {
      for (let i = 0; i < bt.length; i++, o++) {
        t[o] = bt.t[i]!;
        xy[o] = bt.x[i]! | (bt.y[i]! << 16);
      }
    }
    const p = new Uint8Array(n);
    o = 0;
    for (const bt of bs) for (let i = 0; i < bt.length; i++) p[o++] = bt.p[i]!;
    return { n, t, xy, p };
  };
  const A = flat(a);
  const B = flat(b);
  if (A.n !== B.n) return `length ${A.n} != ${B.n}`;
  for (let i = 0; i < A.n; i++) {
    if (A.t[i] !== B.t[i] || A.xy[i] !== B.xy[i] || A.p[i] !== B.p[i]) return `event ${i} differs`;
  }
  return undefined;
}
