import type { EventBatch } from './types.js';

/** Events summed before one reduction mod 2^32: sums stay below 2^52 (terms < 2^32). */
const FAST_BLOCK = 1 << 20;

/** Running summary of an event stream: counts, time span, ranges, order, and content checksums. */
export class EventStats {
  events = 0;
  on = 0;
  off = 0;
  tFirstUs = NaN;
  tLastUs = NaN;
  /** Smallest and largest timestamp (differ from first / last when the stream is out of order). */
  tMinUs = Infinity;
  tMaxUs = -Infinity;
  xMin = Infinity;
  xMax = -1;
  yMin = Infinity;
  yMax = -1;
  /** Events whose timestamp is smaller than the previous event's. */
  nonMonotonic = 0;
  /** sum(x + 1000*y + 1000000*p) mod 2^32 (raw stored x, y). */
  xypChecksum = 0;
  /** sum(t - tFirst) mod 2^32. */
  dtChecksum = 0;
  private prevT = -Infinity;

  add(b: EventBatch): void {
    if (b.length === 0) return;
    if (Number.isNaN(this.tFirstUs)) this.tFirstUs = b.t[0]!;
    if (!this.addFast(b)) this.addExact(b);
  }

  /**
   * The common case without a modulo per event: every t - tFirst an integer in [0, 2^32) (a stream that
   * starts at its earliest event and spans under 71 minutes). Then both checksums are plain sums, exact in
   * doubles over blocks of 2^20 events and reduced once per block: the same values as addExact. Returns
   * false, changing nothing, when an event breaks the condition (or times are not integers).
   */
  private addFast(b: EventBatch): boolean {
    const n = b.length;
    const { t, x, y, p } = b;
    let xyp = this.xypChecksum;
    let dt = this.dtChecksum;
    let nonMono = 0;
    let on = 0;
    let prev = this.prevT;
    for (let from = 0; from < n; from += FAST_BLOCK) {
      const to = Math.min(n, from + FAST_BLOCK);
      const dtSum = timeSums(t, from, to, this.tFirstUs, prev);
      if (dtSum < 0) return false;
      nonMono += scratch[0]!;
      prev = t[to - 1]!;
      dt = (dt + dtSum) % 4294967296;
      xyp = (xyp + coordSums(x, y, p, from, to)) % 4294967296;
      on += scratch[0]!;
    }
    let tMin = this.tMinUs;
    let tMax = this.tMaxUs;
    if (nonMono === 0) {
      // In order (also after the previous batch): the ends are the extremes.
      tMin = Math.min(tMin, t[0]!);
      tMax = Math.max(tMax, t[n - 1]!);
    } else {
      for (let i = 0; i < n; i++) {
        const ti = t[i]!;
        if (ti < tMin) tMin = ti;
        if (ti > tMax) tMax = ti;
      }
    }
    const r = scratch; // coordSums' ranges (over all blocks: n <= FAST_BLOCK is the common case)
    const xMin = n <= FAST_BLOCK ? r[1]! : minOf(x, n);
    const xMax = n <= FAST_BLOCK ? r[2]! : maxOf(x, n);
    const yMin = n <= FAST_BLOCK ? r[3]! : minOf(y, n);
    const yMax = n <= FAST_BLOCK ? r[4]! : maxOf(y, n);
    this.commit(
      n,
      on,
      xyp,
      dt,
      prev,
      Math.min(this.xMin, xMin),
      Math.max(this.xMax, xMax),
      Math.min(this.yMin, yMin),
      Math.max(this.yMax, yMax),
      nonMono,
      tMin,
      tMax,
    );
    return true;
  }

  /** Any stream: per-event reduction (negative or huge offsets, non-integer times). */
  private addExact(b: EventBatch): void {
    const t0 = this.tFirstUs;
    let on = 0;
    let xyp = this.xypChecksum;
    let dt = this.dtChecksum;
    let prev = this.prevT;
    let xMin = this.xMin;
    let xMax = this.xMax;
    let yMin = this.yMin;
    let yMax = this.yMax;
    let nonMono = 0;
    let tMin = this.tMinUs;
    let tMax = this.tMaxUs;
    for (let i = 0; i < b.length; i++) {
      const t = b.t[i]!;
      const x = b.x[i]!;
      const y = b.y[i]!;
      const p = b.p[i]!;
      on += p;
      if (t < prev) nonMono++;
      if (t < tMin) tMin = t;
      if (t > tMax) tMax = t;
      prev = t;
      if (x > xMax) xMax = x;
      if (x < xMin) xMin = x;
      if (y > yMax) yMax = y;
      if (y < yMin) yMin = y;
      // Both sums stay exact in doubles: each term < 2^53 and we reduce every step.
      xyp = (xyp + x + 1000 * y + 1_000_000 * p) % 4294967296;
      dt = (dt + ((t - t0) % 4294967296)) % 4294967296;
    }
    this.commit(b.length, on, xyp, dt, prev, xMin, xMax, yMin, yMax, nonMono, tMin, tMax);
  }

  private commit(
    n: number,
    on: number,
    xyp: number,
    dt: number,
    prev: number,
    xMin: number,
    xMax: number,
    yMin: number,
    yMax: number,
    nonMono: number,
    tMin: number,
    tMax: number,
  ): void {
    this.events += n;
    this.on += on;
    this.off += n - on;
    this.xypChecksum = xyp;
    this.dtChecksum = dt;
    this.prevT = prev;
    this.tLastUs = prev;
    this.xMin = xMin;
    this.xMax = xMax;
    this.yMin = yMin;
    this.yMax = yMax;
    this.nonMonotonic += nonMono;
    this.tMinUs = tMin;
    this.tMaxUs = tMax;
  }
}

// The fast path's two loops, each in its own small function: V8 compiles them tighter than one method
// doing it all (measured 2x).

/** Second results of the loops below (a typed array: no allocation per call). */
const scratch = new Float64Array(5);

/**
 * Sum of t[i] - t0 over [from, to), or -1 when one of them is not an integer in [0, 2^32) (NaN included);
 * scratch[0] = events smaller than their predecessor (`prev` precedes the first).
 */
function timeSums(t: Float64Array, from: number, to: number, t0: number, prev: number): number {
  let s = 0;
  let back = 0;
  for (let i = from; i < to; i++) {
    const ti = t[i]!;
    const d = ti - t0;
    if (d >>> 0 !== d) return -1;
    s += d;
    back += ti < prev ? 1 : 0;
    prev = ti;
  }
  scratch[0] = back;
  return s;
}

/**
 * Sum of x + 1000 y + 1000000 p over [from, to) (exact: terms < 2^29, at most FAST_BLOCK of them);
 * scratch = [sum of p, xMin, xMax, yMin, yMax] (int32 locals keep the min / max branch-free).
 */
function coordSums(x: Uint16Array, y: Uint16Array, p: Uint8Array, from: number, to: number): number {
  let s = 0;
  let on = 0;
  let xMin = 0xffff;
  let xMax = 0;
  let yMin = 0xffff;
  let yMax = 0;
  for (let i = from; i < to; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    const pi = p[i]!;
    s += xi + 1000 * yi + 1_000_000 * pi;
    on += pi;
    xMin = Math.min(xMin, xi);
    xMax = Math.max(xMax, xi);
    yMin = Math.min(yMin, yi);
    yMax = Math.max(yMax, yi);
  }
  scratch[0] = on;
  scratch[1] = xMin;
  scratch[2] = xMax;
  scratch[3] = yMin;
  scratch[4] = yMax;
  return s;
}

function minOf(a: Uint16Array, n: number): number {
  let m = 0xffff;
  for (let i = 0; i < n; i++) m = Math.min(m, a[i]!);
  return m;
}

function maxOf(a: Uint16Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, a[i]!);
  return m;
}
