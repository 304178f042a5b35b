import type { EventBatch } from './types.js';

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
    this.events += b.length;
    this.on += on;
    this.off += b.length - on;
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
