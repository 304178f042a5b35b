/**
 * The binner's per-event kernels: one tight loop over a run of events known to fall in one window, adding
 * one count per event to a two-plane float32 grid (ON plane first, OFF second) at crop resolution. No time
 * compares (the caller found the run's bounds), no branch on polarity (a 256-entry plane-offset table:
 * polarity is random from event to event and a branch on it mispredicts half the time).
 */
import type { EventBatch } from '../events/types.js';

/** Where the crop lies, and the plane offset per polarity byte (0 for ON, the plane size for OFF). */
export interface CountGeometry {
  cx: number;
  cy: number;
  cw: number;
  ch: number;
  /** planeOf[p]: offset of polarity byte p's plane (p != 0: ON, plane 0; p == 0: OFF, plane 1). */
  planeOf: Int32Array;
}

/** What one kernel call counted: events inside the crop, events outside the batch's sensor, touched cells. */
export interface CountResult {
  counted: number;
  outOfBounds: number;
  nTouched: number;
}

export function planeOffsets(plane: number): Int32Array {
  const off = new Int32Array(256);
  off[0] = plane;
  return off;
}

/**
 * Count events [from, to) into `grid`. With `touched`, each cell's first count (in this grid since it was
 * cleared) appends the cell to `touched` at `res.nTouched` (which it advances): the list must have one
 * spare slot past the grid size, as the append is branch-free (it always writes, and advances only for a
 * new cell). Events outside the crop are skipped; those also outside the batch's sensor are counted in
 * `res.outOfBounds`.
 */
export function countRun(batch: EventBatch, from: number, to: number, g: CountGeometry, grid: Float32Array, touched: Int32Array | undefined, res: CountResult): void {
  const { x, y, p } = batch;
  const bw = batch.width;
  const bh = batch.height;
  const { cx, cy, cw, ch, planeOf } = g;
  // events outside the crop are the rare branch: count those, not the counted ones
  let skipped = 0;
  let oob = 0;
  if (touched) {
    let nt = res.nTouched;
    for (let j = from; j < to; j++) {
      const xj = x[j]!;
      const yj = y[j]!;
      const xi = xj - cx;
      const yi = yj - cy;
      // One unsigned compare per axis also rejects negatives (outside the crop on the low side).
      if (xi >>> 0 < cw && yi >>> 0 < ch) {
        const idx = planeOf[p[j]!]! + yi * cw + xi;
        const old = grid[idx]!;
        grid[idx] = old + 1;
        touched[nt] = idx;
        nt += +(old === 0);
      } else {
        skipped++;
        if (xj >= bw || yj >= bh) oob++;
      }
    }
    res.nTouched = nt;
  } else {
    for (let j = from; j < to; j++) {
      const xj = x[j]!;
      const yj = y[j]!;
      const xi = xj - cx;
      const yi = yj - cy;
      if (xi >>> 0 < cw && yi >>> 0 < ch) {
        grid[planeOf[p[j]!]! + yi * cw + xi]!++;
      } else {
        skipped++;
        if (xj >= bw || yj >= bh) oob++;
      }
    }
  }
  res.counted = to - from - skipped;
  res.outOfBounds = oob;
}

/** True when t[0..n) never decreases (NaN anywhere: false). */
export function isSorted(t: Float64Array, n: number): boolean {
  if (n === 0) return true;
  let prev = t[0]!;
  for (let i = 1; i < n; i++) {
    const c = t[i]!;
    if (!(prev <= c)) return false;
    prev = c;
  }
  // a lone NaN at [0] of a one-event batch passes: it fails the caller's window test anyway
  return true;
}

/** First index in [from, to) with t >= bound (to when none); t[from..to) sorted. */
export function lowerBound(t: Float64Array, from: number, to: number, bound: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
